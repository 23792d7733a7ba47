#!/usr/bin/env bash
# Manage the API keys other than the master key, in the keys file (KEYS_FILE, default src/keys.yaml):
#
#   ./scripts/keys.sh add --alias team-a --models my-custom-model --rpm 60   prints the new key once
#   ./scripts/keys.sh add --alias hackathon --max-budget 5 --budget-duration 1d   $5 a day (UTC days)
#   ./scripts/keys.sh budget team-a --max-budget 200 --budget-duration 30d   set or change a budget (--remove)
#   ./scripts/keys.sh list                                   aliases, models, limits, budget, spend, reset, state
#   ./scripts/keys.sh disable|enable|remove team-a
#
# A thin wrapper over `python -m adapter.keys` (--help for every option); the running proxy picks up changes
# within seconds, without a restart.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

main() {
  [[ -x $PY ]] || die "no virtualenv at $VENV: run ./start_services.sh first"
  _src_python -m adapter.keys "$@"
}

main "$@"
