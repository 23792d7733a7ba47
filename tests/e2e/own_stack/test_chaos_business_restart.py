"""Chaos: the business API restarted under load, gracefully (SIGTERM) and hard (SIGKILL), behind the real proxy.

The policy under test is src/config.yaml's: an unreachable backend is retried twice at once (num_retries 2,
retry_after 0, ServiceUnavailableErrorRetries 2), then the client gets 503 in OpenAI's shape; a stream is never
retried, and a stream whose backend connection breaks ends with one `data: {"error": ...}` event, no [DONE]
(docs/backend-contracts.md). The proxy stays up throughout, with the same worker.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

import stack_settings
from adapter.metering.__main__ import read_lines
from tests.support.load import Load
from tests.support.processes import children
from tests.support.streams import StreamCall

from ..conftest import Service, business_command, proxy_command, stack_environment, start, wait_healthy

WORDS = [f"word{number}" for number in range(30)]
PIECE_MS = 150  # 4.5 s of stream: the restart lands in the middle of it
STREAMS = 3
SLOW_MS = 2000  # a non-stream call the backend is still working on when it stops
RETRIES = 2  # config.yaml: ServiceUnavailableErrorRetries
DOWN_SECONDS = 1.5  # how long the business API stays down: load calls meet it gone
BOUND = 20  # "within seconds": generous, the machine is shared
WORKER = "spawn_main"  # a proxy worker's command line
UNREACHABLE = "the business backend is unreachable"
BROKE = "the connection broke mid-stream"


class Business:
    """The business API on the port the proxy was given, which a test stops and starts again."""

    def __init__(self, env: dict, settings: stack_settings.Settings):
        self.env, self.settings, self.service = env, settings, None

    def start(self) -> None:
        self.service = start("business_api", business_command(), self.env, Path(self.settings.log_dir))
        wait_healthy(self.service, f"http://127.0.0.1:{self.settings.business_api_port}/health")

    def terminate(self) -> None:
        """SIGTERM, then its exit: gunicorn finishes what is in flight first."""
        os.kill(self.service.process.pid, signal.SIGTERM)
        try:
            self.service.process.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the business API still runs {BOUND} s after SIGTERM:\n{self.service.tail()}")

    def kill(self) -> None:
        """SIGKILL to the master and its workers at once: every connection is cut."""
        os.killpg(self.service.process.pid, signal.SIGKILL)
        self.service.process.wait(timeout=BOUND)

    def stop(self) -> None:
        if self.service:
            self.service.stop()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    """A proxy of its own (one worker) whose business API each test starts, restarts and stops."""
    env = stack_environment(tmp_path_factory.mktemp("business-restart"))
    settings = stack_settings.load(env)
    service = start("litellm_proxy", proxy_command(settings), env, Path(settings.log_dir))
    try:
        wait_healthy(service, f"http://127.0.0.1:{settings.litellm_proxy_port}/health/liveliness")
        yield env, settings, service
    finally:
        service.stop()


@pytest.fixture
def business(proxy):
    env, settings, _ = proxy
    business = Business(env, settings)
    try:
        business.start()
        yield business
    finally:
        business.stop()


def base_url(settings: stack_settings.Settings) -> str:
    return f"http://127.0.0.1:{settings.litellm_proxy_port}"


def slow_call(settings: stack_settings.Settings, results: list) -> None:
    """A non-stream call the backend holds for SLOW_MS; (status, body, call id) into `results`."""
    response = httpx.post(f"{base_url(settings)}/v1/chat/completions", timeout=60,
                          headers={"Authorization": f"Bearer {settings.litellm_master_key}"},
                          json={"model": "my-custom-model",
                                "messages": [{"role": "user", "content": f"[mock:sleep={SLOW_MS}] slow"}]})
    results.append((response.status_code, response.json(), response.headers.get("x-litellm-call-id")))


def retries_logged(proxy_log: str, call_id: str) -> int | None:
    """How many retries LiteLLM says it made before failing the call `call_id` with 503 (None: no such line)."""
    found = re.search(rf"litellm_call_id={re.escape(call_id)} - litellm\.ServiceUnavailableError: [^\n]*\n\n"
                      r"[^\n]*LiteLLM Retried: (\d+) times, LiteLLM Max Retries: (\d+)", proxy_log)
    return int(found.group(1)) if found and int(found.group(2)) == RETRIES else None


def assert_unreachable_503(body: dict) -> None:
    """OpenAI's error shape, saying what happened."""
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == "503", error
    assert UNREACHABLE in error["message"] and error["type"] == "server_error", error


def assert_retried_then_503(failures: list[tuple[dict, str]], proxy_log: str) -> None:
    """Each (body, call id) is the unreachable 503, which LiteLLM says it returned after RETRIES retries."""
    for body, call_id in failures:
        assert_unreachable_503(body)
        assert retries_logged(proxy_log, call_id) == RETRIES, call_id


def open_streams(settings: stack_settings.Settings) -> list[StreamCall]:
    text = f"[mock:chunk_delay={PIECE_MS}] " + " ".join(WORDS)
    streams = [StreamCall(base_url(settings), settings.litellm_master_key, text).start() for _ in range(STREAMS)]
    for stream in streams:
        assert stream.opened.wait(BOUND) and stream.status == 200, (stream.status, stream.broken)
    return streams


def assert_usage_lines(log_dir: Path, expected: dict[str, tuple[int, bool]]) -> None:
    """Every call id has its usage line, with the status the client saw (a broken stream: the error event's) and
    whether it was a stream."""
    deadline = time.monotonic() + BOUND
    while True:
        lines = {line["request_id"]: (line["status"], line["stream"]) for line in read_lines(log_dir)
                 if line["request_id"] in expected}
        if lines == expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert lines == expected, {call: (status, lines.get(call)) for call, status in expected.items()
                               if lines.get(call) != status}


def assert_proxy_up(settings: stack_settings.Settings, service: Service, workers: set[int]) -> None:
    """Same supervisor, same worker (none died), healthy, and a new call and a new stream succeed."""
    assert service.process.poll() is None and children(service.process.pid, WORKER) == workers
    url = base_url(settings)
    assert httpx.get(f"{url}/health/liveliness", timeout=10).status_code == 200
    response = httpx.post(f"{url}/v1/chat/completions", timeout=30,
                          headers={"Authorization": f"Bearer {settings.litellm_master_key}"},
                          json={"model": "my-custom-model", "messages": [{"role": "user", "content": "after"}]})
    assert response.status_code == 200, response.text
    stream = StreamCall(url, settings.litellm_master_key, "after, streamed").start()
    stream.join(BOUND)
    assert stream.done and stream.finish_reason == "stop" and stream.error_event is None and stream.broken is None


def test_a_graceful_restart_under_load_finishes_what_is_in_flight_and_retries_calls_that_meet_it_down(
        proxy, business):
    _, settings, service = proxy
    workers = children(service.process.pid, WORKER)
    log_size = service.log.stat().st_size
    slow: list = []
    with Load([base_url(settings)], [settings.litellm_master_key], threads=3) as load:
        load.wait_for(3, 0, BOUND)
        streams = open_streams(settings)
        slow_thread = threading.Thread(target=slow_call, args=(settings, slow))
        slow_thread.start()
        time.sleep(0.5)  # the slow call has reached the backend

        business.terminate()  # returns once the streams and the slow call have finished
        down_at = time.monotonic()
        time.sleep(DOWN_SECONDS)
        business.start()
        up_at = time.monotonic()
        load.wait_for(5, up_at, BOUND)
    slow_thread.join(BOUND)
    proxy_log = service.log.read_bytes()[log_size:].decode(errors="replace")

    # In flight at SIGTERM: finished in full, as a graceful stop promises.
    for stream in streams:
        stream.join(BOUND)
        assert stream.broken is None and stream.error_event is None and stream.done, (stream.broken,
                                                                                      stream.error_event)
        assert stream.answer.split()[-len(WORDS):] == WORDS and stream.finish_reason == "stop"
    assert slow and slow[0][0] == 200, slow
    # Calls that met it down: retried twice at once, then 503 in OpenAI's shape; none other than 200 or that 503.
    outcomes = load.outcomes
    failed = [outcome for outcome in outcomes if outcome.status != 200]
    assert {outcome.status for outcome in failed} <= {503}, [(o.status, o.body) for o in failed]
    assert [outcome for outcome in outcomes if down_at <= outcome.started and outcome.ended <= up_at
            and outcome.status == 503], "no call met the business API down"
    assert_retried_then_503([(outcome.body, outcome.call_id) for outcome in failed], proxy_log)
    # Once it is back, every call succeeds.
    assert all(outcome.status == 200 for outcome in outcomes if outcome.started >= up_at), outcomes
    assert "Traceback" not in proxy_log
    assert_usage_lines(Path(settings.log_dir), {
        **{outcome.call_id: (outcome.status, False) for outcome in outcomes},
        **{stream.call_id: (200, True) for stream in streams}, slow[0][2]: (200, False)})
    assert_proxy_up(settings, service, workers)


def test_a_hard_kill_under_load_ends_streams_with_an_error_event_and_the_proxy_stays_up(proxy, business):
    _, settings, service = proxy
    workers = children(service.process.pid, WORKER)
    log_size = service.log.stat().st_size
    slow: list = []
    with Load([base_url(settings)], [settings.litellm_master_key], threads=3) as load:
        load.wait_for(3, 0, BOUND)
        streams = open_streams(settings)
        slow_thread = threading.Thread(target=slow_call, args=(settings, slow))
        slow_thread.start()
        time.sleep(0.5)

        killed_at = time.monotonic()
        business.kill()
        # Streams in flight end at once, each with one error event: no hang, no torn connection, no [DONE].
        for stream in streams:
            stream.join(BOUND)
            assert stream.broken is None and not stream.done, stream.broken
            assert stream.error_event and stream.error_event["code"] == "502", stream.error_event
            assert BROKE in stream.error_event["message"] and stream.ended_at - killed_at < BOUND
            assert len(stream.pieces) < len(WORDS)  # cut, not finished
        slow_thread.join(BOUND)
        time.sleep(DOWN_SECONDS)
        business.start()
        up_at = time.monotonic()
        load.wait_for(5, up_at, BOUND)
    proxy_log = service.log.read_bytes()[log_size:].decode(errors="replace")

    # The call in flight lost its connection: retried like an unreachable backend (still down), then 503.
    outcomes = load.outcomes
    assert slow and slow[0][0] == 503, slow
    failed = [outcome for outcome in outcomes if outcome.status != 200]
    assert {outcome.status for outcome in failed} <= {503}, [(o.status, o.body) for o in failed]
    assert [outcome for outcome in failed if killed_at <= outcome.started and outcome.ended <= up_at]
    assert_retried_then_503([(outcome.body, outcome.call_id) for outcome in failed] + [slow[0][1:]], proxy_log)
    assert all(outcome.status == 200 for outcome in outcomes if outcome.started >= up_at), outcomes
    assert "Traceback" not in proxy_log
    assert_usage_lines(Path(settings.log_dir), {
        **{outcome.call_id: (outcome.status, False) for outcome in outcomes},
        **{stream.call_id: (502, True) for stream in streams}, slow[0][2]: (503, False)})
    assert_proxy_up(settings, service, workers)
