#!/usr/bin/env bash
# Stop the LiteLLM proxy, then the business API. Exits 0 when nothing was running.
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"

usage() {
  cat <<USAGE
Usage: ./stop_services.sh [--help]

Stops the services started by ./start_services.sh (the proxy first, then the business API):
SIGTERM, up to 10 s to finish, then SIGKILL. Only processes whose pid file in LOG_DIR points at
the right program are signalled; a stale pid file is just removed.
USAGE
}

main() {
  local arg name port host busy=0
  for arg in "$@"; do
    case $arg in
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $arg" ;;
    esac
  done

  load_settings
  ensure_log_dir
  exec 9>>"$LOG_DIR/.services.lock"
  if command -v flock >/dev/null 2>&1; then
    flock -w 300 9 || die "another start_services.sh/stop_services.sh is still running (lock $LOG_DIR/.services.lock)"
  fi

  for name in litellm_proxy business_api; do
    stop_service "$name" "$(service_marker "$name")"
  done

  for name in litellm_proxy business_api; do
    if [[ $name == litellm_proxy ]]; then
      port=$LITELLM_PROXY_PORT host=$LITELLM_PROXY_HOST
    else
      port=$BUSINESS_API_PORT host=$BUSINESS_API_HOST
    fi
    if port_busy "$port" "$host"; then
      warn "port $port ($name) is still in use by another process"
      busy=1
    fi
  done
  if ((busy == 0)); then
    ok "ports $LITELLM_PROXY_PORT and $BUSINESS_API_PORT are free"
  fi
  return 0
}

main "$@"
