#!/usr/bin/env bash
# The project's test command (README quickstart; CI runs exactly this): ensure the venv, the client-test
# pins, the deployment checkers' and the benchmark's pins, the node clients' and the coding agents' node packages,
# the KServe model server's venv (.venv-kserve) and the Python agents' venvs (.venv-agents, .venv-aider), run pytest.
#
#   ./scripts/test.sh              tests/unit + tests/e2e in one pytest process and, at the same time, tests/clients
#                                  (the real OpenAI clients), tests/agents (real coding agents), tests/deploy, the
#                                  e2e suites with stacks of their own (tests/e2e/own_stack) and tests/container (the
#                                  Dockerfile built and run with buildah) in a second one, whose output is shown after the first
#                                  finishes; the exit status fails if either fails
#   ./scripts/test.sh -q -x        the same, with those options given to both processes
#   ./scripts/test.sh tests/unit -k laas
#                                  any path argument: one pytest process with exactly these arguments
#
# A pytest process that runs no test (exit 5) is a failure; with option-only arguments (e.g. -k NAME) one of
# the two may select nothing as long as the other passes.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

clients_dir=tests/clients
agents_dir=tests/agents
# The e2e suites that start their own services through the scripts or with their own settings (several proxies,
# Redis, reloads, backends of their own): mostly waiting, so they run alongside the clients, in the second process,
# and not in the main one. The folder is the list: a suite joins them by moving there, with no edit here.
own_stack_dir=tests/e2e/own_stack
main_suites=(tests/unit tests/e2e)
container_dir=tests/container
container_image=localhost/adapter-stack:test  # what tests/support/container.py builds and runs
side_suites=("$clients_dir" "$agents_dir" tests/deploy "$own_stack_dir" "$container_dir")
kserve_test=$own_stack_dir/test_mapped_kserve.py
KSERVE_VENV="${KSERVE_VENV:-$root_dir/.venv-kserve}"
AGENTS_VENV="${AGENTS_VENV:-$root_dir/.venv-agents}"
AIDER_VENV="${AIDER_VENV:-$root_dir/.venv-aider}"

test_paths() {  # print the arguments that select tests by path (tests/unit, f.py::test), one a line
  local arg skip=0
  for arg in "$@"; do
    if (( skip )); then skip=0; continue; fi
    case $arg in
      # options whose separate value is a path but selects nothing
      --ignore | --ignore-glob | --deselect | --basetemp | --junitxml | --junit-xml | --rootdir | --confcutdir \
        | --log-file | -c | -p | -k | -m) skip=1; continue ;;
      -*) continue ;;
    esac
    [[ -e ${arg%%::*} ]] && printf '%s\n' "${arg%%::*}"
  done
  return 0
}

selects_clients() {  # true if one of the paths PATH... is tests/clients, lies below it, or contains it
  local path clients
  clients="$(realpath "$clients_dir")"
  for path in "$@"; do
    path="$(realpath "$path")"
    [[ $path == "$clients" || $path == "$clients"/* || $clients == "$path"/* ]] && return 0
  done
  return 1
}

selects_path() {  # selects_path TARGET PATH...: true if a PATH is TARGET, lies below it, or contains it
  local path target
  target="$(realpath "$1")"
  shift
  for path in "$@"; do
    path="$(realpath "$path")"
    [[ $path == "$target" || $path == "$target"/* || $target == "$path"/* ]] && return 0
  done
  return 1
}

may_select() {  # may_select TARGET ARGS...: the run may select TARGET (no path given, or one that holds it)
  local target=$1 paths=()
  shift
  mapfile -t paths < <(test_paths "$@")
  (( ${#paths[@]} == 0 )) || selects_path "$target" "${paths[@]}"
}

ensure_kserve_venv() {
  # Create $KSERVE_VENV and install tests/fake_servers/requirements-kserve.txt (KServe's model server, which serves
  # the echo model of $kserve_test) when the venv is new or the file changed since the last successful install
  # (sha256 kept in $KSERVE_VENV/.requirements.sha256). A venv of its own: KServe pins its own fastapi, uvicorn,
  # pydantic and numpy, which must not move the proxy's.
  ensure_python_venv "$KSERVE_VENV" "$root_dir/tests/fake_servers/requirements-kserve.txt"
}

ensure_python_venv() {
  # ensure_python_venv VENV REQ: create VENV and install REQ when the venv is new or REQ changed since the last
  # successful install (stamp VENV/.requirements.sha256).
  local venv=$1 req=$2 stamp="$1/.requirements.sha256" want
  [[ -f $req ]] || die "missing $req"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  [[ -x $venv/bin/python && $want == "$(cat "$stamp" 2>/dev/null || true)" ]] && return 0
  info "installing $(display_path "$req") into $venv"
  if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv" || die "could not create $venv"
  fi
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" \
    || die "installing $(display_path "$req") failed; fix the problem above and run again"
  printf '%s\n' "$want" >"$stamp"
  ok "$(display_path "$req") installed"
}

ensure_agents_venv() {
  # The Python agents, each in a venv of its own: they pin their own dependencies (openai 3, pydantic …), which
  # must not move the proxy's, and aider's exact pins clash with llm's.
  ensure_python_venv "$AGENTS_VENV" "$root_dir/$agents_dir/requirements.txt"
  ensure_python_venv "$AIDER_VENV" "$root_dir/$agents_dir/requirements-aider.txt"
}

agents_venv_in_background() {  # start ensure_agents_venv alongside the other installs; sets agents_pid, agents_log
  agents_log="$(mktemp "${TMPDIR:-/tmp}/agents-venv.XXXXXX")"
  ensure_agents_venv >"$agents_log" 2>&1 &
  agents_pid=$!
}

agents_venv_ready() {  # wait for agents_venv_in_background, show its output, export the venvs for the tests
  local status=0
  wait "$agents_pid" || status=$?
  cat "$agents_log"
  rm -f "$agents_log"
  (( status == 0 )) || die "the Python agents' venvs are not ready"
  export AGENTS_VENV AIDER_VENV
}

ensure_container_tools() {
  # tests/container builds the Dockerfile with buildah (no daemon) on a base debootstrap assembles when no registry
  # answers (scripts/container.sh): both from Debian's packages, installed when missing. A missing tool fails the
  # run (the container tests would otherwise not run); it is never a skip.
  local missing=() tool
  for tool in buildah debootstrap curl; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  (( ${#missing[@]} == 0 )) && return 0
  local hint="install them (Debian/Ubuntu: apt-get install buildah debootstrap curl) and run again"
  (( EUID == 0 )) || die "the container tests need ${missing[*]}, and root to install and use them: $hint"
  command -v apt-get >/dev/null 2>&1 || die "the container tests need ${missing[*]}; no apt-get here: $hint"
  info "installing ${missing[*]} for the container tests (apt-get)"
  # The package lists first only when the install cannot find the packages (a fresh machine has none). With their
  # recommends, as verified: debootstrap's include the archive keyring it checks Debian's signatures with.
  if ! DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q buildah debootstrap curl \
    >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -q >/dev/null \
      && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q buildah debootstrap curl \
      || die "installing ${missing[*]} with apt-get failed (see above); the container tests need them: $hint"
  fi
  for tool in "${missing[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is still missing after apt-get install: $hint"
  done
  ok "${missing[*]} installed"
}

container_image_in_background() {
  # Build the image tests/container runs (its base first, assembled when no registry answers) while the other
  # installs run; the tests' own build then finds every layer made. Sets container_pid, container_log.
  container_log="$(mktemp "${TMPDIR:-/tmp}/container-build.XXXXXX")"
  IMAGE="$container_image" NO_COLOR=1 "$root_dir/scripts/container.sh" build >"$container_log" 2>&1 &
  container_pid=$!
}

container_image_ready() {  # wait for container_image_in_background; its output only when it failed
  local status=0
  wait "$container_pid" || status=$?
  if (( status != 0 )); then tail -n 60 "$container_log"; fi
  rm -f "$container_log"
  (( status == 0 )) || die "building the container tests' image ($container_image) failed"
  ok "container tests' image $container_image built"
}

ensure_deploy_requirements() {
  # Install tests/deploy/requirements.txt (the offline checkers of deploy/ and the Dockerfile) and
  # scripts/requirements-benchmark.txt (the benchmark's chart and profiler, which its smoke test runs) into $VENV when
  # they, requirements.txt or the client pins changed since the last successful install (stamp
  # $VENV/.deploy-requirements.sha256). All go to one pip run, so its resolver checks them together.
  local req="$root_dir/requirements.txt" clients="$root_dir/tests/clients/requirements.txt"
  local deploy="$root_dir/tests/deploy/requirements.txt" bench="$root_dir/scripts/requirements-benchmark.txt"
  local stamp="$VENV/.deploy-requirements.sha256" want
  [[ -f $deploy ]] || die "missing $deploy"
  want="$(cat "$req" "$clients" "$deploy" "$bench" | sha256sum | cut -d' ' -f1)"
  [[ $want == "$(cat "$stamp" 2>/dev/null || true)" ]] && return 0
  info "installing the deployment checkers' and the benchmark's pins into $VENV"
  "$PY" -m pip install --disable-pip-version-check -q -r "$req" -r "$clients" -r "$deploy" -r "$bench" \
    || die "installing the deployment checkers' and the benchmark's pins failed; fix the problem above and run again"
  printf '%s\n' "$want" >"$stamp"
  ok "deployment checkers' and the benchmark's pins installed"
}

kserve_venv_in_background() {  # start ensure_kserve_venv alongside the other installs; sets kserve_pid, kserve_log
  kserve_log="$(mktemp "${TMPDIR:-/tmp}/kserve-venv.XXXXXX")"
  ensure_kserve_venv >"$kserve_log" 2>&1 &
  kserve_pid=$!
}

kserve_venv_ready() {  # wait for kserve_venv_in_background, show its output, export KSERVE_PYTHON for the tests
  local status=0
  wait "$kserve_pid" || status=$?
  cat "$kserve_log"
  rm -f "$kserve_log"
  (( status == 0 )) || die "the KServe model server's venv is not ready"
  export KSERVE_PYTHON="$KSERVE_VENV/bin/python"
}

summary_line() {  # the last line of a pytest output file that reports counts ("3 passed, 1 failed in 2.1s")
  sed -E 's/\x1b\[[0-9;]*m//g' "$1" | grep -E '[0-9]+ (passed|failed|errors?|skipped|deselected|xfailed|xpassed|warnings?|no tests ran).* in [0-9.]+s' \
    | tail -n 1 | sed -E 's/^=+ //; s/ =+$//' || true
}

count_of() {  # count_of WORD LINE: the number before WORD in a pytest summary line, 0 if absent
  local n
  n="$(grep -oE "[0-9]+ $1" <<<"$2" | head -n 1 | cut -d' ' -f1 || true)"
  printf '%s\n' "${n:-0}"
}

pytest_in_background() {  # pytest_in_background LOG ARGS...: start pytest with output to LOG; sets bg_pid
  local log=$1
  shift
  # Its own session (setsid): a Ctrl-C on the terminal does not reach it; stop_background sends it one SIGINT,
  # so its teardown (which stops the services its fixtures started) is not interrupted by a second one.
  # bash starts background commands with SIGINT ignored, and Python keeps an ignored SIGINT ignored, so
  # pytest would never get that KeyboardInterrupt: restore the default before exec'ing pytest.
  local launcher=()
  if command -v setsid >/dev/null 2>&1; then launcher=(setsid); fi
  "${launcher[@]}" "$PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.executable, [sys.executable, "-m", "pytest", *sys.argv[1:]])' -c tests/pytest.ini "$@" >"$log" 2>&1 &
  bg_pid=$!
}

stop_background() {  # on exit or signal: interrupt the background pytest (it tears its stack down) and wait
  if [[ -n ${bg_pid:-} ]] && kill -0 "$bg_pid" 2>/dev/null; then
    kill -INT "$bg_pid" 2>/dev/null || true
    wait "$bg_pid" 2>/dev/null || true
  fi
  [[ -n ${bg_log:-} ]] && rm -f "$bg_log"
}

run_one() {  # one pytest process with exactly the given arguments
  local status=0
  "$PY" -m pytest -c tests/pytest.ini "$@" || status=$?
  if (( status == 5 )); then
    die "pytest ran no test: that is a failure, not a pass"
  fi
  return "$status"
}

run_both() {  # main_suites here, side_suites alongside; OPTIONS... go to both
  local main_status=0 clients_status=0 main_log main_line clients_line strict=1 passed failed color=()
  (( $# )) && strict=0  # a filter such as -k NAME may select nothing in one of the two
  # Both outputs go through files (to be shown in turn and summed up): keep pytest's colours on a terminal.
  if [[ -t 1 && -z ${NO_COLOR:-} ]]; then color=(--color=yes); fi
  bg_log="$(mktemp "${TMPDIR:-/tmp}/clients-pytest.XXXXXX")"
  main_log="$(mktemp "${TMPDIR:-/tmp}/main-pytest.XXXXXX")"
  trap stop_background EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  pytest_in_background "$bg_log" "${color[@]}" "$@" "${side_suites[@]}"
  info "running ${main_suites[*]} here, and ${side_suites[*]} alongside (pid $bg_pid; its output follows)"
  # tee -i: on Ctrl-C, tee outlives pytest, which still prints while it tears its stack down.
  # --ignore: $own_stack_dir lies inside tests/e2e but runs in the second process only.
  "$PY" -m pytest -c tests/pytest.ini "${color[@]}" "$@" --ignore "$own_stack_dir" "${main_suites[@]}" 2>&1 | tee -i "$main_log" || main_status=$?  # pipefail: pytest's status (tee succeeds)
  wait "$bg_pid" || clients_status=$?
  bg_pid=''
  info "output of the second process (pytest exit status $clients_status):"
  cat "$bg_log"
  main_line="$(summary_line "$main_log")"
  clients_line="$(summary_line "$bg_log")"
  rm -f "$main_log"
  info "${main_suites[*]}: ${main_line:-no summary} (exit $main_status)"
  info "${side_suites[*]}: ${clients_line:-no summary} (exit $clients_status)"
  passed=$(( $(count_of passed "$main_line") + $(count_of passed "$clients_line") ))
  failed=$(( $(count_of failed "$main_line") + $(count_of failed "$clients_line")
             + $(count_of error "$main_line") + $(count_of error "$clients_line") ))
  printf 'total: %d passed, %d failed\n' "$passed" "$failed"

  if (( main_status == 5 && clients_status == 5 )); then
    die "pytest ran no test in either process: that is a failure, not a pass"
  fi
  if (( strict )); then
    (( main_status != 5 )) || die "${main_suites[*]} ran no test: that is a failure, not a pass"
    (( clients_status != 5 )) || die "${side_suites[*]} ran no test: that is a failure, not a pass"
  else  # one side selecting nothing is fine when the other ran and passed
    if (( main_status == 5 )); then main_status=0; fi
    if (( clients_status == 5 )); then clients_status=0; fi
  fi
  (( main_status == 0 )) || return "$main_status"
  return "$clients_status"
}

main() {
  local kserve=0 agents=0 container=0
  # The container tests' tools first (seconds), then their image (minutes on a fresh machine) alongside the rest.
  if (cd "$root_dir" && may_select "$container_dir" "$@"); then
    container=1
    ensure_container_tools
    container_image_in_background
  fi
  # The KServe venv (about 30 s to install) and the agents' (about 100 s) are made while the other installs run.
  if (cd "$root_dir" && may_select "$kserve_test" "$@"); then kserve=1; kserve_venv_in_background; fi
  if (cd "$root_dir" && may_select "$agents_dir" "$@"); then agents=1; agents_venv_in_background; fi
  ensure_venv
  ensure_client_requirements
  ensure_deploy_requirements
  cd "$root_dir"
  if (( container )); then container_image_ready; fi
  if (( kserve )); then kserve_venv_ready; fi
  if (( agents )); then agents_venv_ready; fi
  local paths=()
  mapfile -t paths < <(test_paths "$@")
  if (( ${#paths[@]} )); then
    if selects_clients "${paths[@]}"; then ensure_node_modules "$root_dir/$clients_dir/node"; fi
    if selects_path "$agents_dir" "${paths[@]}"; then ensure_node_modules "$root_dir/$agents_dir/node"; fi
    run_one "$@"
  else
    ensure_node_modules "$root_dir/$clients_dir/node"
    ensure_node_modules "$root_dir/$agents_dir/node"
    run_both "$@"
  fi
}

main "$@"
