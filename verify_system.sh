#!/usr/bin/env bash
# Smoke check of the running services: health, the model list, every configured model by its mode, and auth.
# Exit 0 only if every check passed.
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

config_file=''
models=()  # model_name of every model in the proxy's config, in its order
modes=()   # each one's model_info.mode: chat (when unset), embedding, image_generation, ...
sites=()   # where each is served: business (mapped/business or business-image/), laas, other
business_mock=no  # yes when the business API / LaaS settings point at the local mock
laas_mock=no
passed_steps=0
failed_steps=0
work_dir=''
json_py=''
http_status=''

pass() { passed_steps=$((passed_steps + 1)); _say 1 '1;32' '✓' "$@"; }
fail() { failed_steps=$((failed_steps + 1)); _say 1 '1;31' '✗' "$@"; }

request() {
  # request MAX_SECONDS CURL_ARGS...: sets http_status (000 when no answer); the body goes to $work_dir/body
  local max=$1
  shift
  http_status="$(curl -sS -o "$work_dir/body" -w '%{http_code}' --connect-timeout 5 --max-time "$max" "$@" 2>"$work_dir/err")" || true
  [[ -n $http_status ]] || http_status=000
}

why() {  # a short reason for a failed request
  if [[ $http_status == 000 ]]; then
    printf 'no answer (%s)' "$(tail -n 1 "$work_dir/err" | sed 's/^curl: ([0-9]*) //')"
  else
    printf 'HTTP %s: %s' "$http_status" "$(head -c 200 "$work_dir/body" | tr '\n' ' ')"
  fi
}

json() {  # json EXPRESSION: evaluate EXPRESSION on the parsed body (as `body`); prints the result
  "$json_py" -c '
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    body = json.load(f)
print(eval(sys.argv[2], {"body": body}))' "$work_dir/body" "$1" 2>/dev/null
}

read_config() {
  # Fill models, modes and sites from the proxy's config: the file the proxy reads (CONFIG_FILE_PATH).
  local listing name mode site
  config_file="${CONFIG_FILE:-${CONFIG_FILE_PATH:-$root_dir/src/config.yaml}}"
  [[ $config_file == /* ]] || config_file="$PWD/$config_file"
  listing="$("$json_py" - "$config_file" <<'PY'
import sys
try:
    import yaml
    with open(sys.argv[1], encoding="utf-8") as f:
        entries = yaml.safe_load(f)["model_list"]
    names = [str(entry["model_name"]) for entry in entries]
except Exception as error:  # whatever the reason, the message names it and the script stops
    sys.exit(f"cannot read its model_list: {type(error).__name__}: {error}")
seen = set()
for name, entry in zip(names, entries):
    if name in seen:  # several deployments of one model: check the model once
        continue
    seen.add(name)
    target = str((entry.get("litellm_params") or {}).get("model", ""))
    provider = target.split("/", 1)[0]
    # The business API serves mapped/business (src/backends/business.yaml) and the image handler.
    if provider == "business-image" or target.split("/")[:2] == ["mapped", "business"]:
        site = "business"
    else:
        site = "laas" if provider == "laas" else "other"
    print(f"{name}\t{(entry.get('model_info') or {}).get('mode') or 'chat'}\t{site}")
PY
)" || die "$(display_path "$config_file"): could not read the models to check (see the message above)"
  while IFS=$'\t' read -r name mode site; do
    [[ -n $name ]] || continue
    models+=("$name")
    modes+=("$mode")
    sites+=("$site")
  done <<<"$listing"
  ((${#models[@]})) || die "$(display_path "$config_file") has no models in its model_list"
}

check_health() {  # check_health LABEL URL EXPECT_STATUS_OK
  local label=$1 url=$2
  request 10 "$url"
  if [[ $http_status != 200 ]]; then
    fail "$label: $url: $(why)"
  elif [[ $3 == yes && $(json 'body.get("status")') != ok ]]; then
    fail "$label: $url answered without \"status\": \"ok\": $(head -c 200 "$work_dir/body")"
  else
    pass "$label ($url)"
  fi
}

check_models() {
  local ids missing=() model
  request 15 -H "Authorization: Bearer $LITELLM_MASTER_KEY" "$proxy_url/v1/models"
  if [[ $http_status != 200 ]]; then
    fail "model list: $(why)"
    return
  fi
  ids=" $(json '" ".join(sorted(m["id"] for m in body["data"]))') " || ids='  '
  for model in "${models[@]}"; do
    [[ $ids == *" $model "* ]] || missing+=("$model")
  done
  if ((${#missing[@]})); then
    fail "model list: missing ${missing[*]} (got:${ids% })"
  else
    pass "model list has ${models[*]}"
  fi
}

as_json() {  # as_json TEXT: TEXT as a JSON string (model names may hold any character)
  "$json_py" -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"
}

check_chat() {  # check_chat MODEL LOCAL_MOCK(yes/no)
  local model=$1 local_mock=$2 answer
  request "${VERIFY_TIMEOUT:-60}" -H "Authorization: Bearer $LITELLM_MASTER_KEY" -H 'Content-Type: application/json' \
    -d "{\"model\": $(as_json "$model"), \"messages\": [{\"role\": \"user\", \"content\": \"verify_system ping\"}]}" \
    "$proxy_url/v1/chat/completions"
  if [[ $http_status != 200 ]]; then
    fail "chat with $model: $(why)"
    return
  fi
  answer="$(json 'body["choices"][0]["message"]["content"] or ""')" || answer=''
  if [[ $local_mock == yes && $answer != *"Mock answer from"* ]]; then
    fail "chat with $model: expected a mock answer, got: $(printf '%s' "$answer" | head -c 200)"
  elif [[ -z $answer ]]; then
    fail "chat with $model: empty answer: $(head -c 200 "$work_dir/body")"
  else
    pass "chat with $model: $(printf '%s' "$answer" | head -c 80)"
  fi
}

post_ok() {  # post_ok LABEL PATH JSON: POST JSON to the proxy; false (after a failed step) unless it answers 200
  request "${VERIFY_TIMEOUT:-60}" -H "Authorization: Bearer $LITELLM_MASTER_KEY" -H 'Content-Type: application/json' \
    -d "$3" "$proxy_url$2"
  [[ $http_status == 200 ]] && return 0
  fail "$1: $(why)"
  return 1
}

check_embedding() {  # check_embedding MODEL
  local label="embedding with $1" dimensions
  post_ok "$label" /v1/embeddings \
    "{\"model\": $(as_json "$1"), \"input\": \"verify_system ping\", \"encoding_format\": \"float\"}" || return 0
  dimensions="$(json 'len(body["data"][0]["embedding"])')" || dimensions=0
  if ((dimensions > 0)); then
    pass "$label: $dimensions dimensions"
  else
    fail "$label: no vector: $(head -c 200 "$work_dir/body")"
  fi
}

check_image() {  # check_image MODEL
  local label="image with $1" png
  post_ok "$label" /v1/images/generations "{\"model\": $(as_json "$1"), \"prompt\": \"verify_system ping\", \
\"size\": \"256x256\", \"response_format\": \"b64_json\"}" || return 0
  png="$(json '__import__("base64").b64decode(body["data"][0]["b64_json"])[:8] == b"\x89PNG\r\n\x1a\n"')" || png=False
  if [[ $png == True ]]; then
    pass "$label: a PNG"
  else
    fail "$label: not a PNG: $(head -c 200 "$work_dir/body")"
  fi
}

check_model() {  # check_model INDEX: the check for the mode of models[INDEX]
  local model=${models[$1]} mode=${modes[$1]} site=${sites[$1]} mock=no
  if [[ $site == business && $business_mock == yes ]] || [[ $site == laas && $laas_mock == yes ]]; then mock=yes; fi
  case $mode in
    chat) check_chat "$model" "$mock" ;;
    embedding) check_embedding "$model" ;;
    image_generation) check_image "$model" ;;
    *) info "$model: mode $mode has no check here; not checked" ;;
  esac
}

check_wrong_key() {
  request 15 -H "Authorization: Bearer sk-verify-system-wrong-key" -H 'Content-Type: application/json' \
    -d "{\"model\": $(as_json "${models[0]}"), \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}" \
    "$proxy_url/v1/chat/completions"
  if [[ $http_status != 401 ]]; then
    fail "wrong key: expected 401, got $(why)"
  elif [[ $(json '"error" in body') != True ]]; then
    fail "wrong key: 401 without a JSON error body: $(head -c 200 "$work_dir/body")"
  else
    pass "wrong key refused with 401"
  fi
}

metrics_configured() {  # true when the proxy's config has LiteLLM's prometheus callback
  "$json_py" - "$config_file" <<'PY' 2>/dev/null
import sys, yaml
with open(sys.argv[1], encoding="utf-8") as f:
    settings = yaml.safe_load(f).get("litellm_settings") or {}
sys.exit(0 if "prometheus" in (settings.get("callbacks") or []) else 1)
PY
}

check_metrics() {  # GET /metrics with the master key: Prometheus text with LiteLLM's request counter
  metrics_configured || return 0
  request 15 -H "Authorization: Bearer $LITELLM_MASTER_KEY" "$proxy_url/metrics"
  if [[ $http_status != 200 ]]; then
    fail "metrics: $(why)"
  elif ! grep -q '^litellm_proxy_total_requests_metric_total' "$work_dir/body"; then
    fail "metrics: $proxy_url/metrics answered without litellm_proxy_total_requests_metric_total"
  else
    pass "metrics at $proxy_url/metrics (master key)"
  fi
}

check_redis() {  # with REDIS_URL set: the Redis the proxies share limits through answers
  local output
  [[ -n $REDIS_URL ]] || return 0
  if output="$(REDIS_URL="$REDIS_URL" "$json_py" -c '
import os, redis
redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5, socket_connect_timeout=5).ping()
' 2>&1)"; then
    pass "Redis (REDIS_URL) answers: limits are shared across proxies"
  else
    # The URL may hold a password: name the problem, not the URL.
    fail "Redis (REDIS_URL) does not answer: $(tail -n 1 <<<"$output" | sed 's#redis[s]*://[^ ]*@#redis://…@#g' | cut -c1-200); the proxies count limits per process until it does"
  fi
}

main() {
  local arg index
  for arg in "$@"; do
    case $arg in
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $arg" ;;
    esac
  done
  command -v curl >/dev/null 2>&1 || die "curl is required"
  load_settings
  json_py="$(any_python)"
  work_dir="$(mktemp -d)"
  trap 'rm -rf "$work_dir"' EXIT
  [[ $BUSINESS_API_BASE == "$business_url" ]] && business_mock=yes
  [[ $LAAS_API_BASE == "$business_url/api/preset/v2" ]] && laas_mock=yes
  read_config

  info "checking the business API at $business_url and the proxy at $proxy_url"
  info "the models of $(display_path "$config_file"): ${models[*]}"
  check_health "business API health" "$business_url/health" yes
  check_health "proxy liveliness" "$proxy_url/health/liveliness" no
  check_models
  for index in "${!models[@]}"; do
    check_model "$index"
  done
  check_wrong_key
  check_metrics
  check_redis

  if ((failed_steps)); then
    printf '\n%s of %s checks failed\n' "$failed_steps" "$((passed_steps + failed_steps))"
    exit 1
  fi
  printf '\nall %s checks passed\n' "$passed_steps"
}

main "$@"
