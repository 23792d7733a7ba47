"""One place that reads configuration: src/.env (python-dotenv) overridden by environment variables."""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from dotenv import dotenv_values

SRC_DIR = Path(__file__).resolve().parent
DEFAULT_ENV_FILE = SRC_DIR / ".env"
ENV_EXAMPLE_FILE = SRC_DIR / ".env.example"

# Generated into a new src/.env on first start; never shipped with a value.
GENERATED_SECRETS = {
    "LITELLM_MASTER_KEY": lambda: "sk-" + secrets.token_urlsafe(32),
    "BUSINESS_API_KEY": lambda: secrets.token_urlsafe(32),
    "LAAS_API_KEY": lambda: secrets.token_urlsafe(32),
    "LAAS_PRESET_HASH": lambda: secrets.token_hex(16),
}


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL"}
# Billing with Lago is on when all three are set, off when none is; anything in between is a configuration error.
LAGO_REQUIRED = ("LAGO_API_BASE", "LAGO_API_KEY", "LAGO_API_EVENT_CODE")
# gunicorn worker classes the mock business API may run: gevent (one greenlet per connection, the default)
# or gthread (one thread per request in flight, BUSINESS_API_THREADS of them per worker).
BUSINESS_API_WORKER_CLASSES = ("gevent", "gthread")


class SettingsError(ValueError):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    env_file: str
    business_api_host: str
    business_api_port: int
    business_api_base: str
    business_api_key: str = field(repr=False)
    business_api_key_header: str
    business_api_timeout: float
    business_api_max_connections: int
    business_api_workers: int
    business_api_worker_class: str
    business_api_worker_connections: int
    business_api_threads: int
    litellm_proxy_host: str
    litellm_proxy_port: int
    litellm_proxy_workers: int
    litellm_proxy_backlog: int  # the listening socket's accept queue (the kernel caps it at net.core.somaxconn)
    litellm_master_key: str = field(repr=False)
    stream_chunks_per_second: float  # per proxy worker, shared by its open streams; 0: no pacing (providers/pacing.py)
    laas_api_base: str
    laas_project_code: str
    laas_api_key: str = field(repr=False)
    laas_preset_hash: str = field(repr=False)
    log_level: str
    log_dir: str
    max_request_body_mb: float
    config_file: str  # the proxy's config.yaml (CONFIG_FILE_PATH)
    backends_dir: str  # where mapped/<name> finds <name>.yaml (BACKENDS_DIR)
    keys_file: str  # the API keys other than the master key, by hash (KEYS_FILE)
    lago_api_base: str  # empty: no Lago events (LAGO_API_BASE, LAGO_API_KEY, LAGO_API_EVENT_CODE go together)
    lago_api_key: str = field(repr=False)
    lago_api_event_code: str
    lago_default_customer_id: str  # the Lago subscription of requests whose key has no customer_id
    # prometheus_client's multiprocess directories, one per service, emptied when the service starts
    proxy_metrics_dir: str  # PROXY_METRICS_DIR
    business_api_metrics_dir: str  # BUSINESS_API_METRICS_DIR
    redis_url: str = field(repr=False)  # shared limits, cooldowns and usage across proxies (REDIS_URL); may hold a password

    @property
    def lago_enabled(self) -> bool:
        return bool(self.lago_api_base)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a response or a log line."""
        return tuple(
            v
            for v in (self.litellm_master_key, self.business_api_key, self.laas_api_key, self.laas_preset_hash,
                      self.lago_api_key, urlsplit(self.redis_url).password)
            if v
        )


def _merged(environ: Mapping[str, str], env_file: Path) -> dict[str, str]:
    file_values = {k: v for k, v in dotenv_values(env_file).items() if v is not None} if env_file.is_file() else {}
    return {**file_values, **environ}  # the environment wins over the file


def _int(values: Mapping[str, str], name: str, default: int) -> int:
    raw = values.get(name, "") or str(default)
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _number(values: Mapping[str, str], name: str, default: float) -> float:
    raw = values.get(name, "") or str(default)
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def _float(values: Mapping[str, str], name: str, default: float) -> float:
    number = _number(values, name, default)
    if number <= 0:
        raise SettingsError(f"{name} must be greater than 0, got {values.get(name)!r}")
    return number


def _rate(values: Mapping[str, str], name: str, default: float) -> float:
    """A number ≥ 0, where 0 turns the thing off."""
    number = _number(values, name, default)
    if number < 0:
        raise SettingsError(f"{name} must be 0 (off) or more, got {values.get(name)!r}")
    return number


def _url_host(bind_host: str) -> str:
    """The host part of a URL reaching `bind_host`: loopback for a wildcard, brackets for IPv6."""
    if bind_host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{bind_host}]" if ":" in bind_host else bind_host


def _port(values: Mapping[str, str], name: str, default: int) -> int:
    port = _int(values, name, default)
    if not 1 <= port <= 65535:
        raise SettingsError(f"{name} must be a port number 1-65535, got {port}")
    return port


def _count(values: Mapping[str, str], name: str, default: int) -> int:
    count = _int(values, name, default)
    if count < 1:
        raise SettingsError(f"{name} must be at least 1, got {count}")
    return count


def _worker_class(raw: str) -> str:
    name = raw.strip().lower()
    if name not in BUSINESS_API_WORKER_CLASSES:
        raise SettingsError(f"BUSINESS_API_WORKER_CLASS must be one of {', '.join(BUSINESS_API_WORKER_CLASSES)}, "
                            f"got {raw!r}")
    return name


REDIS_SCHEMES = ("redis", "rediss", "unix")


def _redis_url(raw: str) -> str:
    """REDIS_URL as redis-py reads it (redis://[:password@]host:port/db, rediss:// for TLS, unix://path), or ''."""
    parts = urlsplit(raw)
    if raw and (parts.scheme not in REDIS_SCHEMES or not (parts.hostname or parts.path)):
        raise SettingsError("REDIS_URL must look like redis://[:password@]host:6379/0 (or rediss://, unix://)")
    return raw


def _log_level(raw: str) -> str:
    level = LOG_LEVEL_ALIASES.get(raw.upper(), raw.upper())
    if level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def _lago(values: Mapping[str, str]) -> tuple[str, str, str, str]:
    """(base, key, event code, fallback subscription): all three LAGO_API_* or none of them."""
    base, key, code = (values.get(name, "").strip() for name in LAGO_REQUIRED)
    fallback = values.get("LAGO_DEFAULT_CUSTOMER_ID", "").strip() or "unassigned"
    missing = [name for name, value in zip(LAGO_REQUIRED, (base, key, code)) if not value]
    if len(missing) == len(LAGO_REQUIRED):
        return "", "", "", fallback
    if missing:
        raise SettingsError(f"Lago billing needs {', '.join(LAGO_REQUIRED)} together; missing: {', '.join(missing)}")
    if not base.startswith(("http://", "https://")):
        raise SettingsError(f"LAGO_API_BASE must be an http:// or https:// URL, got {base!r}")
    if values.get("LAGO_API_CHARGE_BY", "").strip() not in ("", "user_id"):
        # LiteLLM would charge the client's `user` field or a team id this stack never sets. Events go to the key's
        # customer_id here (handed to LiteLLM as the user id), and a variable that seems to change that must not
        # be silently ignored. "user_id" is what prepare_litellm_environment sets, so a second load() accepts it.
        raise SettingsError("LAGO_API_CHARGE_BY is not supported: Lago events are charged to the key's customer_id "
                            "(docs/operations.md, \"Billing with Lago\"); unset it")
    return base.rstrip("/"), key, code, fallback


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings once: defaults, then src/.env (or ENV_FILE), then the environment."""
    environ = os.environ if environ is None else environ
    env_file = Path(environ.get("ENV_FILE") or DEFAULT_ENV_FILE)
    values = _merged(environ, env_file)
    get = lambda name, default="": values.get(name, "") or default  # noqa: E731

    business_host = get("BUSINESS_API_HOST", "127.0.0.1")
    business_port = _port(values, "BUSINESS_API_PORT", 8002)
    lago_base, lago_key, lago_code, lago_fallback = _lago(values)
    cores = os.cpu_count() or 1
    log_dir = get("LOG_DIR", str(SRC_DIR / "logs"))
    return Settings(
        env_file=str(env_file),
        business_api_host=business_host,
        business_api_port=business_port,
        business_api_base=get("BUSINESS_API_BASE", f"http://{_url_host(business_host)}:{business_port}").rstrip("/"),
        business_api_key=get("BUSINESS_API_KEY"),
        business_api_key_header=get("BUSINESS_API_KEY_HEADER", "X-API-Key"),
        business_api_timeout=_float(values, "BUSINESS_API_TIMEOUT", 60.0),
        business_api_max_connections=_count(values, "BUSINESS_API_MAX_CONNECTIONS", 4096),
        business_api_workers=_count(values, "BUSINESS_API_WORKERS", cores),
        business_api_worker_class=_worker_class(get("BUSINESS_API_WORKER_CLASS", "gevent")),
        business_api_worker_connections=_count(values, "BUSINESS_API_WORKER_CONNECTIONS", 10000),
        business_api_threads=_count(values, "BUSINESS_API_THREADS", 256),
        litellm_proxy_host=get("LITELLM_PROXY_HOST", "127.0.0.1"),
        litellm_proxy_port=_port(values, "LITELLM_PROXY_PORT", 8080),
        litellm_proxy_workers=_count(values, "LITELLM_PROXY_WORKERS", cores),
        litellm_proxy_backlog=_count(values, "LITELLM_PROXY_BACKLOG", 4096),
        litellm_master_key=get("LITELLM_MASTER_KEY"),
        stream_chunks_per_second=_rate(values, "STREAM_CHUNKS_PER_SECOND", 500.0),
        laas_api_base=get(
            "LAAS_API_BASE", f"http://{_url_host(business_host)}:{business_port}/api/preset/v2"
        ).rstrip("/"),
        laas_project_code=get("LAAS_PROJECT_CODE", "local-mock"),
        laas_api_key=get("LAAS_API_KEY"),
        laas_preset_hash=get("LAAS_PRESET_HASH"),
        log_level=_log_level(get("LOG_LEVEL", "INFO")),
        log_dir=log_dir,
        max_request_body_mb=_float(values, "MAX_REQUEST_BODY_MB", 50.0),
        config_file=get("CONFIG_FILE_PATH", str(SRC_DIR / "config.yaml")),
        backends_dir=get("BACKENDS_DIR", str(SRC_DIR / "backends")),
        keys_file=get("KEYS_FILE", str(SRC_DIR / "keys.yaml")),
        lago_api_base=lago_base,
        lago_api_key=lago_key,
        lago_api_event_code=lago_code,
        lago_default_customer_id=lago_fallback,
        proxy_metrics_dir=get("PROXY_METRICS_DIR", str(Path(log_dir) / "prometheus" / "proxy")),
        business_api_metrics_dir=get("BUSINESS_API_METRICS_DIR", str(Path(log_dir) / "prometheus" / "business_api")),
        redis_url=_redis_url(get("REDIS_URL")),
    )


def variables(environ: Mapping[str, str] | None = None, settings: Settings | None = None) -> dict[str, str]:
    """What a backend file's ${VAR} may name: src/.env and the environment, plus every setting as resolved.

    Resolved settings win for their own names, so ${BUSINESS_API_BASE} has its default (and no trailing slash)
    even when neither the file nor the environment sets it. `settings`: already loaded from `environ`.
    """
    environ = os.environ if environ is None else environ
    settings = load(environ) if settings is None else settings
    resolved = {name.upper(): str(value) for name, value in asdict(settings).items()}
    return {**_merged(environ, Path(settings.env_file)), **resolved}


def prepare_litellm_environment(settings: Settings) -> None:
    """Hand LiteLLM the values it reads from os.environ itself; call before importing litellm."""
    # Our models are fixed custom ones: no need to download LiteLLM's model price map at every start
    # (it is fetched from the internet by default, and retried for seconds when offline).
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    # LiteLLM's retry back-off (0.5 s doubling, plus up to 0.75 s jitter) would make two retries of an
    # unreachable backend take up to ~3 s; ours are for short blips, so wait 0.1 s, then 0.2 s.
    os.environ.setdefault("INITIAL_RETRY_DELAY", "0.1")
    os.environ.setdefault("JITTER", "0.1")
    os.environ.setdefault("LITELLM_LOG", settings.log_level)
    os.environ.setdefault("LITELLM_MASTER_KEY", settings.litellm_master_key)
    os.environ.setdefault("CONFIG_FILE_PATH", settings.config_file)
    if settings.redis_url:
        # LiteLLM's proxy takes its Redis (shared rate limits and usage) from REDIS_URL; config.yaml hands the same
        # variable to its router (cooldowns, deployment usage).
        os.environ.setdefault("REDIS_URL", settings.redis_url)
        # When Redis goes away, LiteLLM's circuit breaker stops calling it and counts in memory (per process);
        # it tries Redis again after this many seconds. Its defaults wait for 5 refused connections (a warning
        # line each) and then 60 s: one refused connection says Redis is down, and 10 s is soon enough to share
        # limits again. Timeouts (a slow Redis) still open it only after 5 s of them.
        os.environ.setdefault("REDIS_CIRCUIT_BREAKER_FAILURE_THRESHOLD", "1")
        os.environ.setdefault("REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT", "10")
    if settings.lago_enabled:
        # LiteLLM's LagoLogger reads these at every event; src/.env's values must reach it too. It is handed the
        # key's customer as `user_api_key_user_id` (adapter/metering/lago.py), so it must charge by user_id.
        os.environ.update(LAGO_API_BASE=settings.lago_api_base, LAGO_API_KEY=settings.lago_api_key,
                          LAGO_API_EVENT_CODE=settings.lago_api_event_code, LAGO_API_CHARGE_BY="user_id")


def create_env_file(path: Path, example: Path = ENV_EXAMPLE_FILE) -> bool:
    """Create `path` from the example with fresh secrets (mode 0600). False if it already exists."""
    if path.exists():
        return False
    lines = []
    for line in example.read_text(encoding="utf-8").splitlines():
        name = line.split("=", 1)[0].strip()
        if name in GENERATED_SECRETS and line.strip() == f"{name}=":
            line = f"{name}={GENERATED_SECRETS[name]()}"
        lines.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return True


def shell_assignments(settings: Settings) -> str:
    """The resolved settings as `NAME=value` lines for the service scripts.

    Not exported: the services read src/.env themselves, and a value inherited from the script's environment
    would override the file, so a reload could never apply a changed src/.env.
    """
    return "\n".join(f"{name.upper()}={shlex.quote(str(value))}" for name, value in asdict(settings).items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["init", "shell"])
    args = parser.parse_args(argv)
    try:
        if args.command == "init":
            path = Path(os.environ.get("ENV_FILE") or DEFAULT_ENV_FILE)
            if create_env_file(path):
                print(f"created {path} with fresh secrets (mode 0600)", file=sys.stderr)
            return 0
        print(shell_assignments(load()))
        return 0
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
