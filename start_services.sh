#!/usr/bin/env bash
# Start the business API (gunicorn) and the LiteLLM proxy (uvicorn) in the background.
# Run ./start_services.sh --help for the options.
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"

usage() {
  cat <<EOF
Usage: ./start_services.sh [--foreground] [--help]
       ./start_services.sh reload

Starts the business API and the LiteLLM proxy in the background and waits until both are healthy.
On first use it creates the virtualenv (\$VENV, default .venv), installs requirements.txt and
creates the env file (\$ENV_FILE, default src/.env) with fresh secrets. A service that is already
running is left alone, so running this again is harmless; a service that died is started again.

reload        apply changes to src/config.yaml, src/backends/, the keys file and src/.env to the running
              services without dropping anything: the files are checked first (a broken one is refused
              and nothing changes); then the proxy starts a new set of workers and, once all are ready,
              the old ones stop taking requests and finish what they have in flight (streams included);
              the business API (gunicorn) does the same. Ports, hosts, worker counts and paths (LOG_DIR,
              ENV_FILE, ...) need a restart. Signals do the same: SIGHUP to each pid file's process.

Options:
  --foreground  after starting, stay in the foreground (for containers): show both logs, stop both
                services cleanly on SIGTERM/SIGINT, and exit non-zero when either service dies.
  --help        show this help.

Settings come from the env file, overridden by environment variables (VENV, ENV_FILE, LOG_DIR,
BUSINESS_API_PORT, LITELLM_PROXY_PORT, ...). Stop with ./stop_services.sh, check with
./verify_system.sh. Logs and pid files are in LOG_DIR (default src/logs).
EOF
}

business_name=business_api
proxy_name=litellm_proxy

# Idle keep-alive connections are kept longer than clients keep theirs (httpx: 5 s), so a client never
# reuses a connection the server is just closing.
keep_alive_seconds=75

uvicorn_log_level() {  # stack_settings normalises LOG_LEVEL to DEBUG/INFO/WARNING/ERROR/CRITICAL
  printf '%s\n' "${LOG_LEVEL,,}"
}

launch() {
  # launch NAME LOG DIR CMD...: start CMD in DIR, detached (own session), output appended to LOG;
  # writes the pid file. With job control off, `exec setsid` keeps the pid: $! is the service.
  local name=$1 log=$2 dir=$3 pid
  shift 3
  if command -v setsid >/dev/null 2>&1; then set -- setsid "$@"; fi
  (cd "$dir" && exec nohup "$@") >>"$log" 2>&1 </dev/null 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$(pid_file "$name")"
  launched_pid=$pid
}

show_log_since() {  # show_log_since LOG BYTE_OFFSET: the last 30 lines written after BYTE_OFFSET
  local log=$1 from=$2
  printf -- '---- last lines of %s ----\n' "$(display_path "$log")" >&2
  tail -c "+$((from + 1))" "$log" 2>/dev/null | tail -n 30 >&2 || true
  printf -- '----\n' >&2
}

settle_running() {
  # settle_running NAME PID HEALTH_URL TIMEOUT PORT LOG: 0 once the running service answers, 1 once it has exited
  # (start it again). A service on its way out (SIGTERM: its master has closed its listener and finishes the
  # requests in flight, for up to graceful_timeout) is waited for, as one still starting is; after TIMEOUT
  # seconds the script gives up, saying which of the two it was.
  local name=$1 pid=$2 health=$3 deadline=$((SECONDS + $4)) port=$5 log=$6 leaving=0
  while ((SECONDS < deadline)); do
    pid_alive "$pid" || return 1
    if ! holds_listener "$pid" "$port"; then
      # Its health may still answer for a moment (a worker's copy of the listener): it is leaving all the same.
      ((leaving)) || info "$name (pid $pid) no longer listens on port $port: it is stopping; waiting for it to exit"
      leaving=1
    elif http_ok "$health"; then
      return 0
    fi
    sleep 0.5
  done
  pid_alive "$pid" || return 1
  if ((leaving)); then
    die "$name (pid $pid) is still finishing requests in flight after $4 s; start again later, or end them now with ./stop_services.sh && ./start_services.sh"
  fi
  die "$name is running (pid $pid) but does not answer at $health; see $(display_path "$log") or restart with ./stop_services.sh && ./start_services.sh"
}

start_one() {
  # start_one NAME HEALTH_URL TIMEOUT BIND_HOST PORT DIR CMD...
  local name=$1 health=$2 timeout=$3 host=$4 port=$5 dir=$6
  shift 6
  local marker pidf log pid old size status=0 stale=0 i
  marker="$(service_marker "$name")"
  pidf="$(pid_file "$name")"
  log="$(log_file "$name")"

  if is_running "$name" "$marker"; then
    pid="$(running_pid "$name")"
    if settle_running "$name" "$pid" "$health" "$timeout" "$port" "$log"; then
      ok "$name already running, pid $pid"
      return 0
    fi
  fi

  if [[ -e $pidf ]]; then
    old="$(read_pid "$pidf")"
    if [[ -n $old ]] && pid_alive "$old"; then
      warn "$name: pid file pointed at pid $old, which is another program; ignoring it"
    elif [[ -n $old ]]; then
      info "$name is not running (pid $old is gone); starting it again"
      reap_orphans "$name" "$marker" "$old"
    fi
    rm -f "$pidf"
    stale=1
  fi

  if port_busy "$port" "$host"; then
    # Right after a crash the old process's port may take a moment to be released.
    for ((i = 0; stale && i < 10; i++)); do
      sleep 0.5
      port_busy "$port" "$host" || break
    done
    port_busy "$port" "$host" && die "port $port is in use by another process; cannot start $name (set a different port in $(display_path "$ENV_FILE") or stop that process)"
  fi

  if is_wildcard "$host"; then
    warn "$name listens on $host:$port: it is reachable from the network, not only from this machine"
  fi

  info "starting $name on $host:$port (log: $(display_path "$log"))"
  size="$(stat -c %s "$log" 2>/dev/null || echo 0)"
  launch "$name" "$log" "$dir" "$@"
  pid=$launched_pid
  wait_for_http "$health" "$timeout" "$pid" || status=$?
  if ((status == 0)); then
    ok "$name is up, pid $pid"
    return 0
  fi
  if ((status == 2)); then
    warn "$name exited during startup"
  else
    warn "$name did not answer at $health within ${timeout} s"
  fi
  show_log_since "$log" "$size"
  stop_service "$name" "$marker" >/dev/null 2>&1 || true
  rm -f "$pidf"
  die "could not start $name (full log: $(display_path "$log"))"
}

start_business_api() {
  start_one "$business_name" "$business_url/health" 30 "$BUSINESS_API_HOST" "$BUSINESS_API_PORT" "$root_dir/src" \
    "$VENV/bin/gunicorn" -c business_api/gunicorn_conf.py
}

check_config_files() {
  # The proxy refuses a bad backend or keys file at start-up, but with several workers uvicorn would start them
  # again and again; checking first gives one clear message (file and key) and starts nothing.
  local output
  if ! output="$("$VENV/bin/python" -m adapter.mapping check 2>&1)"; then
    printf '%s\n' "$output" >&2
    die "a backend file named in the proxy's config cannot be used; fix it and start again"
  fi
  if ! output="$("$VENV/bin/python" -m adapter.keys list 2>&1 >/dev/null)"; then
    printf '%s\n' "$output" >&2
    die "the keys file ($KEYS_FILE) cannot be used; fix it (./scripts/keys.sh) and start again"
  fi
}

start_proxy() {
  local log size
  log="$(log_file "$proxy_name")"
  size="$(stat -c %s "$log" 2>/dev/null || echo 0)"
  launched_pid=""
  start_one "$proxy_name" "$proxy_url/health/liveliness" 120 "$LITELLM_PROXY_HOST" "$LITELLM_PROXY_PORT" "$root_dir" \
    "$VENV/bin/python" -m proxy_supervisor adapter.gateway:app --app-dir "$root_dir/src" \
    --host "$LITELLM_PROXY_HOST" --port "$LITELLM_PROXY_PORT" --workers "$LITELLM_PROXY_WORKERS" \
    --backlog "$LITELLM_PROXY_BACKLOG" --http httptools --loop uvloop --timeout-keep-alive "$keep_alive_seconds" --log-level "$(uvicorn_log_level)"
  [[ -n $launched_pid ]] || return 0  # it was already running
  # uvicorn says a worker has started at INFO; above it there is nothing to wait for.
  case "$(uvicorn_log_level)" in debug | info) ;; *) return 0 ;; esac
  # The health check answers as soon as one worker serves; "up" means all of them serve (a benchmark or a load test
  # started at once would otherwise meet one worker). They load LiteLLM side by side, so this is seconds at most.
  if ! wait_for_workers "$log" "$size" "$LITELLM_PROXY_WORKERS" 120; then
    warn "$proxy_name: not all of its $LITELLM_PROXY_WORKERS workers started within 120 s; it serves with those that did (see $(display_path "$log"))"
  fi
}

wait_for_workers() {  # wait_for_workers LOG SIZE COUNT SECONDS: COUNT uvicorn workers started in LOG after byte SIZE
  local started deadline=$((SECONDS + $4))
  while :; do
    started="$(tail -c +"$(($2 + 1))" "$1" 2>/dev/null | grep -c "Application startup complete" || true)"
    ((started >= $3)) && return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# ---------------------------------------------------------------- reload

log_of_process() {  # log_of_process PID: the file its stdout goes to (the log it was started with)
  readlink "/proc/$1/fd/1" 2>/dev/null || log_file "$2"
}

children_of() {  # children_of PID: its live child pids, space-separated and sorted
  _pids_where 2 "$1" | sort -n | tr '\n' ' '
}

reload_business_api() {
  # gunicorn's SIGHUP: re-read gunicorn_conf.py (and so src/.env), start new workers, then stop the old ones
  # gracefully (graceful_timeout): they finish what they serve. Done when as many new workers run as before.
  local pid before fresh i
  pid="$(running_pid "$business_name")"
  before="$(children_of "$pid")"
  kill -HUP "$pid"
  for ((i = 0; i < 120; i++)); do
    fresh="$(_new_pids "$before" "$(children_of "$pid")")"
    if (($(wc -w <<<"$fresh") >= $(wc -w <<<"$before"))); then
      wait_for_http "$business_url/health" 30 "$pid" \
        || die "$business_name does not answer after the reload; see $(display_path "$(log_of_process "$pid" "$business_name")")"
      ok "$business_name reloaded (new workers: $fresh)"
      return 0
    fi
    pid_alive "$pid" || die "$business_name stopped during the reload; see $(display_path "$(log_of_process "$pid" "$business_name")")"
    sleep 0.5
  done
  die "$business_name did not start its new workers within 60 s; see $(display_path "$(log_of_process "$pid" "$business_name")")"
}

_new_pids() {  # _new_pids "OLD PIDS" "NOW PIDS": the pids in NOW that are not in OLD
  local p fresh=()
  for p in $2; do [[ " $1 " == *" $p "* ]] || fresh+=("$p"); done
  printf '%s\n' "${fresh[*]}"
}

reload_proxy() {
  # proxy_supervisor's SIGHUP: a whole new set of workers; the old ones stop only once all new ones are ready.
  # It logs "Reload complete" or "Reload refused"; wait for one of them.
  local pid log size i
  pid="$(running_pid "$proxy_name")"
  log="$(log_of_process "$pid" "$proxy_name")"
  size="$(stat -c %s "$log" 2>/dev/null || echo 0)"
  kill -HUP "$pid"
  for ((i = 0; i < 300; i++)); do
    if tail -c "+$((size + 1))" "$log" 2>/dev/null | grep -q 'Reload complete'; then
      ok "$proxy_name reloaded: new workers serve, the old ones finish their requests in flight"
      return 0
    fi
    if tail -c "+$((size + 1))" "$log" 2>/dev/null | grep -q 'Reload refused'; then
      show_log_since "$log" "$size"
      die "$proxy_name refused the new configuration; it keeps running the old one (fix it and reload again)"
    fi
    pid_alive "$pid" || die "$proxy_name stopped during the reload; see $(display_path "$log")"
    sleep 0.5
  done
  show_log_since "$log" "$size"
  die "$proxy_name did not finish reloading within 150 s; it keeps running the old workers"
}

reload_services() {
  local name
  for name in "$business_name" "$proxy_name"; do
    is_running "$name" "$(service_marker "$name")" || die "$name is not running; start the services with ./start_services.sh"
  done
  reload_business_api
  reload_proxy
}

print_summary() {
  local env_file key_hint
  env_file="$(display_path "$ENV_FILE")"
  if [[ -n ${master_key_from_env:-} ]]; then
    key_hint="# LITELLM_MASTER_KEY comes from your environment"
  else
    key_hint="export \"\$(grep '^LITELLM_MASTER_KEY=' '$env_file')\"   # loads the key into your shell"
  fi
  cat <<EOF

Business API:   $business_url   (health: $business_url/health)
LiteLLM proxy:  $proxy_url   (OpenAI API: $proxy_url/v1)
Logs:           $(display_path "$(log_file "$business_name")")
                $(display_path "$(log_file "$proxy_name")")
Config:         $env_file

Try it:
  $key_hint
  curl -sS $proxy_url/v1/chat/completions \\
    -H "Authorization: Bearer \$LITELLM_MASTER_KEY" -H 'Content-Type: application/json' \\
    -d '{"model": "my-custom-model", "messages": [{"role": "user", "content": "Hello"}]}'

Check everything with ./verify_system.sh; stop with ./stop_services.sh.
EOF
}

# ---------------------------------------------------------------- --foreground

tail_pid=''
sleep_pid=''

stop_all() {
  stop_service "$proxy_name" "$(service_marker "$proxy_name")" || true
  stop_service "$business_name" "$(service_marker "$business_name")" || true
  if [[ -n $tail_pid ]]; then kill "$tail_pid" 2>/dev/null || true; fi
  if [[ -n $sleep_pid ]]; then kill "$sleep_pid" 2>/dev/null || true; fi
}

on_signal() {
  trap '' TERM INT
  info "received SIG$1; stopping the services"
  stop_all
  exit 0
}

on_start_failed() {
  local status=$?
  if ((status != 0)); then stop_all; fi
}

follow_logs() {  # copy both logs to stdout (a container's log) from now on
  tail -n 0 -F "$(log_file "$business_name")" "$(log_file "$proxy_name")" 2>/dev/null 9>&- &
  tail_pid=$!
}

supervise() {  # return when either service is no longer running
  local name
  while true; do
    for name in "$business_name" "$proxy_name"; do
      if ! is_running "$name" "$(service_marker "$name")"; then
        warn "$name is no longer running"
        return 0
      fi
    done
    sleep 2 &
    sleep_pid=$!
    wait "$sleep_pid" || true
  done
}

# ---------------------------------------------------------------- main

main() {
  local foreground=0 reload=0 arg
  for arg in "$@"; do
    case $arg in
      reload) reload=1 ;;
      --foreground) foreground=1 ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $arg" ;;
    esac
  done
  ((reload && foreground)) && die "reload and --foreground do not go together"
  set +m  # no job control: background services keep the pid that `$!` reports

  ensure_venv
  ensure_env_file
  load_settings
  export PYTHONPATH="$root_dir/src${PYTHONPATH:+:$PYTHONPATH}"
  check_config_files
  ensure_log_dir

  if ((foreground)); then
    trap 'on_signal TERM' TERM
    trap 'on_signal INT' INT
    follow_logs
  fi

  # One start/stop at a time per LOG_DIR (the services do not inherit the lock: see launch).
  exec 9>>"$LOG_DIR/.services.lock"
  if command -v flock >/dev/null 2>&1; then
    flock -w 300 9 || die "another start_services.sh/stop_services.sh is still running (lock $LOG_DIR/.services.lock)"
  fi
  if ((reload)); then
    reload_services
    return 0
  fi

  # In the foreground a failed start leaves nothing behind (a container restarts from scratch).
  if ((foreground)); then trap 'on_start_failed' EXIT; fi
  start_business_api
  start_proxy
  trap - EXIT
  exec 9>&-
  print_summary

  if ((foreground)); then
    info "running in the foreground; SIGTERM or Ctrl-C stops both services"
    supervise
    stop_all
    exit 1
  fi
}

main "$@"
