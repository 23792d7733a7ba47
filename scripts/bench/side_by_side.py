"""Proxies side by side on one business API mock: their environment, the mock, their command, their paths, the table."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

import stack_settings

from .harness import BUSINESS_MODEL, ROOT, RequestPath, Result, chat_body, free_ports, start_logged, wait_http

BIN = Path(sys.executable).parent
STREAM_TEXT = " ".join(["piece"] * 50)  # 50 pieces with no delay: the relay's cost per chunk dominates
# Settings each proxy gets from its caller, never from the environment the benchmark was started in.
PER_PROXY = ("BUSINESS_API_BASE", "LITELLM_MASTER_KEY", "BUSINESS_API_KEY", "CONFIG_FILE_PATH", "BACKENDS_DIR",
             "PROMETHEUS_MULTIPROC_DIR", "PROXY_METRICS_DIR")


def environment(tmp: Path, workers: int) -> tuple[dict, stack_settings.Settings]:
    """The environment the mock and the proxies share (secrets in tmp/.env, logs in tmp/logs), and its settings."""
    env_file = tmp / ".env"
    stack_settings.create_env_file(env_file)
    env = {name: value for name, value in os.environ.items() if name not in PER_PROXY}
    env.update(ENV_FILE=str(env_file), LOG_DIR=str(tmp / "logs"), LOG_LEVEL="WARNING",
               BUSINESS_API_PORT=str(free_ports(1)[0]), LITELLM_PROXY_WORKERS=str(workers),
               LITELLM_LOCAL_MODEL_COST_MAP="True")
    (tmp / "logs").mkdir(exist_ok=True)
    return env, stack_settings.load(env)


def start_mock(env: dict, tmp: Path) -> subprocess.Popen:
    """The business API of this checkout, answering."""
    src = ROOT / "src"
    process = start_logged([str(BIN / "gunicorn"), "-c", "business_api/gunicorn_conf.py"],
                           {**env, "PYTHONPATH": str(src)}, tmp / "logs" / "business.log", src)
    wait_http(f"http://127.0.0.1:{env['BUSINESS_API_PORT']}/health", 60)
    return process


def proxy_command(src: Path, port: int, workers: int, supervised: bool = True, log_level: str = "warning") -> list[str]:
    """The proxy as start_services.sh runs it (under proxy_supervisor), or under plain uvicorn for a revision that
    predates the supervisor."""
    runner = [str(BIN / "python"), "-m", "proxy_supervisor"] if supervised else [str(BIN / "uvicorn")]
    return [*runner, "adapter.gateway:app", "--app-dir", str(src), "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--http", "httptools", "--loop", "uvloop", "--timeout-keep-alive", "75",
            "--log-level", log_level]


def chat_and_stream(name: str, url: str, pid: int, key: str) -> list[RequestPath]:
    """`name`'s chat and 50-piece stream on the business model."""
    auth = {"Authorization": f"Bearer {key}"}
    chat_url = f"{url}/v1/chat/completions"
    return [RequestPath(f"{name}-chat", f"{name}: chat", chat_url, chat_body(BUSINESS_MODEL), auth, pid),
            RequestPath(f"{name}-stream", f"{name}: stream of 50 pieces", chat_url,
                        chat_body(BUSINESS_MODEL, STREAM_TEXT, stream=True), auth, pid)]


def median(results: dict[str, list[Result]], key: str, attribute: str) -> float:
    return statistics.median(getattr(result, attribute) for result in results[key])


def table(results: dict[str, list[Result]]) -> list[str]:
    """Every path's medians: requests/s, p50, the proxy's CPU per request, and its errors."""
    lines = ["| path | requests/s | p50 ms | proxy CPU ms per request | errors |", "|---|---:|---:|---:|---:|"]
    for key in results:
        errors = sum(result.errors for result in results[key])
        lines.append(f"| {key} | {median(results, key, 'rps'):.0f} | {median(results, key, 'p50') * 1000:.1f} | "
                     f"{median(results, key, 'cpu_ms'):.2f} | {errors} |")
    return lines
