"""adapter.metering.spend: exact counters in SQLite across processes, and in a real Redis server that stops and returns."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from datetime import datetime, timedelta, timezone

import pytest
import redis

from adapter.metering import spend
from adapter.metering.spend import LONGEST_WINDOW_SECONDS, LocalSpend, SharedSpend, SpendReader, redis_name
from tests.support.redis_server import running

KEY, OTHER = "ab" * 32, "cd" * 32  # counter names are a key hash's hex digits
WINDOW = 1_796_169_600  # 2026-12-01T00:00:00Z, a month's window start
PROCESSES, ROUNDS = 4, 200
AWAY = "budgets: Redis (REDIS_URL) does not answer"
BACK = "budgets: Redis (REDIS_URL) answers again"


# LocalSpend ---------------------------------------------------------------------------------------------------------

def test_local_counters_are_per_key_and_window_and_add_up(tmp_path):
    local = LocalSpend(tmp_path)
    assert local.spent(KEY, WINDOW) == 0
    local.add(KEY, WINDOW, 5)
    local.add(KEY, WINDOW, 7)
    local.add(KEY, WINDOW + 86_400, 100)
    local.add(OTHER, WINDOW, 1000)
    assert [local.spent(KEY, WINDOW), local.spent(KEY, WINDOW + 86_400), local.spent(OTHER, WINDOW)] == [12, 100, 1000]
    assert LocalSpend(tmp_path).spent(KEY, WINDOW) == 12  # another worker (or a restart) reads the same file
    assert (tmp_path / "spend.sqlite3").stat().st_mode & 0o777 == 0o600


BROKEN = "budgets: "
FILE_FAILS, FILE_BACK = "cannot be used", "takes writes again"


def replaced_by_a_file(directory):
    """LOG_DIR gone and a regular file in its place (ENOTDIR/EEXIST: real as root too); returns how to put it back."""
    away = directory.with_name(directory.name + "-away")
    directory.rename(away)
    directory.write_text("not a directory\n")

    def restore():
        directory.unlink()
        away.rename(directory)
    return restore


def said(caplog, text):
    return [record for record in caplog.records if BROKEN in record.getMessage() and text in record.getMessage()]


def test_a_file_that_never_opened_holds_spend_in_memory_says_so_once_and_takes_it_when_it_opens(tmp_path, caplog):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    restore = replaced_by_a_file(log_dir)
    local = LocalSpend(log_dir)
    for _ in range(3):
        local.add(KEY, WINDOW, 5)
    assert local.spent(KEY, WINDOW) == 15 and local.spent(OTHER, WINDOW) == 0
    assert len(said(caplog, FILE_FAILS)) == 1 and said(caplog, FILE_FAILS)[0].levelno == logging.ERROR
    restore()
    local.add(KEY, WINDOW, 1)  # the file takes it, and what was held
    assert LocalSpend(log_dir).spent(KEY, WINDOW) == 16 and local.spent(KEY, WINDOW) == 16
    assert len(said(caplog, FILE_BACK)) == 1 and len(said(caplog, FILE_FAILS)) == 1


def test_while_the_file_fails_a_read_answers_what_it_last_read_so_a_spent_budget_stays_spent(tmp_path, caplog):
    log_dir = tmp_path / "logs"
    local = LocalSpend(log_dir)
    local.add(KEY, WINDOW, 40)
    assert local.spent(KEY, WINDOW) == 40
    (log_dir / spend.FILE_NAME).unlink()
    (log_dir / spend.FILE_NAME).mkdir()  # the database file replaced by a directory: SQLite cannot open it
    local._db = None  # as in a worker that opens the file after the change (an open one keeps its unlinked file)
    assert local.spent(KEY, WINDOW) == 40
    local.add(KEY, WINDOW, 2)
    assert local.spent(KEY, WINDOW) == 42 and local.spent(KEY, WINDOW + 86_400) == 0
    assert [key for key, *_ in local.take_all()] == [KEY]  # handed over (to Redis) from memory while the file fails
    assert local.spent(KEY, WINDOW) == 40 and len(said(caplog, FILE_FAILS)) == 1


fork = multiprocessing.get_context("fork")  # as gunicorn starts the proxy's workers


def _add_many(local: LocalSpend, amount: int, start) -> None:
    """One worker process: `amount` added ROUNDS times, through the LocalSpend its parent opened before forking."""
    start.wait()
    for _ in range(ROUNDS):
        local.add(KEY, WINDOW, amount)


def run_adders(local: LocalSpend, taking: bool = False) -> list[tuple[str, int, int]]:
    """PROCESSES processes adding 1..PROCESSES ROUNDS times each at once; with `taking`, this process meanwhile
    takes everything out again and again. Returns what was taken."""
    local.spent(KEY, WINDOW)  # the parent's connection is open before the fork: each child must open its own
    start = fork.Event()
    workers = [fork.Process(target=_add_many, args=(local, amount, start))
               for amount in range(1, PROCESSES + 1)]
    for worker in workers:
        worker.start()
    start.set()
    taken = []
    while any(worker.is_alive() for worker in workers):
        if taking:
            taken += local.take_all()
        time.sleep(0.001)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    return taken


EXPECTED = ROUNDS * sum(range(1, PROCESSES + 1))


def test_additions_from_many_processes_at_once_are_all_counted(tmp_path):
    local = LocalSpend(tmp_path)
    run_adders(local)
    assert local.spent(KEY, WINDOW) == EXPECTED == LocalSpend(tmp_path).spent(KEY, WINDOW)


def test_take_all_removes_what_it_returns_in_one_step_even_while_others_add(tmp_path):
    local = LocalSpend(tmp_path)
    local.add(OTHER, 0, 3)
    taken = run_adders(local, taking=True)
    taken += local.take_all()
    # Every addition is either in one take or in the file, never in both, never lost.
    assert sum(nano for key, _, nano in taken if key == KEY) == EXPECTED
    assert (OTHER, 0, 3) in taken
    assert local.take_all() == [] and local.spent(KEY, WINDOW) == 0


def test_forget_old_drops_windows_that_ended_over_a_day_ago_and_keeps_lifetime_counters(tmp_path):
    local = LocalSpend(tmp_path)
    now = WINDOW + 10 * 86_400
    old = now - LONGEST_WINDOW_SECONDS - 86_400 - 1  # a month-long window starting here ended over a day ago
    recent = now - LONGEST_WINDOW_SECONDS  # could still be the current month's start
    for window in (0, old, recent, WINDOW):
        local.add(KEY, window, 1)
    local.forget_old(now)
    assert sorted(window for _, window, _ in local.take_all()) == [0, recent, WINDOW]


def test_each_process_drops_old_windows_when_it_first_opens_the_file(tmp_path):
    now = int(time.time())
    LocalSpend(tmp_path).add(KEY, now - 40 * 86_400, 5)  # a window that began 40 days ago
    LocalSpend(tmp_path).add(KEY, now, 7)  # another "process" opens it: the old window goes
    assert LocalSpend(tmp_path).take_all() == [(KEY, now, 7)]


# SharedSpend against a real redis-server ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    with running(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def server(redis_server):
    """The module's server, running and empty (a test may have stopped it)."""
    if redis_server.process.poll() is not None:
        redis_server.start()
    redis_server.client().flushdb()
    return redis_server


@pytest.fixture
def quick_retry(monkeypatch):
    """Redis is tried again 0.2 s after a failure rather than 5 s."""
    monkeypatch.setattr(spend, "REDIS_RETRY_SECONDS", 0.2)
    return 0.2


def month_end() -> datetime:
    return datetime.now(timezone.utc) + timedelta(days=30)


def test_additions_land_in_redis_expiring_a_day_after_their_window_and_lifetime_ones_never(server, tmp_path):
    shared = SharedSpend(server.url, LocalSpend(tmp_path))
    ends = month_end()

    async def scenario():
        await shared.add_async(KEY, WINDOW, 250, ends)
        await shared.add_async(KEY, WINDOW, 50, ends)
        await shared.add_async(KEY, 0, 9, None)
        return await shared.spent_async(KEY, WINDOW), await shared.spent_async(KEY, 0)

    assert asyncio.run(scenario()) == (300, 9)
    client = server.client()
    assert int(client.get(redis_name(KEY, WINDOW))) == 300 and int(client.get(redis_name(KEY, 0))) == 9
    expected_ttl = ends.timestamp() + 86_400 - time.time()
    assert abs(client.ttl(redis_name(KEY, WINDOW)) - expected_ttl) <= 5
    assert client.ttl(redis_name(KEY, 0)) == -1  # a lifetime budget's counter is kept
    assert not (tmp_path / "spend.sqlite3").exists() or LocalSpend(tmp_path).take_all() == []


def test_what_this_host_counted_before_is_added_to_redis_at_the_first_answer(server, tmp_path):
    local = LocalSpend(tmp_path)
    local.add(KEY, WINDOW, 5)  # e.g. counted by a proxy that stopped while Redis was away
    server.client().set(redis_name(KEY, WINDOW), 10)
    shared = SharedSpend(server.url, local)

    async def scenario():
        return await shared.spent_async(KEY, WINDOW), await shared.spent_async(KEY, WINDOW)

    assert asyncio.run(scenario()) == (15, 15)  # Redis's and the local amount, then all of it in Redis
    assert int(server.client().get(redis_name(KEY, WINDOW))) == 15 and local.take_all() == []


def test_while_redis_is_away_spend_is_counted_here_and_handed_over_when_it_answers(
        server, tmp_path, quick_retry, caplog):
    local = LocalSpend(tmp_path)
    shared = SharedSpend(server.url, local)
    ends = month_end()

    async def scenario():
        await shared.add_async(KEY, WINDOW, 100, ends)
        assert await shared.spent_async(KEY, WINDOW) == 100  # what Redis said last is remembered
        server.stop()
        started = time.monotonic()
        await shared.add_async(KEY, WINDOW, 7, ends)
        assert time.monotonic() - started < 2  # refused connections fail fast: the call is not held up
        assert local.spent(KEY, WINDOW) == 7
        assert await shared.spent_async(KEY, WINDOW) == 107  # last seen in Redis + counted here
        assert await shared.spent_async(OTHER, WINDOW) == 0  # never seen: only what is counted here
        await asyncio.sleep(quick_retry * 2)  # Redis is tried again, and fails again: still one warning
        await shared.add_async(KEY, WINDOW, 3, ends)
        assert await shared.spent_async(KEY, WINDOW) == 110
        assert caplog.text.count(AWAY) == 1 and BACK not in caplog.text

        server.start()  # empty: this server keeps nothing across a restart
        await asyncio.sleep(quick_retry * 2)
        await shared.add_async(KEY, WINDOW, 1, ends)
        return local.take_all()

    with caplog.at_level(logging.WARNING, logger="adapter"):
        assert asyncio.run(scenario()) == []
    assert int(server.client().get(redis_name(KEY, WINDOW))) == 7 + 3 + 1
    assert server.client().ttl(redis_name(KEY, WINDOW)) > 0
    assert caplog.text.count(AWAY) == 1 and caplog.text.count(BACK) == 1


def test_a_redis_restart_between_calls_is_not_taken_for_an_outage(server, tmp_path, caplog):
    shared = SharedSpend(server.url, LocalSpend(tmp_path))

    async def scenario():
        await shared.add_async(KEY, WINDOW, 5, None)  # leaves a pooled connection, which the restart closes
        server.stop()
        server.start()
        await shared.add_async(KEY, WINDOW, 6, None)
        return await shared.spent_async(KEY, WINDOW)

    with caplog.at_level(logging.WARNING, logger="adapter"):
        assert asyncio.run(scenario()) == 6  # the restarted server is empty: only what came after it
    assert AWAY not in caplog.text and int(server.client().get(redis_name(KEY, WINDOW))) == 6


def test_any_worker_that_reaches_redis_hands_over_what_another_worker_counted_here(server, tmp_path, quick_retry):
    # Two workers of one host: one SQLite file, a SharedSpend each. Only the first counts during the outage.
    counting, checking = (SharedSpend(server.url, LocalSpend(tmp_path)) for _ in range(2))

    async def scenario():
        await counting.spent_async(KEY, WINDOW)
        await checking.spent_async(KEY, WINDOW)
        server.stop()
        await counting.add_async(KEY, WINDOW, 7, None)
        server.start()
        await asyncio.sleep(quick_retry * 2)
        return await checking.spent_async(KEY, WINDOW)  # the other worker meets Redis first

    assert asyncio.run(scenario()) == 7
    assert int(server.client().get(redis_name(KEY, WINDOW))) == 7 and LocalSpend(tmp_path).take_all() == []


def test_without_redis_nothing_is_tried_again_before_the_retry_time(server, tmp_path, monkeypatch):
    monkeypatch.setattr(spend, "REDIS_RETRY_SECONDS", 60.0)
    local = LocalSpend(tmp_path)
    shared = SharedSpend(server.url, local)

    async def scenario():
        server.stop()
        await shared.add_async(KEY, WINDOW, 1, None)
        server.start()  # back, but not tried for a minute: still counted here
        await shared.add_async(KEY, WINDOW, 2, None)
        return await shared.spent_async(KEY, WINDOW)

    assert asyncio.run(scenario()) == 3
    assert local.spent(KEY, WINDOW) == 3 and server.client().get(redis_name(KEY, WINDOW)) is None


# SpendReader, for `keys.sh list` and /metrics ------------------------------------------------------------------------

def read_spend(log_dir: str, redis_url: str, key: str, window: int) -> tuple[int, str]:
    """One read, as `keys.sh list` makes it."""
    return SpendReader(log_dir, redis_url, timeout=2).read(key, window)


def test_read_spend_without_redis_reads_this_hosts_file_and_nothing_without_one(tmp_path):
    assert read_spend(str(tmp_path), "", KEY, WINDOW) == (0, "")
    assert not (tmp_path / "spend.sqlite3").exists()  # reading does not create the file
    LocalSpend(tmp_path).add(KEY, WINDOW, 42)
    assert read_spend(str(tmp_path), "", KEY, WINDOW) == (42, "")


def test_read_spend_with_redis_adds_redis_and_this_hosts_pending_share(server, tmp_path):
    server.client().set(redis_name(KEY, WINDOW), 1000)
    assert read_spend(str(tmp_path), server.url, KEY, WINDOW) == (1000, "")
    LocalSpend(tmp_path).add(KEY, WINDOW, 42)
    assert read_spend(str(tmp_path), server.url, KEY, WINDOW) == (1042, "")


def test_read_spend_with_redis_down_says_it_shows_this_hosts_share_only(server, tmp_path):
    LocalSpend(tmp_path).add(KEY, WINDOW, 42)
    server.stop()
    spent, note = read_spend(str(tmp_path), server.url, KEY, WINDOW)
    assert spent == 42 and note == "Redis does not answer (ConnectionError): this host's count only"
    assert server.url.split("@")[0].split(":")[-1] not in note  # the password is never shown


def test_the_synchronous_reader_for_metrics_adds_redis_to_this_host_and_counts_alone_while_redis_is_away(
        server, tmp_path):
    local = LocalSpend(tmp_path)
    local.add(KEY, WINDOW, 5)
    server.client().set(redis_name(KEY, WINDOW), 10)
    spent = SpendReader(tmp_path, server.url).spent
    assert (spent(KEY, WINDOW), spent(OTHER, WINDOW)) == (15, 0)
    server.stop()
    assert spent(KEY, WINDOW) == 5
    assert SpendReader(tmp_path).spent(KEY, WINDOW) == 5
