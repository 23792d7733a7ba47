#!/usr/bin/env bash
# Smoke check of the running services: health, the model list, every configured model by its mode, and auth.
# Exit 0 only if every check passed. The checks are in scripts/verify_system.py; this script reads the settings
# (scripts/common.sh) and runs them with the venv's Python.
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"

usage() {
  cat <<USAGE
Usage: ./verify_system.sh [--help]

Checks the services started by ./start_services.sh, using the same settings (env file and
environment): business API health, proxy liveliness, that the model list has every model of the
proxy's config (CONFIG_FILE_PATH, default src/config.yaml), then each of those models by its
model_info.mode: chat (the default) must answer, with the mock's answer when its backend is the
local mock; embedding must return a vector; image_generation a PNG. Last, that a wrong key is
refused with 401; /metrics answers the master key (when config.yaml has the prometheus callback);
with REDIS_URL set, that Redis answers. A request may take up to VERIFY_TIMEOUT
seconds (default 60).
USAGE
}

main() {
  local arg
  for arg in "$@"; do
    case $arg in
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $arg" ;;
    esac
  done
  load_settings
  [[ -x $PY ]] || die "no virtualenv at $VENV yet (./start_services.sh creates it)"
  # The checks, in Python: they read the settings as load_settings did (it exported the paths, made absolute).
  _src_python "$root_dir/scripts/verify_system.py" --business-url "$business_url" --proxy-url "$proxy_url"
}

main "$@"
