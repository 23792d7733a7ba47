"""Start the real business API (gunicorn) and the real LiteLLM proxy (uvicorn) on free loopback ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest
import yaml

import stack_settings
from bench.harness import free_ports

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
BIN = Path(sys.executable).parent
START_TIMEOUT = 120
# Generous: under full load the proxy's event loop lags, and that lag counts against this timeout.
BACKEND_TIMEOUT_SECONDS = 30


def free_port() -> int:
    return free_ports(1)[0]


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


@dataclass
class Stack:
    env: dict
    settings: stack_settings.Settings
    proxy_url: str
    business_url: str
    logs: Path
    proxy_pid: int

    def proxy_log(self) -> str:
        return (self.logs / "litellm_proxy.log").read_text(errors="replace")

    @property
    def master_key(self) -> str:
        return self.settings.litellm_master_key

    def _client_options(self, overrides: dict) -> dict:
        return {"base_url": f"{self.proxy_url}/v1", "api_key": self.master_key, "max_retries": 0, "timeout": 30,
                **overrides}

    def client(self, **overrides) -> openai.OpenAI:
        return openai.OpenAI(**self._client_options(overrides))

    def async_client(self, **overrides) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(**self._client_options(overrides))


def stack_environment(tmp: Path, **overrides: str) -> dict:
    """A hermetic environment: a fresh env file with new secrets, free ports, logs under `tmp`."""
    env_file = tmp / ".env"
    stack_settings.create_env_file(env_file)
    business_port, proxy_port = free_ports(2)
    env = {
        **os.environ,
        "ENV_FILE": str(env_file),
        "LOG_DIR": str(tmp / "logs"),
        "BUSINESS_API_PORT": str(business_port),
        "LITELLM_PROXY_PORT": str(proxy_port),
        "BUSINESS_API_TIMEOUT": str(BACKEND_TIMEOUT_SECONDS),
        "BUSINESS_API_WORKERS": "1",
        "BUSINESS_API_THREADS": "16",
        "PYTHONPATH": str(SRC),
        "KEYS_FILE": str(tmp / "keys.yaml"),  # never the developer's src/keys.yaml
        **overrides,
    }
    for name in ("BUSINESS_API_BASE", "LAAS_API_BASE", "LITELLM_MASTER_KEY", "BUSINESS_API_KEY",
                 "CONFIG_FILE_PATH", "BACKENDS_DIR"):
        if name not in overrides:
            env.pop(name, None)  # the developer's shell must not leak into the test stack
    return env


def wait_healthy(service: Service, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            pytest.fail(f"{service.name} exited with {service.process.returncode}:\n{service.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{service.name} not healthy after {START_TIMEOUT} s:\n{service.tail()}")


def start(name: str, command: list[str], env: dict, logs: Path) -> Service:
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("ab") as handle:
        process = subprocess.Popen(
            command, cwd=SRC, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Service(name, process, log)


def business_command() -> list[str]:
    return [str(BIN / "gunicorn"), "-c", "business_api/gunicorn_conf.py"]


def proxy_command(settings: stack_settings.Settings, workers: int = 1) -> list[str]:
    return [
        str(BIN / "python"), "-m", "proxy_supervisor", "adapter.gateway:app", "--app-dir", str(SRC),
        "--host", "127.0.0.1", "--port", str(settings.litellm_proxy_port), "--workers", str(workers),
        "--http", "httptools", "--loop", "uvloop", "--timeout-keep-alive", "75", "--log-level", "info",
    ]


def config_with_models(tmp: Path, models: list[dict]) -> Path:
    """A copy of src/config.yaml with `models` added to its model_list (e.g. mapped example backends)."""
    config = yaml.safe_load((SRC / "config.yaml").read_text(encoding="utf-8"))
    config["model_list"] = config["model_list"] + models
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@contextmanager
def extra_proxy(tmp: Path, models: list[dict] | None = None, workers: int = 1, **overrides: str):
    """Another proxy (only) with its own settings, e.g. another timeout or a dead backend; yields its client.

    `models` are added to src/config.yaml's model_list in a copy the proxy reads (CONFIG_FILE_PATH); `workers` is
    the number of its worker processes.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    if models:
        overrides = {**overrides, "CONFIG_FILE_PATH": str(config_with_models(tmp, models))}
    env = stack_environment(tmp, **overrides)
    settings = stack_settings.load(env)
    proxy = start("litellm_proxy", proxy_command(settings, workers), env, tmp / "logs")
    try:
        url = f"http://127.0.0.1:{settings.litellm_proxy_port}"
        wait_healthy(proxy, f"{url}/health/liveliness")
        yield openai.OpenAI(base_url=f"{url}/v1", api_key=settings.litellm_master_key, max_retries=0, timeout=30)
    finally:
        proxy.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stack")
    env = stack_environment(tmp)
    settings = stack_settings.load(env)
    logs = Path(settings.log_dir)
    services: list[Service] = []
    try:
        business = start("business_api", business_command(), env, logs)
        services.append(business)
        business_url = f"http://127.0.0.1:{settings.business_api_port}"
        wait_healthy(business, f"{business_url}/health")
        proxy = start("litellm_proxy", proxy_command(settings), env, logs)
        services.append(proxy)
        proxy_url = f"http://127.0.0.1:{settings.litellm_proxy_port}"
        wait_healthy(proxy, f"{proxy_url}/health/liveliness")
        yield Stack(env=env, settings=settings, proxy_url=proxy_url, business_url=business_url, logs=logs,
                    proxy_pid=proxy.process.pid)
    finally:
        for service in reversed(services):
            service.stop()
    assert_no_secrets_in_logs(tmp_path_factory.getbasetemp(), settings.secrets)


def assert_no_secrets_in_logs(root: Path, secrets: tuple[str, ...]) -> None:
    """After a whole end-to-end run: no log file of any stack this session started holds a secret value."""
    logs = [path for path in root.rglob("*.log") if path.is_file()]
    assert logs, f"no log files under {root}"
    for path in logs:
        text = path.read_text(errors="replace")
        leaked = [secret[:4] + "…" for secret in secrets if secret in text]
        assert not leaked, f"{path} contains secret values starting {leaked}"
