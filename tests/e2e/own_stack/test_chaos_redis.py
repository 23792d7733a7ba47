"""Chaos: Redis stopped under load with two proxies (two workers each) sharing it, then started again.

No 5xx meanwhile: the limits fall back per process, the budgets per host, each with a warning per process and not
per request. When Redis is back, the proxies share limits and budgets again, and every cent spent — before, during
and after the outage, on either proxy — is in Redis's counter: nothing is lost (a charge in flight as Redis stopped
may count twice, the safe side). The Redis here keeps every
acknowledged write across its restart (an append-only file), so that the count can be checked exactly.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
import yaml

from adapter.keys import hash_key
from adapter.keys.window import window
from adapter.metering.__main__ import read_lines
from adapter.metering.spend import LocalSpend, redis_name, to_nano
from tests.support.load import Load
from tests.support.redis_server import PASSWORD, running

from ..conftest import extra_proxy
from ..test_budgets import PRICED

WORKERS = 2
KEYS = {alias: f"sk-chaos-{alias}-0123456789abcdef" for alias in ("load", "parallel", "rpm-after")}
DURATION = "1d"
RPM_AFTER = 4
LOAD_THREADS = 4
OUTAGE_SECONDS = 7  # longer than the budgets' retry interval (5 s): the retries meet Redis still away
RECOVERY_SECONDS = 10  # REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT as stack_settings sets it
BOUND = 20
BREAKER = "Redis circuit breaker OPENED"
BREAKERS_PER_PROCESS = 2  # LiteLLM's proxy cache and its router's cache: one breaker each
AWAY = "budgets: Redis (REDIS_URL) does not answer"
BACK = "budgets: Redis (REDIS_URL) answers again"


def write_keys(path: Path, budget: float) -> None:
    """`load`: limits and a budget per day; `parallel`: limits that bind under the load (max_parallel); `rpm-after`:
    rpm only.

    `parallel` is not used once Redis is back: LiteLLM's limiter counts a call in flight up in Redis and, if Redis has
    gone meanwhile, down in the process only, so a Redis that comes back with its data (a network cut, or a persistent
    Redis as here) refuses the key for up to a minute, its counter's lifetime."""
    limits = {"rpm": 100_000, "tpm": 10_000_000}
    path.write_text(yaml.safe_dump({"keys": [
        {"alias": "load", "hash": hash_key(KEYS["load"]), **limits, "max_budget": budget, "budget_duration": DURATION},
        {"alias": "parallel", "hash": hash_key(KEYS["parallel"]), **limits, "max_parallel": 2},
        {"alias": "rpm-after", "hash": hash_key(KEYS["rpm-after"]), "rpm": RPM_AFTER}]}))


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    with running(tmp_path_factory.mktemp("redis"), persistent=True) as server:
        yield server


@pytest.fixture(scope="module")
def proxies(stack, redis_server, tmp_path_factory):
    """Two proxies, two workers each, on one keys file and one Redis: their base URLs, directories, the keys file and
    their master keys (each proxy has its own)."""
    tmp = tmp_path_factory.mktemp("chaos-redis")
    keys = tmp / "keys.yaml"
    write_keys(keys, 1000.0)
    env = {"KEYS_FILE": str(keys), "REDIS_URL": redis_server.url, "BUSINESS_API_BASE": stack.business_url,
           "BUSINESS_API_KEY": stack.settings.business_api_key}
    with ExitStack() as started:
        clients = [started.enter_context(extra_proxy(tmp / name, models=PRICED, workers=WORKERS, **env))
                   for name in "ab"]
        urls = [str(client.base_url).rstrip("/").removesuffix("/v1") for client in clients]
        yield urls, [tmp / name for name in "ab"], keys, [client.api_key for client in clients]


def chat(url: str, key: str, text: str = "price me") -> httpx.Response:
    """A priced call on a new connection (any worker of the proxy may take it)."""
    return httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=60,
                      json={"model": "priced-chat", "messages": [{"role": "user", "content": text}]})


def counter() -> str:
    return redis_name(hash_key(KEYS["load"]).removeprefix("sha256:"), window(DURATION, datetime.now(timezone.utc)).key)


def charged(dirs: list[Path]) -> int:
    """What the `load` key's successful calls cost, in nano-dollars, from both proxies' usage lines."""
    return sum(to_nano(line["cost"]) for directory in dirs for line in read_lines(directory / "logs")
               if line["key_alias"] == "load" and line["status"] == 200)


def counted_locally(dirs: list[Path]) -> int:
    """What the hosts' own files still hold for the `load` key (counted while Redis was away, not handed over)."""
    name = hash_key(KEYS["load"]).removeprefix("sha256:")
    start = window(DURATION, datetime.now(timezone.utc)).key
    return sum(LocalSpend(directory / "logs").spent(name, start) for directory in dirs)


def breaker_opens(url: str, master_key: str) -> float:
    """How often the proxy's Redis circuit breakers opened (LiteLLM's counter on /metrics, all workers)."""
    text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {master_key}"}, timeout=10).text
    prefix = 'litellm_redis_circuit_breaker_transitions_total{state="open"} '
    return sum(float(line[len(prefix):]) for line in text.splitlines() if line.startswith(prefix))


def probe_until_shared(urls: list[str], master_keys: list[str], rounds: int = 4) -> None:
    """After the breakers' recovery time, a few calls per proxy on new connections (so both workers get some): the
    first call of a worker after its recovery time probes Redis. A probe that meets a stale pooled connection opens
    the breaker again; then wait once more, until a round opens none."""
    for _ in range(rounds):
        time.sleep(RECOVERY_SECONDS + 1)
        opened = [breaker_opens(url, key) for url, key in zip(urls, master_keys)]
        for url, key in zip(urls, master_keys):
            for _ in range(2 * WORKERS):
                assert chat(url, key, "probe").status_code == 200
        if [breaker_opens(url, key) for url, key in zip(urls, master_keys)] == opened:
            return
    pytest.fail("the Redis circuit breakers kept opening after Redis came back")


def test_redis_stopped_under_load_then_back_no_5xx_and_nothing_lost(proxies, redis_server):
    urls, dirs, keys, master_keys = proxies
    logs = [directory / "logs" / "litellm_proxy.log" for directory in dirs]
    sizes = [log.stat().st_size for log in logs]
    with Load(urls, [KEYS["load"], KEYS["parallel"]], threads=LOAD_THREADS, model="priced-chat") as load:
        load.wait_for(8, 0, BOUND)
        stopped_at = time.monotonic()
        redis_server.stop()
        try:
            time.sleep(OUTAGE_SECONDS)
        finally:
            redis_server.start()  # on the same port, with what it had acknowledged
        back_at = time.monotonic()
        # The outage's part of the logs (later, a breaker's probe may meet a stale connection and open it again).
        outage_logs = [log.read_bytes()[size:].decode(errors="replace") for log, size in zip(logs, sizes)]
        load.wait_for(8, back_at, BOUND)
    outcomes = load.outcomes

    # Never a 5xx nor a dropped connection: served, or refused by a limit (now counted per process) with 429.
    assert {outcome.status for outcome in outcomes} <= {200, 429}, [
        (outcome.status, outcome.body) for outcome in outcomes if outcome.status not in (200, 429)]
    during = [outcome for outcome in outcomes if stopped_at <= outcome.started and outcome.ended <= back_at]
    assert sum(outcome.status == 200 for outcome in during) >= 10, "too few calls served while Redis was away"
    refusals = [outcome.body for outcome in outcomes if outcome.status == 429]
    assert all(body["error"]["message"] and body["error"]["code"] != "budget_exceeded" for body in refusals)
    for url, text in zip(urls, outage_logs):
        # A warning per process (and per Redis client of LiteLLM's), not per request: the budgets' once per worker,
        # each LiteLLM breaker's once; the other lines are the calls in flight when Redis went (one each).
        assert 1 <= text.count(AWAY) <= WORKERS, text
        assert 1 <= text.count(BREAKER) <= WORKERS * BREAKERS_PER_PROCESS, text
        mentions = [line for line in text.splitlines() if "redis" in line.lower()]
        assert len(mentions) * 2 < sum(outcome.target == url for outcome in during), mentions
        assert "Traceback" not in text and PASSWORD not in text

    # Back: the limits are shared again...
    probe_until_shared(urls, master_keys)
    statuses = [chat(urls[number % 2], KEYS["rpm-after"]).status_code for number in range(3 * RPM_AFTER)]
    assert statuses.count(200) == RPM_AFTER and set(statuses) == {200, 429}, statuses

    # ... every host has handed what it counted alone over to Redis, and Redis holds every call's cost.
    deadline = time.monotonic() + BOUND
    while True:
        for url in urls:  # a budget check that reaches Redis hands the host's count over
            for _ in range(WORKERS):
                answer = chat(url, KEYS["load"])
                assert answer.status_code == 200, answer.text
        time.sleep(1)  # the last calls' charges follow their usage lines
        shared, expected, left = int(redis_server.client().get(counter()) or 0), charged(dirs), counted_locally(dirs)
        if (shared >= expected and left == 0) or time.monotonic() > deadline:
            break
    costs = sorted({to_nano(line["cost"]) for directory in dirs for line in read_lines(directory / "logs")
                    if line["key_alias"] == "load" and line["status"] == 200})
    # Nothing lost. A charge whose INCRBY Redis applied as it stopped, but whose answer never came, was counted on
    # its host too (the safe side for a budget): at most one per load thread, the calls in flight at that moment.
    assert left == 0 and expected <= shared <= expected + LOAD_THREADS * costs[-1], (
        f"Redis holds {shared}, the calls cost {expected} (off by {shared - expected}; a call costs {costs}), "
        f"{left} left locally")

    # ... and so are the budgets: one call's worth left, spent through proxy a, refuses on proxy b too.
    cost = max(line["cost"] for line in read_lines(dirs[0] / "logs") if line["key_alias"] == "load")
    write_keys(keys, shared / 1e9 + cost / 2)
    time.sleep(1.5)  # the workers see the file's new version at their next request
    assert chat(urls[0], KEYS["load"]).status_code == 200
    deadline = time.monotonic() + BOUND
    while int(redis_server.client().get(counter())) == shared:
        assert time.monotonic() < deadline, "the last call was never charged"
        time.sleep(0.1)
    for url in (urls[1], urls[0]):
        refused = chat(url, KEYS["load"])
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "budget_exceeded", refused.text
    for log in logs:
        assert BACK in log.read_text(errors="replace")
