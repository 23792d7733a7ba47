"""The checks of ./verify_system.sh against the running services, one ✓ or ✗ line each; exit 1 if any failed."""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
from dataclasses import dataclass
from typing import NoReturn

import httpx
import yaml

import stack_settings

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WRONG_KEY = "sk-verify-system-wrong-key"
PING = "verify_system ping"


# ---------------------------------------------------------------- messages (as scripts/common.sh writes them)


def say(stream, colour: str, label: str, text: str) -> None:
    """LABEL in COLOUR when the stream is a terminal and NO_COLOR is unset, then the text."""
    if stream.isatty() and not os.environ.get("NO_COLOR"):
        label = f"\033[{colour}m{label}\033[0m"
    print(f"{label} {text}", file=stream, flush=True)


def info(text: str) -> None:
    say(sys.stdout, "1;34", "==>", text)


def die(text: str) -> NoReturn:
    say(sys.stderr, "1;31", "error:", text)
    sys.exit(1)


def display_path(path: str) -> str:
    """A path relative to the current directory when it is below it."""
    cwd = os.getcwd().rstrip("/") + "/"
    return path[len(cwd):] if path.startswith(cwd) else path


def clip(text: str, limit: int = 200) -> str:
    """The start of an answer, for a message."""
    return text[:limit]


# ---------------------------------------------------------------- the proxy's models


@dataclass(frozen=True)
class Model:
    name: str
    mode: str  # model_info.mode: chat (when unset), embedding, image_generation, ...
    site: str  # where it is served: business (mapped/business or business-image/), laas, other


def site_of(target: str) -> str:
    provider = target.split("/", 1)[0]
    # The business API serves mapped/business (src/backends/business.yaml) and the image handler.
    if provider == "business-image" or target.split("/")[:2] == ["mapped", "business"]:
        return "business"
    return "laas" if provider == "laas" else "other"


def read_models(config: dict) -> list[Model]:
    """Every model of the proxy's config, in its order; several deployments of one model are checked once."""
    models: dict[str, Model] = {}
    for entry in config["model_list"]:
        name = str(entry["model_name"])
        if name not in models:
            target = str((entry.get("litellm_params") or {}).get("model", ""))
            mode = (entry.get("model_info") or {}).get("mode") or "chat"
            models[name] = Model(name, mode, site_of(target))
    return list(models.values())


def read_config(path: str) -> tuple[dict, list[Model]]:
    """The proxy's config and its models; stops the script with the reason when they cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            config = yaml.safe_load(handle)
        models = read_models(config)
    except Exception as error:  # whatever the reason, the message names it and the script stops
        print(f"cannot read its model_list: {type(error).__name__}: {error}", file=sys.stderr)
        die(f"{display_path(path)}: could not read the models to check (see the message above)")
    if not models:
        die(f"{display_path(path)} has no models in its model_list")
    return config, models


METRICS_CALLBACKS = ("adapter.hooks.metrics", "prometheus")  # ours, or LiteLLM's own: the same series


def metrics_configured(config: dict) -> bool:
    """True when the proxy's config has a metrics callback (ours or LiteLLM's prometheus)."""
    settings = config.get("litellm_settings") or {}
    callbacks = (settings.get("callbacks") or []) if isinstance(settings, dict) else []
    return any(name in callbacks for name in METRICS_CALLBACKS)


# ---------------------------------------------------------------- HTTP


@dataclass
class Answer:
    status: int  # 0: no answer
    body: bytes
    problem: str = ""  # why there was no answer

    def json(self):
        """The parsed body, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def head(self) -> str:
        return clip(self.body.decode(errors="replace"))

    def why(self) -> str:
        """A short reason for a failed request."""
        if not self.status:
            return f"no answer ({self.problem})"
        return f"HTTP {self.status}: {self.head().replace(chr(10), ' ')}"


def request(method: str, url: str, seconds: float, key: str | None = None, body: dict | None = None,
            key_header: str = "Authorization") -> Answer:
    """One request: up to 5 s to connect, then up to `seconds` for the answer; never raises."""
    headers = {key_header: f"Bearer {key}" if key_header == "Authorization" else key} if key else {}
    try:
        response = httpx.request(method, url, json=body, headers=headers, timeout=httpx.Timeout(seconds, connect=5))
    except httpx.TimeoutException:
        return Answer(0, b"", f"timed out after {seconds:g} s")
    except httpx.HTTPError as error:  # e.g. "[Errno 111] Connection refused": the reason without its number
        return Answer(0, b"", re.sub(r"^\[Errno \d+\] ", "", str(error)) or type(error).__name__)
    return Answer(response.status_code, response.content)


def path_to(body, *steps):
    """body[steps[0]][steps[1]]…, or None when the answer has another shape."""
    for step in steps:
        try:
            body = body[step]
        except (KeyError, IndexError, TypeError):
            return None
    return body


# ---------------------------------------------------------------- the checks


class Checks:
    """The checks against one running pair of services, counting what passed and what failed."""

    def __init__(self, settings: stack_settings.Settings, business_url: str, proxy_url: str, timeout: float):
        self.settings, self.business_url, self.proxy_url, self.timeout = settings, business_url, proxy_url, timeout
        self.key = settings.litellm_master_key
        self.passed = self.failed = 0
        # The local mock's answers are known: a chat through it must carry one.
        self.business_mock = settings.business_api_base == business_url
        self.laas_mock = settings.laas_api_base == f"{business_url}/api/preset/v2"

    def ok(self, text: str) -> None:
        self.passed += 1
        say(sys.stdout, "1;32", "✓", text)

    def fail(self, text: str) -> None:
        self.failed += 1
        say(sys.stdout, "1;31", "✗", text)

    def post(self, path: str, body: dict, key: str | None = None, seconds: float | None = None) -> Answer:
        return request("POST", f"{self.proxy_url}{path}", seconds or self.timeout, key or self.key, body)

    def health(self, label: str, url: str, want_status_ok: bool) -> None:
        answer = request("GET", url, 10)
        if answer.status != 200:
            self.fail(f"{label}: {url}: {answer.why()}")
        elif want_status_ok and path_to(answer.json(), "status") != "ok":
            self.fail(f'{label}: {url} answered without "status": "ok": {answer.head()}')
        else:
            self.ok(f"{label} ({url})")

    def model_list(self, models: list[Model]) -> None:
        answer = request("GET", f"{self.proxy_url}/v1/models", 15, self.key)
        if answer.status != 200:
            self.fail(f"model list: {answer.why()}")
            return
        listed = sorted(str(path_to(entry, "id")) for entry in path_to(answer.json(), "data") or [])
        missing = [model.name for model in models if model.name not in listed]
        if missing:
            self.fail(f"model list: missing {' '.join(missing)} (got: {' '.join(listed)})")
        else:
            self.ok(f"model list has {' '.join(model.name for model in models)}")

    def model(self, model: Model) -> None:
        """The check for the model's mode."""
        if model.mode == "chat":
            self.chat(model.name, model.site == "business" and self.business_mock or
                      model.site == "laas" and self.laas_mock)
        elif model.mode == "embedding":
            self.embedding(model.name)
        elif model.mode == "image_generation":
            self.image(model.name)
        else:
            info(f"{model.name}: mode {model.mode} has no check here; not checked")

    def chat(self, name: str, local_mock: bool) -> None:
        answer = self.post("/v1/chat/completions", {"model": name, "messages": [{"role": "user", "content": PING}]})
        if answer.status != 200:
            self.fail(f"chat with {name}: {answer.why()}")
            return
        # Trailing newlines dropped, as the shell's $(...) dropped them: an answer of blank lines is empty.
        text = str(path_to(answer.json(), "choices", 0, "message", "content") or "").rstrip("\n")
        if local_mock and "Mock answer from" not in text:
            self.fail(f"chat with {name}: expected a mock answer, got: {clip(text)}")
        elif not text:
            self.fail(f"chat with {name}: empty answer: {answer.head()}")
        else:
            self.ok(f"chat with {name}: {clip(text, 80)}")

    def embedding(self, name: str) -> None:
        label = f"embedding with {name}"
        answer = self.post("/v1/embeddings", {"model": name, "input": PING, "encoding_format": "float"})
        if answer.status != 200:
            self.fail(f"{label}: {answer.why()}")
            return
        vector = path_to(answer.json(), "data", 0, "embedding")
        if isinstance(vector, list) and vector:
            self.ok(f"{label}: {len(vector)} dimensions")
        else:
            self.fail(f"{label}: no vector: {answer.head()}")

    def image(self, name: str) -> None:
        label = f"image with {name}"
        answer = self.post("/v1/images/generations", {"model": name, "prompt": PING, "size": "256x256",
                                                       "response_format": "b64_json"})
        if answer.status != 200:
            self.fail(f"{label}: {answer.why()}")
            return
        if is_png(path_to(answer.json(), "data", 0, "b64_json")):
            self.ok(f"{label}: a PNG")
        else:
            self.fail(f"{label}: not a PNG: {answer.head()}")

    def wrong_key(self, model: Model) -> None:
        body = {"model": model.name, "messages": [{"role": "user", "content": "hi"}]}
        answer = self.post("/v1/chat/completions", body, key=WRONG_KEY, seconds=15)
        error = answer.json()
        if answer.status != 401:
            self.fail(f"wrong key: expected 401, got {answer.why()}")
        elif not isinstance(error, dict) or "error" not in error:
            self.fail(f"wrong key: 401 without a JSON error body: {answer.head()}")
        else:
            self.ok("wrong key refused with 401")

    def messages(self, model: Model) -> None:
        """Anthropic's Messages API as its SDKs call it (x-api-key), and its 401 in Anthropic's shape."""
        body = {"model": model.name, "max_tokens": 64, "messages": [{"role": "user", "content": PING}]}
        url = f"{self.proxy_url}/v1/messages"
        answer = request("POST", url, self.timeout, self.key, body, key_header="x-api-key")
        text = str(path_to(answer.json(), "content", 0, "text") or "") if answer.status == 200 else ""
        if not text:
            self.fail(f"messages with {model.name}: {answer.why() if answer.status != 200 else answer.head()}")
        else:
            self.ok(f"messages with {model.name}: {clip(text, 80)}")
        refused = request("POST", url, 15, WRONG_KEY, body, key_header="x-api-key")
        if refused.status != 401 or path_to(refused.json(), "error", "type") != "authentication_error":
            self.fail(f"messages with a wrong key: expected an Anthropic-shaped 401, got {refused.why()}")
        else:
            self.ok("messages with a wrong key refused with 401 (authentication_error)")

    def metrics(self) -> None:
        """GET /metrics with the master key: Prometheus text with the request counter."""
        url = f"{self.proxy_url}/metrics"
        answer = request("GET", url, 15, self.key)
        if answer.status != 200:
            self.fail(f"metrics: {answer.why()}")
        elif not re.search(rb"^litellm_proxy_total_requests_metric_total", answer.body, re.MULTILINE):
            self.fail(f"metrics: {url} answered without litellm_proxy_total_requests_metric_total")
        else:
            self.ok(f"metrics at {url} (master key)")

    def redis(self) -> None:
        """With REDIS_URL set: the Redis the proxies share limits through answers."""
        try:
            import redis  # here: only a stack with REDIS_URL needs it

            redis.Redis.from_url(self.settings.redis_url, socket_timeout=5, socket_connect_timeout=5).ping()
        except Exception as error:  # any failure means the same to the operator: limits are not shared
            self.fail(f"Redis (REDIS_URL) does not answer: {clip(self.without_secrets(error))}; "
                      "the proxies count limits per process until it does")
        else:
            self.ok("Redis (REDIS_URL) answers: limits are shared across proxies")

    def without_secrets(self, error: Exception) -> str:
        """The error's last line, credentials masked: REDIS_URL may hold a password. Name the problem, not the URL."""
        text = re.sub(r"rediss?://[^ ]*@", "redis://…@", f"{error_name(error)}: {error}".splitlines()[-1])
        for secret in self.settings.secrets:  # the password itself too, wherever a message quotes it
            text = text.replace(secret, "…")
        return text

    def summary(self) -> int:
        if self.failed:
            print(f"\n{self.failed} of {self.passed + self.failed} checks failed")
            return 1
        print(f"\nall {self.passed} checks passed")
        return 0


def error_name(error: Exception) -> str:
    """The exception's name as a traceback's last line has it: redis.exceptions.ConnectionError, TimeoutError."""
    kind = type(error)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def is_png(encoded) -> bool:
    try:
        return base64.b64decode(encoded)[:8] == PNG_SIGNATURE
    except (TypeError, ValueError):
        return False


def request_timeout() -> float:
    raw = os.environ.get("VERIFY_TIMEOUT") or "60"
    try:
        return float(raw)
    except ValueError:
        die(f"VERIFY_TIMEOUT must be a number of seconds, got {raw!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--business-url", required=True, help="where a client reaches the business API")
    parser.add_argument("--proxy-url", required=True, help="where a client reaches the proxy")
    args = parser.parse_args(argv)
    settings = stack_settings.load()  # as the services read it: src/.env (ENV_FILE), then the environment
    config, models = read_config(settings.config_file)
    checks = Checks(settings, args.business_url, args.proxy_url, request_timeout())

    info(f"checking the business API at {args.business_url} and the proxy at {args.proxy_url}")
    info(f"the models of {display_path(settings.config_file)}: {' '.join(model.name for model in models)}")
    checks.health("business API health", f"{args.business_url}/health", want_status_ok=True)
    checks.health("proxy liveliness", f"{args.proxy_url}/health/liveliness", want_status_ok=False)
    checks.model_list(models)
    for model in models:
        checks.model(model)
    checks.wrong_key(models[0])
    chat_models = [model for model in models if model.mode == "chat"]
    if chat_models:
        checks.messages(chat_models[0])
    if metrics_configured(config):
        checks.metrics()
    if settings.redis_url:
        checks.redis()
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
