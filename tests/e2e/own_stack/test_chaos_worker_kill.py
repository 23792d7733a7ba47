"""Chaos: a proxy worker killed with SIGKILL in the middle of streams. The supervisor replaces it, the streams on the
other worker complete, new requests succeed at once and on the new worker too, and every call the client saw
complete has its usage line."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

import stack_settings
from adapter.metering.__main__ import read_lines
from tests.support.processes import children, client_port, serving_pid, wait_for_children
from tests.support.streams import StreamCall

from ..conftest import START_TIMEOUT, proxy_command, stack_environment, start, wait_healthy

WORKERS = 2
WORDS = [f"word{number}" for number in range(40)]
PIECE_MS = 200  # 8 s of stream: the kill lands in the middle of every one
MOST_STREAMS = 16  # opened one by one until each worker holds at least PER_WORKER of them
PER_WORKER = 2
BOUND = 20  # "within seconds": generous, the machine is shared
WORKER = "spawn_main"  # a worker's command line (multiprocessing's spawn); the supervisor has a resource tracker too
STARTED = "Application startup complete"  # uvicorn's line, once per worker


@pytest.fixture(scope="module")
def proxy(stack, tmp_path_factory):
    """A proxy of its own with two workers on the shared business API: (url, master key, supervisor pid, LOG_DIR)."""
    tmp = tmp_path_factory.mktemp("worker-kill")
    env = stack_environment(tmp, BUSINESS_API_BASE=stack.business_url,
                            BUSINESS_API_KEY=stack.settings.business_api_key)
    settings = stack_settings.load(env)
    service = start("litellm_proxy", proxy_command(settings, WORKERS), env, Path(settings.log_dir))
    try:
        url = f"http://127.0.0.1:{settings.litellm_proxy_port}"
        wait_healthy(service, f"{url}/health/liveliness")
        deadline = time.monotonic() + START_TIMEOUT
        while service.log.read_text(errors="replace").count(STARTED) < WORKERS:
            assert time.monotonic() < deadline, f"{WORKERS} workers did not start:\n{service.tail()}"
            time.sleep(0.5)
        yield url, settings.litellm_master_key, service, Path(settings.log_dir)
    finally:
        service.stop()


def open_streams_on_every_worker(url: str, key: str, port: int, workers: set[int]) -> dict[int, list[StreamCall]]:
    """Slow streams, opened one by one on connections of their own, until each worker holds PER_WORKER of them."""
    held: dict[int, list[StreamCall]] = {pid: [] for pid in workers}
    text = f"[mock:chunk_delay={PIECE_MS}] " + " ".join(WORDS)
    for _ in range(MOST_STREAMS):
        stream = StreamCall(url, key, text).start()
        assert stream.opened.wait(BOUND) and stream.status == 200 and stream.port, (stream.status, stream.broken)
        held[serving_pid(port, stream.port, workers)].append(stream)
        if all(len(streams) >= PER_WORKER for streams in held.values()):
            return held
    pytest.fail(f"{MOST_STREAMS} streams did not reach every worker: {({p: len(s) for p, s in held.items()})}")


def chat(client: httpx.Client, url: str, key: str, text: str) -> httpx.Response:
    return client.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                       json={"model": "my-custom-model", "messages": [{"role": "user", "content": text}]})


def usage_lines_of(log_dir: Path, call_ids: set[str], seconds: float = BOUND) -> dict[str, dict]:
    """The usage lines whose request_id is one of `call_ids`, once all are there (or `seconds` have passed)."""
    deadline = time.monotonic() + seconds
    while True:
        found = {line["request_id"]: line for line in read_lines(log_dir) if line["request_id"] in call_ids}
        if len(found) == len(call_ids) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_worker_killed_mid_stream_is_replaced_and_nothing_completed_is_lost(proxy):
    url, key, service, log_dir = proxy
    port, supervisor = int(url.rsplit(":", 1)[1]), service.process.pid
    workers = wait_for_children(supervisor, WORKERS, WORKER)
    held = open_streams_on_every_worker(url, key, port, workers)
    victim = next(iter(held))
    survivors = workers - {victim}

    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    completed: list[str] = []  # call ids of the calls the client saw complete
    with httpx.Client(timeout=30) as client:
        # New requests succeed at once, while the streams go on: the surviving worker takes them.
        for number in range(5):
            response = chat(client, url, key, f"right after the kill {number}")
            assert response.status_code == 200, response.text
            completed.append(response.headers["x-litellm-call-id"])

    for stream in [stream for streams in held.values() for stream in streams]:
        stream.join(len(WORDS) * PIECE_MS / 1000 + BOUND)
    for stream in held[victim]:
        # Cut with its worker: the client sees the connection end without the stream's end, promptly, not a hang.
        assert isinstance(stream.broken, (httpx.RemoteProtocolError, httpx.ReadError)), repr(stream.broken)
        assert not stream.done and stream.ended_at - killed_at < BOUND
    for pid in survivors:
        for stream in held[pid]:
            assert stream.broken is None and stream.done and stream.error_event is None, (stream.broken,
                                                                                           stream.error_event)
            assert stream.answer.split()[-len(WORDS):] == WORDS and stream.finish_reason == "stop"
            completed.append(stream.call_id)

    # The supervisor replaces the worker at once; the replacement, once it has loaded LiteLLM, serves too.
    replaced = wait_for_children(supervisor, WORKERS, WORKER, without={victim}, seconds=BOUND)
    fresh = replaced - survivors
    assert len(fresh) == 1 and service.process.poll() is None
    assert f"Child process [{victim}] died: killed by SIGKILL" in service.log.read_text(errors="replace")
    deadline = time.monotonic() + START_TIMEOUT  # as long as a worker may take to start on a busy machine
    while service.log.read_text(errors="replace").count(STARTED) < WORKERS + 1:
        assert time.monotonic() < deadline and children(supervisor, WORKER) == replaced, service.tail()
        time.sleep(0.5)
    served_by_fresh = False
    deadline = time.monotonic() + BOUND
    while not served_by_fresh and time.monotonic() < deadline:
        with httpx.Client(timeout=30) as client:  # a new connection each time: any worker may accept it
            response = chat(client, url, key, "who serves me?")
            assert response.status_code == 200, response.text
            completed.append(response.headers["x-litellm-call-id"])
            served_by_fresh = serving_pid(port, client_port(response), replaced) in fresh
        time.sleep(0.2)
    assert served_by_fresh, f"the new worker {fresh} served no request within {BOUND} s"

    # Every call the client saw complete has its usage line, with its success.
    lines = usage_lines_of(log_dir, set(completed))
    assert set(lines) == set(completed), f"no usage line for {set(completed) - set(lines)}"
    assert all(line["status"] == 200 and line["completion_tokens"] > 0 for line in lines.values())
    assert sum(line["stream"] for line in lines.values()) == sum(len(held[pid]) for pid in survivors)
    assert children(supervisor, WORKER) == replaced  # nothing else died meanwhile
