# shellcheck shell=bash
# Shared helpers for start_services.sh, stop_services.sh, verify_system.sh and scripts/test.sh. Source it; it does
# nothing on its own except define root_dir, VENV and PY. Linux only (reads /proc).
#
#   root_dir  the repository root            VENV  ${VENV:-$root_dir/.venv}        PY  $VENV/bin/python
#
# Service names and the marker a live process's command line must contain (see service_marker):
#   business_api   business_api/gunicorn_conf.py
#   litellm_proxy  adapter.gateway:app

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VENV="${VENV:-$root_dir/.venv}"
PY="$VENV/bin/python"

# ---------------------------------------------------------------- messages

_say() {  # _say FD COLOUR LABEL TEXT...: LABEL in COLOUR when FD is a terminal (and NO_COLOR unset)
  local fd=$1 code=$2 label=$3
  shift 3
  if [[ -t $fd && -z ${NO_COLOR:-} ]]; then label=$'\033['"${code}m${label}"$'\033[0m'; fi
  printf '%s %s\n' "$label" "$*" >&"$fd"
}

info() { _say 1 '1;34' '==>' "$@"; }
ok()   { _say 1 '1;32' ' ok' "$@"; }
warn() { _say 2 '1;33' 'warning:' "$@"; }
die()  { _say 2 '1;31' 'error:' "$@"; exit 1; }

# ---------------------------------------------------------------- python and settings

any_python() {  # the venv's python if it exists, else python3 from PATH
  if [[ -x $PY ]]; then
    printf '%s\n' "$PY"
  elif command -v python3 >/dev/null 2>&1; then
    command -v python3
  else
    die "python3 is required"
  fi
}

_src_python() {  # run the venv's python with src/ importable: _src_python ARGS...
  PYTHONPATH="$root_dir/src${PYTHONPATH:+:$PYTHONPATH}" "$PY" "$@"
}

ensure_venv() {
  # Create $VENV if needed and install requirements.txt when the venv is new or the file changed
  # since the last successful install (its sha256 is kept in $VENV/.requirements.sha256).
  local req="$root_dir/requirements.txt" stamp="$VENV/.requirements.sha256" want have created=0
  [[ -f $req ]] || die "missing $req"
  if [[ ! -x $PY ]]; then
    command -v python3 >/dev/null 2>&1 || die "python3 is required to create $VENV"
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
      || die "python3 >= 3.11 is required (found $(python3 --version 2>&1))"
    info "creating virtualenv $VENV"
    python3 -m venv "$VENV" \
      || die "could not create $VENV (on Debian/Ubuntu: apt-get install python3-venv)"
    created=1
  fi
  "$PY" -c 'import sys' 2>/dev/null \
    || die "$VENV is broken (python moved or upgraded?); remove it and run again: rm -rf '$VENV'"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  have="$(cat "$stamp" 2>/dev/null || true)"
  if (( created )) || [[ $want != "$have" ]]; then
    if (( created )); then
      info "upgrading pip"
      "$PY" -m pip install --disable-pip-version-check --upgrade pip || die "pip upgrade failed"
    fi
    info "installing $req into $VENV (this takes a few minutes the first time)"
    "$PY" -m pip install --disable-pip-version-check -r "$req" \
      || die "installing requirements failed; fix the problem above and run again"
    printf '%s\n' "$want" >"$stamp"
    ok "requirements installed"
  fi
  ensure_project
}

ensure_project() {
  # Install this project into $VENV in editable mode (pyproject.toml), so that scripts and tests import its
  # modules from src/ without sys.path edits; again only when pyproject.toml or the checkout's place changed
  # (stamp $VENV/.project.sha256). Skipped while pyproject.toml is not there yet (the Dockerfile's first layer).
  local project="$root_dir/pyproject.toml" stamp="$VENV/.project.sha256" want
  [[ -f $project && -d $root_dir/src/adapter ]] || return 0
  want="$( (cat "$project"; printf '%s\n' "$root_dir") | sha256sum | cut -d' ' -f1)"
  [[ $want == "$(cat "$stamp" 2>/dev/null || true)" ]] && return 0
  info "installing the project itself into $VENV (editable)"
  local output
  # Its output only on failure: setuptools warns about editable installs on every success.
  if ! output="$("$PY" -m pip install --disable-pip-version-check -q --no-deps -e "$root_dir" 2>&1)"; then
    printf '%s\n' "$output" >&2
    die "installing the project (pip install -e .) failed; fix the problem above and run again"
  fi
  printf '%s\n' "$want" >"$stamp"
  ok "project installed (editable)"
}

ensure_client_requirements() {
  # Install the test-only client pins (tests/clients/requirements.txt: LangChain, LlamaIndex) into $VENV
  # when they, or requirements.txt, changed since the last successful install. Both files go to one pip
  # run, so its resolver checks them together: a client pin that would move a runtime pin fails here.
  local req="$root_dir/requirements.txt" clients="$root_dir/tests/clients/requirements.txt"
  local stamp="$VENV/.client-requirements.sha256" want have
  [[ -f $clients ]] || die "missing $clients"
  want="$(cat "$req" "$clients" | sha256sum | cut -d' ' -f1)"
  have="$(cat "$stamp" 2>/dev/null || true)"
  [[ $want == "$have" ]] && return 0
  info "installing the client-test pins $(display_path "$clients") into $VENV"
  "$PY" -m pip install --disable-pip-version-check -r "$req" -r "$clients" \
    || die "installing the client-test pins failed; fix the problem above and run again"
  printf '%s\n' "$want" >"$stamp"
  ok "client-test pins installed"
}

ensure_node_modules() {
  # ensure_node_modules DIR: `npm ci` in DIR (from its package-lock.json, exact versions) when
  # DIR/node_modules is missing or package.json / package-lock.json changed since the last successful
  # install (sha256 kept in DIR/node_modules/.lock.sha256). Node.js and npm are required: the
  # node tests (the Vercel AI SDK, the Anthropic TypeScript SDK, the coding agents) are part of the suite,
  # and a missing node is a failure, never a skip.
  local dir=$1 stamp want have major
  stamp="$dir/node_modules/.lock.sha256"
  [[ -f $dir/package-lock.json ]] || die "missing $dir/package-lock.json"
  command -v node >/dev/null 2>&1 \
    || die "node is required for the node tests ($(display_path "$dir")): install Node.js >= 20 with npm (Debian/Ubuntu: apt-get install nodejs npm)"
  command -v npm >/dev/null 2>&1 \
    || die "npm is required to install the node tests' packages ($(display_path "$dir")): install it (Debian/Ubuntu: apt-get install npm)"
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)"
  if [[ ! $major =~ ^[0-9]+$ ]] || (( major < 20 )); then
    die "Node.js >= 20 is required for the node tests (found $(node --version 2>&1))"
  fi
  want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)"
  have="$(cat "$stamp" 2>/dev/null || true)"
  [[ -d $dir/node_modules && $want == "$have" ]] && return 0
  info "installing the node test packages: npm ci in $(display_path "$dir")"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) \
    || die "npm ci failed in $dir; fix the problem above and run again"
  printf '%s\n' "$want" >"$stamp"
  ok "node packages installed in $(display_path "$dir")"
}

ensure_env_file() {  # create the env file ($ENV_FILE, default src/.env) with fresh secrets if missing
  _src_python -m stack_settings init || die "could not create the env file"
}

connect_host() {  # connect_host BIND_HOST: clients cannot connect to a wildcard address
  case $1 in
    0.0.0.0 | :: | '') printf '127.0.0.1\n' ;;
    *) printf '%s\n' "$1" ;;
  esac
}

url_host() {  # url_host HOST: IPv6 literals need brackets in a URL
  if [[ $1 == *:* ]]; then printf '[%s]\n' "$1"; else printf '%s\n' "$1"; fi
}

is_wildcard() { [[ $1 == 0.0.0.0 || $1 == :: ]]; }

# shellcheck disable=SC2034  # the variables set here are used by the scripts that source this file
load_settings() {
  # Set every resolved setting (environment > env file > defaults) as a shell variable, plus:
  #   business_connect_host proxy_connect_host  where a client connects (never a wildcard)
  #   business_url proxy_url                    http://connect-host:port
  #   master_key_from_env                       1 when LITELLM_MASTER_KEY came from the environment
  # Only the paths are exported (made absolute: the services run with another cwd). The rest stays in this
  # shell: the services read src/.env themselves, so a reload applies a changed file (an exported value
  # would override it). Variables that came from the environment are exported already.
  local py assignments
  py="$(any_python)"
  master_key_from_env="${LITELLM_MASTER_KEY:+1}"
  if ! assignments="$(PYTHONPATH="$root_dir/src${PYTHONPATH:+:$PYTHONPATH}" "$py" -m stack_settings shell)"; then
    [[ -x $PY ]] || die "could not read the configuration with $py; no virtualenv at $VENV yet (./start_services.sh creates it)"
    die "could not read the configuration (see the message above)"
  fi
  eval "$assignments"
  [[ $ENV_FILE == /* ]] || ENV_FILE="$PWD/$ENV_FILE"
  [[ $LOG_DIR == /* ]] || LOG_DIR="$PWD/$LOG_DIR"
  [[ $KEYS_FILE == /* ]] || KEYS_FILE="$PWD/$KEYS_FILE"
  [[ $BACKENDS_DIR == /* ]] || BACKENDS_DIR="$PWD/$BACKENDS_DIR"
  [[ $CONFIG_FILE == /* ]] || CONFIG_FILE="$PWD/$CONFIG_FILE"
  CONFIG_FILE_PATH="$CONFIG_FILE"  # the name the proxy (LiteLLM) reads it under
  export ENV_FILE LOG_DIR KEYS_FILE BACKENDS_DIR CONFIG_FILE CONFIG_FILE_PATH
  business_connect_host="$(connect_host "$BUSINESS_API_HOST")"
  proxy_connect_host="$(connect_host "$LITELLM_PROXY_HOST")"
  business_url="http://$(url_host "$business_connect_host"):$BUSINESS_API_PORT"
  proxy_url="http://$(url_host "$proxy_connect_host"):$LITELLM_PROXY_PORT"
}

# ---------------------------------------------------------------- files

ensure_log_dir() {
  [[ -d $LOG_DIR ]] || mkdir -p "$LOG_DIR" || die "cannot create LOG_DIR $LOG_DIR"
}

pid_file() {  # pid_file NAME
  ensure_log_dir
  printf '%s/%s.pid\n' "$LOG_DIR" "$1"
}

log_file() {  # log_file NAME
  ensure_log_dir
  printf '%s/%s_%s.log\n' "$LOG_DIR" "$1" "$(date +%Y%m%d)"
}

display_path() {  # a path relative to the current directory when it is below it
  local path=$1
  if [[ $path == "$PWD"/* ]]; then printf '%s\n' "${path#"$PWD"/}"; else printf '%s\n' "$path"; fi
}

# ---------------------------------------------------------------- processes (Linux /proc)

service_marker() {  # service_marker NAME: what the service's command line contains
  case $1 in
    business_api) printf '%s\n' 'business_api/gunicorn_conf.py' ;;
    litellm_proxy) printf '%s\n' 'adapter.gateway:app' ;;
    *) die "unknown service $1" ;;
  esac
}

read_pid() {  # read_pid PIDFILE: the pid in it, or nothing if missing or not a number
  local pid=''
  if [[ -r $1 ]]; then read -r pid 2>/dev/null <"$1" || true; fi  # no final newline: read fails
  [[ $pid =~ ^[1-9][0-9]*$ ]] && printf '%s\n' "$pid"
  return 0
}

pid_alive() {  # pid_alive PID: exists and is not a zombie
  local stat state
  kill -0 "$1" 2>/dev/null || return 1
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  read -r state _ <<<"${stat##*) }"
  [[ $state != Z ]]
}

cmdline_has() {  # cmdline_has PID MARKER
  local cmd
  cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline")" || return 1
  [[ $cmd == *"$2"* ]]
}

is_running() {  # is_running NAME MARKER: the pid file's process is alive and is that service
  local pid
  pid="$(read_pid "$(pid_file "$1")")"
  [[ -n $pid ]] && pid_alive "$pid" && cmdline_has "$pid" "$2"
}

running_pid() {  # running_pid NAME: the pid from the pid file (call after is_running)
  read_pid "$(pid_file "$1")"
}

_pids_where() {  # _pids_where FIELD VALUE: live pids whose ppid (FIELD=2) or pgrp (FIELD=3) is VALUE
  local dir stat state ppid pgrp
  for dir in /proc/[0-9]*; do
    read -r stat 2>/dev/null <"$dir/stat" || continue
    read -r state ppid pgrp _ <<<"${stat##*) }"
    [[ $state == Z ]] && continue
    if [[ $1 == 2 && $ppid == "$2" ]] || [[ $1 == 3 && $pgrp == "$2" ]]; then
      printf '%s\n' "${dir#/proc/}"
    fi
  done
}

_leftovers() {  # _leftovers PID MARKER: live members of PID's process group and children of PID
  local pid=$1 marker=$2 p      # that still carry MARKER (gunicorn workers are forks of the master)
  { _pids_where 3 "$pid"; _pids_where 2 "$pid"; } | sort -u | while read -r p; do
    if [[ $p != "$pid" ]] && pid_alive "$p" && cmdline_has "$p" "$marker"; then printf '%s\n' "$p"; fi
  done
}

_listening_inodes() {  # _listening_inodes PORT: the inodes of the TCP sockets listening on PORT, any address
  local hex
  printf -v hex ':%04X' "$1"
  awk -v port="$hex" '$4 == "0A" && substr($2, length($2) - 4) == port { print $10 }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null || true
}

holds_listener() {
  # holds_listener PID PORT: PID itself has a socket listening on PORT open. A service's master keeps its listener
  # while it serves and closes it first thing on SIGTERM (its workers may still accept for a moment). Where PID's
  # files cannot be read, it is assumed to hold it.
  local pid=$1 inode fd
  [[ -r /proc/$pid/fd ]] || return 0
  for inode in $(_listening_inodes "$2"); do
    for fd in /proc/"$pid"/fd/*; do
      [[ $(readlink "$fd" 2>/dev/null) == "socket:[$inode]" ]] && return 0
    done
  done
  return 1
}

leads_group() {  # leads_group PID: PID is its process group's leader (services are started with setsid)
  local stat pgrp
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  read -r _ _ pgrp _ <<<"${stat##*) }"
  [[ $pgrp == "$1" ]]
}

_signal_leftovers() {  # _signal_leftovers SIGNAL PID MARKER
  local p
  for p in $(_leftovers "$2" "$3"); do kill "-$1" "$p" 2>/dev/null || true; done
}

_wait_gone() {  # _wait_gone PID MARKER TENTHS: wait until PID and its leftovers are gone
  local pid=$1 marker=$2 i
  for ((i = 0; i < $3; i++)); do
    if ! { pid_alive "$pid" && cmdline_has "$pid" "$marker"; } && [[ -z $(_leftovers "$pid" "$marker") ]]; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

reap_orphans() {
  # reap_orphans NAME MARKER PID: after PID (from a stale pid file) died, end the processes it
  # left behind in its process group (e.g. gunicorn workers after `kill -9` of the master). Only
  # processes whose command line carries MARKER are signalled.
  local name=$1 marker=$2 pid=$3 left
  left="$(_leftovers "$pid" "$marker" | tr '\n' ' ')"
  [[ -n $left ]] || return 0
  warn "$name: ending processes left behind by dead pid $pid: $left"
  _signal_leftovers TERM "$pid" "$marker"
  _wait_gone "$pid" "$marker" 50 || _signal_leftovers KILL "$pid" "$marker"
  _wait_gone "$pid" "$marker" 20 || warn "$name: could not end $(_leftovers "$pid" "$marker" | tr '\n' ' ')"
}

stop_service() {
  # stop_service NAME MARKER: TERM, wait up to 10 s, then KILL the process and what it left behind;
  # remove the pid file. A pid whose command line lacks MARKER is never signalled.
  local name=$1 marker=$2 pidf pid
  pidf="$(pid_file "$name")"
  if [[ ! -e $pidf ]]; then
    info "$name is not running (no pid file)"
    return 0
  fi
  pid="$(read_pid "$pidf")"
  if [[ -z $pid ]] || ! pid_alive "$pid"; then
    [[ -n $pid ]] && reap_orphans "$name" "$marker" "$pid"
    rm -f "$pidf"
    info "$name is not running; removed stale pid file $(display_path "$pidf")"
    return 0
  fi
  if ! cmdline_has "$pid" "$marker"; then
    rm -f "$pidf"
    warn "$name: pid $pid in $(display_path "$pidf") is another program, not $name; left it alone and removed the stale pid file"
    return 0
  fi
  info "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! _wait_gone "$pid" "$marker" 100; then
    warn "$name did not stop within 10 s; killing it"
    if pid_alive "$pid" && cmdline_has "$pid" "$marker"; then
      # The verified service leads its own process group: that takes its children too.
      if leads_group "$pid"; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
      kill -KILL "$pid" 2>/dev/null || true
    fi
    _signal_leftovers KILL "$pid" "$marker"
    _wait_gone "$pid" "$marker" 30 || warn "$name: some processes survived SIGKILL (pid $pid)"
  fi
  rm -f "$pidf"
  ok "$name stopped (was pid $pid)"
}

# ---------------------------------------------------------------- network

port_busy() {  # port_busy PORT [BIND_HOST]: true if PORT cannot be bound (someone listens on it)
  local port=$1 host=${2:-0.0.0.0} py
  py="$(any_python)"
  "$py" - "$host" "$port" <<'EOF'
import errno, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
except OSError:
    sys.exit(1)
with socket.socket(family, kind, proto) as sock:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # like the servers: TIME_WAIT is no conflict
    try:
        sock.bind(address)
    except OSError as error:
        sys.exit(0 if error.errno == errno.EADDRINUSE else 1)
sys.exit(1)
EOF
}

http_ok() {  # http_ok URL: one GET with a 5 s hard limit; true on a 2xx answer
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --connect-timeout 2 --max-time 5 "$1" 2>/dev/null
  else
    "$(any_python)" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$1" 2>/dev/null
  fi
}

wait_for_http() {
  # wait_for_http URL TIMEOUT_SECONDS [PID]: poll URL until it answers 2xx; give up after
  # TIMEOUT_SECONDS, or at once (status 2) if PID is given and that process dies.
  local url=$1 deadline=$((SECONDS + $2)) pid=${3:-}
  while ((SECONDS < deadline)); do
    http_ok "$url" && return 0
    if [[ -n $pid ]] && ! pid_alive "$pid"; then return 2; fi
    sleep 0.5
  done
  return 1
}
