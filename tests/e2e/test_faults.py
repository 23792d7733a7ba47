"""Faults the stack must survive: a backend killed under traffic, and sustained load."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import urllib.request
from pathlib import Path

import openai
import pytest

from tests.support.script_stack import MARKERS, START, Stack, alive, cmdline, descendants_or_group, explain, wait_until

MESSAGES = [{"role": "user", "content": "still there?"}]


@pytest.fixture
def scripted(tmp_path):
    stack = Stack(tmp_path)
    try:
        yield stack
    finally:
        stack.cleanup()


def master_key(env_file: Path) -> str:
    line = next(row for row in env_file.read_text().splitlines() if row.startswith("LITELLM_MASTER_KEY="))
    return line.split("=", 1)[1]


def kill_hard(master: int) -> list[int]:
    doomed = [master] + [pid for pid in descendants_or_group(master) if MARKERS["business_api"] in cmdline(pid)]
    for pid in doomed:
        os.kill(pid, signal.SIGKILL)
    return doomed


def test_killed_business_api_fails_fast_and_recovers_without_proxy_restart(scripted: Stack):
    result = scripted.run(START, timeout=180)
    assert result.returncode == 0, explain(result)
    before = scripted.pids()
    proxy_url = f"http://127.0.0.1:{scripted.proxy_port}"
    client = openai.OpenAI(base_url=f"{proxy_url}/v1", api_key=master_key(scripted.env_file), max_retries=0, timeout=10)
    client.chat.completions.create(model="my-custom-model", messages=MESSAGES)  # LiteLLM's slow first request

    outcomes: list[tuple[float, int, float]] = []  # (started, status, seconds)
    stop = threading.Event()

    def send_until_stopped():
        while not stop.is_set() and len(outcomes) < 5000:
            started = time.monotonic()
            try:
                client.chat.completions.create(model="my-custom-model", messages=MESSAGES)
                status = 200
            except openai.APIStatusError as error:
                status = error.status_code
            except openai.APIConnectionError:
                status = 0  # the proxy itself did not answer
            outcomes.append((started, status, time.monotonic() - started))

    senders = [threading.Thread(target=send_until_stopped) for _ in range(4)]
    for sender in senders:
        sender.start()
    try:
        time.sleep(1.5)
        killed_at = time.monotonic()
        doomed = kill_hard(before["business_api"])
        assert wait_until(lambda: not any(alive(pid) for pid in doomed), 10)
        time.sleep(2)
    finally:
        stop.set()
        for sender in senders:
            sender.join(timeout=30)

    statuses = {status for _, status, _ in outcomes}
    assert statuses <= {200, 502, 503}, statuses
    assert max(seconds for _, _, seconds in outcomes) < 3
    after_kill = [status for started, status, _ in outcomes if started > killed_at + 0.5]
    assert after_kill and set(after_kill) <= {502, 503}
    with urllib.request.urlopen(f"{proxy_url}/health/liveliness", timeout=5) as response:
        assert response.status == 200

    result = scripted.run(START, timeout=180)
    assert result.returncode == 0, explain(result)
    now = scripted.pids()
    assert now["litellm_proxy"] == before["litellm_proxy"]
    assert now["business_api"] != before["business_api"]
    recovered_at = time.monotonic()
    deadline = recovered_at + 2
    answer = None
    while answer is None and time.monotonic() < deadline:
        try:
            answer = client.chat.completions.create(model="my-custom-model", messages=MESSAGES)
        except openai.APIStatusError:
            time.sleep(0.1)
    assert answer is not None, "no successful request within 2 s of the restart"
    print(f"\nkill test: {len(outcomes)} requests, statuses {sorted(statuses)}, "
          f"recovered {time.monotonic() - recovered_at:.2f} s after the restart")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def load(stack, total: int, concurrency: int) -> list[str]:
    """`total` chat requests, `concurrency` at a time; returns the failures' descriptions."""
    client = stack.async_client(timeout=60)
    gate = asyncio.Semaphore(concurrency)
    failures: list[str] = []

    async def one(index: int):
        async with gate:
            try:
                response = await client.chat.completions.create(
                    model="my-custom-model" if index % 2 else "claude-3.5-sonnet",
                    messages=[{"role": "user", "content": f"request {index}"}],
                )
                if not response.choices[0].message.content.endswith(f"request {index}"):
                    failures.append(f"{index}: wrong answer")
            except openai.OpenAIError as error:
                failures.append(f"{index}: {type(error).__name__} {error}")

    try:
        await asyncio.gather(*(one(index) for index in range(total)))
    finally:
        await client.close()
    return failures


def test_load_without_loss_and_bounded_memory(stack, capsys):
    started = time.monotonic()
    failures = asyncio.run(load(stack, 1000, 50))
    elapsed = time.monotonic() - started
    assert failures == [], failures[:5]

    rss_before = rss_mb(stack.proxy_pid)
    failures = asyncio.run(load(stack, 5000, 50))
    rss_after = rss_mb(stack.proxy_pid)
    assert failures == [], failures[:5]
    with capsys.disabled():
        print(f"\nload: 1000 requests at concurrency 50, 0 failures ({1000 / elapsed:.0f} req/s); "
              f"proxy RSS {rss_before:.0f} MB → {rss_after:.0f} MB over 5000 more requests")
    assert rss_after - rss_before <= 50
