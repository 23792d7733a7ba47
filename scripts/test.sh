#!/usr/bin/env bash
# The project's test command (README quickstart; CI runs exactly this): ensure the venv, run pytest.
# Extra arguments go to pytest, e.g. ./scripts/test.sh tests/unit -k laas
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

main() {
  ensure_venv
  cd "$root_dir"
  local status=0
  "$PY" -m pytest -c tests/pytest.ini "$@" || status=$?
  if (( status == 5 )); then
    die "pytest ran no test: that is a failure, not a pass"
  fi
  return "$status"
}

main "$@"
