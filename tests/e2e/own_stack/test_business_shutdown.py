"""The business API stopped with SIGTERM, both worker classes, behind the real proxy: idle keep-alive connections
close at once, so an idle service exits at once; requests and streams in flight still finish."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import openai
import pytest

import stack_settings
from tests.support.http_probes import idle_connection

from ..conftest import business_command, proxy_command, stack_environment, start, wait_healthy

WORKER_CLASSES = ["gevent", "gthread"]
EXIT_SECONDS = 2  # gunicorn's workers look at their state once a second; the master reaps them within 0.1 s
STREAM_WORDS = [f"word{i}" for i in range(40)]
STREAM_PIECE_MS = 100  # 4 s of stream: well past the moment idle connections must have closed


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    """A proxy whose business API each test starts on the port the proxy was given, and stops."""
    env = stack_environment(tmp_path_factory.mktemp("shutdown"))
    settings = stack_settings.load(env)
    service = start("litellm_proxy", proxy_command(settings), env, Path(settings.log_dir))
    try:
        wait_healthy(service, f"http://127.0.0.1:{settings.litellm_proxy_port}/health/liveliness")
        yield env, settings
    finally:
        service.stop()


@contextmanager
def business_api(env: dict, settings: stack_settings.Settings, worker_class: str):
    service = start("business_api", business_command(), {**env, "BUSINESS_API_WORKER_CLASS": worker_class},
                    Path(settings.log_dir))
    try:
        wait_healthy(service, f"http://127.0.0.1:{settings.business_api_port}/health")
        yield service
    finally:
        service.stop()


def openai_client(settings: stack_settings.Settings) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"http://127.0.0.1:{settings.litellm_proxy_port}/v1",
                         api_key=settings.litellm_master_key, max_retries=0, timeout=30)


def served_connections(port: int) -> int:
    """Established TCP connections whose server end is `port` (/proc/net/tcp)."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if int(row[1].split(":")[1], 16) == port and row[3] == "01")


def closed_by_server(connection: http.client.HTTPConnection, within: float) -> bool:
    connection.sock.settimeout(within)
    try:
        return connection.sock.recv(1) == b""
    except socket.timeout:
        return False


def sigterm_and_time_exit(service) -> float:
    started = time.monotonic()
    os.kill(service.process.pid, signal.SIGTERM)
    try:
        service.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the business API still runs 15 s after SIGTERM:\n{service.tail()}")
    return time.monotonic() - started


@pytest.mark.parametrize("worker_class", WORKER_CLASSES)
def test_an_idle_business_api_exits_at_once_on_sigterm(proxy, worker_class):
    env, settings = proxy
    port = settings.business_api_port
    with business_api(env, settings, worker_class) as service:
        # The proxy's pool keeps its connections to the business API, as a client of its own does.
        client = openai_client(settings)
        client.chat.completions.create(model="my-custom-model", messages=[{"role": "user", "content": "hi"}])
        assert "".join(chunk.choices[0].delta.content or "" for chunk in client.chat.completions.create(
            model="my-custom-model", messages=[{"role": "user", "content": "hi"}], stream=True) if chunk.choices)
        own = idle_connection(port)
        assert served_connections(port) >= 2, "the proxy and the test should both hold an idle connection"

        assert sigterm_and_time_exit(service) < EXIT_SECONDS, service.tail()
        assert closed_by_server(own, 1)


@pytest.mark.parametrize("worker_class", WORKER_CLASSES)
def test_a_stream_in_flight_finishes_while_idle_connections_close_at_once(proxy, worker_class):
    env, settings = proxy
    with business_api(env, settings, worker_class) as service:
        idle = idle_connection(settings.business_api_port)
        stream = iter(openai_client(settings).chat.completions.create(
            model="my-custom-model", stream=True,
            messages=[{"role": "user", "content": f"[mock:chunk_delay={STREAM_PIECE_MS}] " + " ".join(STREAM_WORDS)}]))
        pieces = [next(chunk.choices[0].delta.content for chunk in stream if chunk.choices)]

        os.kill(service.process.pid, signal.SIGTERM)
        assert closed_by_server(idle, EXIT_SECONDS), "an idle connection stayed open while a stream went on"
        assert service.process.poll() is None, "the business API did not wait for the stream in flight"

        finish = None
        for chunk in stream:
            if chunk.choices:
                pieces.append(chunk.choices[0].delta.content or "")
                finish = chunk.choices[0].finish_reason or finish
        ended = time.monotonic()
        assert "".join(pieces).split()[-len(STREAM_WORDS):] == STREAM_WORDS and finish == "stop"
        try:
            service.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the business API still runs 15 s after its last stream ended:\n{service.tail()}")
        assert time.monotonic() - ended < EXIT_SECONDS
