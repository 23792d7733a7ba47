"""Money budgets across two proxies sharing one real Redis server, and while that Redis is stopped and back."""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import datetime, timezone

import pytest
import yaml

from adapter.keys import hash_key
from adapter.keys.window import window
from adapter.metering.spend import NANO, REDIS_RETRY_SECONDS, redis_name
from tests.support.redis_server import PASSWORD, running

from ..conftest import extra_proxy
from ..test_budgets import PRICED, Proxy, lines_of

KEYS = {alias: f"sk-{alias}-0123456789abcdef" for alias in ("free", "shared", "outage")}
DURATION = "1d"
AWAY = "budgets: Redis (REDIS_URL) does not answer"
BACK = "budgets: Redis (REDIS_URL) answers again"


def counter(key: str) -> str:
    """The Redis counter of `key`'s spend in today's window, as SharedSpend names it (the hash's hex digits)."""
    start = window(DURATION, datetime.now(timezone.utc)).key
    return redis_name(hash_key(key).removeprefix("sha256:"), start)


def write_keys(path, budget: float | None) -> None:
    """`free` without a budget; `shared` and `outage` with `budget` per day (none yet while it is being measured)."""
    limits = {} if budget is None else {"max_budget": budget, "budget_duration": DURATION}
    path.write_text(yaml.safe_dump({"keys": [{"alias": "free", "hash": hash_key(KEYS["free"])}] + [
        {"alias": alias, "hash": hash_key(KEYS[alias]), **limits} for alias in ("shared", "outage")]}))


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    with running(tmp_path_factory.mktemp("redis")) as server:  # before the proxies: each waits for Redis at start-up
        yield server


@pytest.fixture(scope="module")
def replicas(stack, redis_server, tmp_path_factory):
    """Two proxies (each its own LOG_DIR, so its own spend.sqlite3) on one keys file and one Redis; the cost of one
    call; budgets of 2.5 calls a day for `shared` and `outage`."""
    tmp = tmp_path_factory.mktemp("redis-budgets")
    keys = tmp / "keys.yaml"
    write_keys(keys, None)
    env = {"KEYS_FILE": str(keys), "REDIS_URL": redis_server.url, "BUSINESS_API_BASE": stack.business_url,
           "BUSINESS_API_KEY": stack.settings.business_api_key, "LITELLM_PROXY_WORKERS": "2"}
    with ExitStack() as started:
        proxies = [Proxy(started.enter_context(extra_proxy(tmp / name, models=PRICED, **env))) for name in "ab"]
        assert proxies[0].chat(KEYS["free"]).status_code == 200
        cost = lines_of(tmp / "a", "free", 1)[0]["cost"]
        assert cost > 0
        # Two calls leave a key within budget; the third, started within it, finishes and takes it over.
        write_keys(keys, cost * 2.5)
        time.sleep(1.5)  # the proxies' workers see the file's new version at their next request
        yield proxies, [tmp / name for name in "ab"], cost


def assert_refused(proxy: Proxy, key: str) -> None:
    refused = proxy.chat(key)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "budget_exceeded"


def test_one_budget_holds_across_both_proxies(replicas, redis_server):
    proxies, dirs, cost = replicas
    assert [proxies[number % 2].chat(KEYS["shared"]).status_code for number in range(3)] == [200] * 3
    # Each proxy logs (and charges) its own calls: two on a, one on b.
    assert len(lines_of(dirs[0], "shared", 2)) == 2 and len(lines_of(dirs[1], "shared", 1)) == 1
    time.sleep(0.5)  # the usage line and the charge are two callbacks of one call
    assert int(redis_server.client().get(counter(KEYS["shared"]))) == pytest.approx(3 * cost * NANO, abs=3)
    # Within its budget on either proxy alone (one or two calls' worth): refused on both all the same.
    assert_refused(proxies[1], KEYS["shared"])
    assert_refused(proxies[0], KEYS["shared"])


def test_without_redis_a_proxy_counts_locally_and_hands_the_count_over_when_redis_is_back(replicas, redis_server):
    proxies, dirs, cost = replicas
    proxy, log_file = proxies[0], dirs[0] / "logs" / "litellm_proxy.log"
    size = log_file.stat().st_size
    redis_server.stop()
    try:
        # Still served while within budget, counted in this proxy's spend.sqlite3, and refused once that count
        # reaches the budget.
        assert [proxy.chat(KEYS["outage"]).status_code for _ in range(3)] == [200] * 3
        assert len(lines_of(dirs[0], "outage", 3)) == 3
        time.sleep(0.5)
        assert_refused(proxy, KEYS["outage"])
        outage = log_file.read_bytes()[size:].decode(errors="replace")
        assert AWAY in outage and BACK not in outage
    finally:
        redis_server.start()  # on the same port; empty (it keeps nothing across a restart)
    time.sleep(REDIS_RETRY_SECONDS + 0.5)  # Redis is tried again only this long after a failure
    assert_refused(proxy, KEYS["outage"])  # the check reaches Redis, which takes the local count
    shared = redis_server.client().get(counter(KEYS["outage"]))
    assert shared is not None and int(shared) == pytest.approx(3 * cost * NANO, abs=3)
    assert_refused(proxies[1], KEYS["outage"])  # now the other proxy sees that spend too
    back = log_file.read_bytes()[size:].decode(errors="replace")
    assert BACK in back and PASSWORD not in back and "Traceback" not in back
