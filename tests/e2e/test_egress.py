"""Nothing leaves the building: with provider keys in the proxy's environment and every proxy variable pointing
at a local listener, no request (closed routes, unconfigured models, client-side endpoints) makes the proxy
open a connection through it, and the keys appear in no answer. Controls show the listener does catch
LiteLLM's egress in this environment, so the test can fail."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .conftest import proxy_command, stack_environment, start, wait_healthy
from .test_surface import CLOSED, call

import stack_settings

CANARIES = {"OPENAI_API_KEY": "sk-canary-openai-5f3c9a", "ANTHROPIC_API_KEY": "sk-ant-canary-anthropic-8d21e7"}
UNCONFIGURED = [
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/chat/completions", {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/chat/completions", {"model": "anthropic/claude-3-5-sonnet-latest",
                              "messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/chat/completions", {"model": "my-custom-model,gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/chat/completions", {"model": "my-custom-model", "messages": [{"role": "user", "content": "hi"}],
                              "api_base": "https://api.openai.com/v1"}),
    ("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "hi"}),
    ("/v1/embeddings", {"model": "text-embedding-3-small", "input": "hi"}),
    ("/v1/embeddings", {"model": "openai/text-embedding-3-small", "input": "hi"}),
    ("/v1/images/generations", {"model": "dall-e-3", "prompt": "a red bicycle"}),
    ("/v1/responses", {"model": "gpt-4o", "input": "hi"}),
    ("/v1/responses", {"model": "claude-3-5-sonnet-latest", "input": "hi"}),
]
SERVED_GETS = ["/v1/models", "/v1/models/gpt-4o", "/health?model=gpt-4o", "/health/readiness"]
# Requests for configured models that fail, asking LiteLLM to fall back to a provider's model.
FALLBACKS = [
    ("/v1/chat/completions", {"model": "my-custom-model", "fallbacks": ["gpt-4o"],
                              "messages": [{"role": "user", "content": "[mock:status=500]"}]}),
    ("/v1/chat/completions", {"model": "my-custom-model", "fallbacks": [{"model": "openai/gpt-4o-mini"}],
                              "messages": [{"role": "user", "content": "[mock:status=500]"}]}),
    ("/v1/chat/completions", {"model": "my-custom-model", "context_window_fallbacks": [{"my-custom-model": ["gpt-4o"]}],
                              "messages": [{"role": "user", "content": "[mock:status=500]"}]}),
]
SERVED_OK = [
    ("/v1/chat/completions", {"model": "my-custom-model", "messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/chat/completions", {"model": "claude-3.5-sonnet", "messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/responses", {"model": "my-custom-model", "input": "hi"}),
]


class Listener:
    """A TCP listener standing in for every outbound proxy; it records what each connection sends first."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.received: list[bytes] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(4096) or b"<connected, sent nothing>")
                except OSError:
                    self.received.append(b"<connected, sent nothing>")

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()


def egress_environment(listener: Listener) -> dict:
    proxies = {name: listener.url for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")}
    return {**CANARIES, **proxies, **{name.lower(): url for name, url in proxies.items()},
            "NO_PROXY": "", "no_proxy": "", "AIOHTTP_TRUST_ENV": "True"}


@pytest.fixture(scope="module")
def listener():
    listening = Listener()
    yield listening
    listening.close()


@pytest.fixture(scope="module")
def canary_proxy(stack, listener, tmp_path_factory):
    """A proxy with canary provider keys and every proxy variable on the listener, using the stack's backend."""
    tmp = tmp_path_factory.mktemp("egress")
    backend = {name: str(value) for name, value in (
        ("BUSINESS_API_PORT", stack.settings.business_api_port), ("BUSINESS_API_KEY", stack.settings.business_api_key),
        ("LAAS_API_KEY", stack.settings.laas_api_key), ("LAAS_PRESET_HASH", stack.settings.laas_preset_hash))}
    env = stack_environment(tmp, **backend, **egress_environment(listener))
    settings = stack_settings.load(env)
    proxy = start("litellm_proxy", proxy_command(settings), env, tmp / "logs")
    try:
        url = f"http://127.0.0.1:{settings.litellm_proxy_port}"
        wait_healthy(proxy, f"{url}/health/liveliness")
        yield url, settings.litellm_master_key, tmp / "logs"
    finally:
        proxy.stop()


def test_no_request_makes_the_proxy_connect_anywhere_else(canary_proxy, listener):
    url, key, logs = canary_proxy
    headers = {"Authorization": f"Bearer {key}"}
    answers = []
    for method, path, body, expected in CLOSED:
        status, response_headers, payload = call(url + path, method, body, headers)
        assert status == expected, (method, path, payload[:200])
        answers.append(str(response_headers) + payload.decode(errors="replace"))
    for path, body in UNCONFIGURED:
        status, response_headers, payload = call(url + path, "POST", body, headers)
        assert status == 400, (path, body["model"], payload[:200])
        answers.append(str(response_headers) + payload.decode(errors="replace"))
    for path, body in FALLBACKS:
        status, response_headers, payload = call(url + path, "POST", body, headers)
        assert 400 <= status < 600, (path, payload[:200])
        answers.append(str(response_headers) + payload.decode(errors="replace"))
    for path in SERVED_GETS:
        status, response_headers, payload = call(url + path, headers=headers)
        assert status in (200, 404, 503), (path, payload[:200])  # unknown model: 404, its health check 503
        answers.append(str(response_headers) + payload.decode(errors="replace"))
    for path, body in SERVED_OK:  # the configured backends still answer, directly
        status, _, payload = call(url + path, "POST", body, headers)
        assert status == 200, (path, payload[:300])
    time.sleep(1)  # anything in flight reaches the listener by now
    assert listener.received == []
    for canary in CANARIES.values():
        assert not [answer for answer in answers if canary in answer]
        assert canary not in "".join(path.read_text(errors="replace") for path in Path(logs).rglob("*.log"))


CONTROL = """
import litellm
try:
    litellm.completion(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], timeout=5,
                       num_retries=0)
except Exception as error:
    print(type(error).__name__)
"""


def test_control_litellm_egress_in_this_environment_reaches_the_listener(tmp_path):
    """Positive control: LiteLLM itself, given the same environment, goes out through the listener."""
    control = Listener()
    try:
        env = {**stack_environment(tmp_path), **egress_environment(control), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        subprocess.run([sys.executable, "-c", CONTROL], env=env, timeout=120, capture_output=True, check=False)
        time.sleep(0.5)
        assert any(b"api.openai.com" in first for first in control.received), control.received
    finally:
        control.close()


def test_control_litellms_proxy_without_the_door_reaches_the_listener(stack, tmp_path):
    """Positive control: LiteLLM's own app, not behind our door, sends GET /v1/vector_stores to OpenAI."""
    control = Listener()
    env = {**stack_environment(tmp_path, **egress_environment(control)), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    settings = stack_settings.load(env)
    env["CONFIG_FILE_PATH"] = str(Path(__file__).resolve().parents[2] / "src" / "config.yaml")
    env["LITELLM_MASTER_KEY"] = settings.litellm_master_key
    command = proxy_command(settings)
    command[command.index("adapter.gateway:app")] = "litellm.proxy.proxy_server:app"
    proxy = start("litellm_bare", command, env, tmp_path / "logs")
    try:
        url = f"http://127.0.0.1:{settings.litellm_proxy_port}"
        wait_healthy(proxy, f"{url}/health/liveliness")
        call(url + "/v1/vector_stores", headers={"Authorization": f"Bearer {settings.litellm_master_key}"})
        time.sleep(0.5)
        assert any(b"api.openai.com" in first for first in control.received), control.received
    finally:
        proxy.stop()
        control.close()
