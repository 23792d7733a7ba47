"""Spend counters per (key, window), in nano-dollars: one SQLite file per host, or Redis shared by every replica.

Amounts are whole nano-dollars (1e-9 USD) so that adding is exact and atomic in both stores (SQLite's upsert,
Redis's INCRBY): N workers and M replicas adding at once never lose an increment, and no float error piles up.
- LocalSpend: LOG_DIR/spend.sqlite3 (WAL), shared by the proxy's workers on one host and kept across restarts.
  While the file cannot be used (LOG_DIR full, unwritable or gone), each worker counts in its own memory, says so
  once, and adds what it held to the file when the file takes writes again: a broken LOG_DIR never fails a call.
- SharedSpend (REDIS_URL): one counter per key and window in Redis, expiring a day after its window ends. While
  Redis does not answer, each host counts in its LocalSpend and warns; the amounts counted there are added to Redis
  when it answers again, so none is lost (during the outage every host sees only its own share: see
  docs/operations.md, "Budgets").
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from datetime import datetime
from pathlib import Path

import redis
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger("adapter")

NANO = 1_000_000_000  # nano-dollars per dollar
FILE_NAME = "spend.sqlite3"
BUSY_TIMEOUT_SECONDS = 5.0  # how long a writer waits for another worker's write (each takes microseconds)
REDIS_TIMEOUT_SECONDS = 0.5  # one Redis command; past it the host counts locally
REDIS_RETRY_SECONDS = 5.0  # after a failure, Redis is tried again this much later (not on every request)
LONGEST_WINDOW_SECONDS = 31 * 86_400  # a calendar month (30d)
KEPT_AFTER_WINDOW_SECONDS = 86_400  # a Redis counter outlives its window by a day (for `keys.sh list` and audits)
SCHEMA = ("CREATE TABLE IF NOT EXISTS spend (key TEXT NOT NULL, window INTEGER NOT NULL, nano INTEGER NOT NULL, "
          "PRIMARY KEY (key, window)) WITHOUT ROWID")


def to_nano(usd: float) -> int:
    """Dollars as the counters hold them (a call's cost rounds to the nearest nano-dollar)."""
    return round(usd * NANO)


class LocalSpend:
    """The counters of one host in one SQLite file: every worker opens it; upserts make each addition atomic.

    While the file fails (sqlite3.Error, OSError), additions are held in this process's memory and reads answer from
    it and from the last count read from the file; the held amounts go to the file at the first addition it takes.
    """

    def __init__(self, log_dir: str | Path):
        self.path = Path(log_dir) / FILE_NAME
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self._held: dict[tuple[str, int], int] = {}  # (key, window) → nano-dollars not yet in the file
        # key → (window, the file's count when last read): what a read answers while the file fails (a spent budget
        # stays spent); one window per key, so it never grows past the keys in use.
        self._last_read: dict[str, tuple[int, int]] = {}
        self._failing = False

    def _connection(self) -> sqlite3.Connection:
        if self._db is None or self._pid != os.getpid():  # a connection never crosses a fork
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                                 check_same_thread=False)
            os.chmod(self.path, 0o600)
            # WAL: readers never wait for a writer. NORMAL: no fsync per addition; a power cut may lose the last
            # additions (never corrupt the file), which the usage lines still record.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(SCHEMA)
            self._db, self._pid = db, os.getpid()
            self.forget_old(time.time())  # once per process: old windows never pile up
        return self._db

    def spent(self, key: str, window: int) -> int:
        held = self._held.get((key, window), 0) if self._held else 0
        try:
            row = self._connection().execute("SELECT nano FROM spend WHERE key = ? AND window = ?",
                                             (key, window)).fetchone()
        except (sqlite3.Error, OSError) as error:
            self._failed(error)
            last = self._last_read.get(key)
            return (last[1] if last and last[0] == window else 0) + held
        counted = row[0] if row else 0
        self._last_read[key] = (window, counted)
        return counted + held

    def add(self, key: str, window: int, nano: int) -> None:
        try:
            self._upsert(key, window, nano)
        except (sqlite3.Error, OSError) as error:
            self._failed(error)
            self._held[(key, window)] = self._held.get((key, window), 0) + nano
            return
        if self._held or self._failing:
            self._release()

    def _upsert(self, key: str, window: int, nano: int) -> None:
        self._connection().execute(
            "INSERT INTO spend (key, window, nano) VALUES (?, ?, ?) "
            "ON CONFLICT (key, window) DO UPDATE SET nano = nano + excluded.nano", (key, window, nano))

    def _failed(self, error: BaseException) -> None:
        if self._db is not None:  # opened afresh next time: the directory or the file may have been put back
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        if not self._failing:
            self._failing = True
            log.error("budgets: %s cannot be used (%s: %s); this worker counts spend in memory until it can, "
                      "then adds it to the file", self.path, type(error).__name__, getattr(error, "strerror", "")
                      or error)

    def _release(self) -> None:
        """The file takes writes again: add what was held, say so once."""
        held, self._held = self._held, {}
        for index, ((key, window), nano) in enumerate(held.items()):
            try:
                self._upsert(key, window, nano)
            except (sqlite3.Error, OSError) as error:
                for rest, amount in list(held.items())[index:]:
                    self._held[rest] = self._held.get(rest, 0) + amount
                self._failed(error)
                return
        self._failing = False
        log.warning("budgets: %s takes writes again; the spend this worker held meanwhile (%d counter(s)) is in it",
                    self.path, len(held))

    def forget_old(self, now: float) -> None:
        """Drop counters of windows that began over 32 days ago (a lifetime budget's, window 0, is kept)."""
        before = int(now) - LONGEST_WINDOW_SECONDS - KEPT_AFTER_WINDOW_SECONDS
        self._connection().execute("DELETE FROM spend WHERE window > 0 AND window < ?", (before,))

    def take_all(self) -> list[tuple[str, int, int]]:
        """Every counter, removed in one transaction (with what this process held): what another store is about to
        add up. While the file fails, only what was held."""
        held, self._held = [(key, window, nano) for (key, window), nano in self._held.items()], {}
        try:
            return self._take_file() + held
        except (sqlite3.Error, OSError) as error:
            self._failed(error)
            return held

    def _take_file(self) -> list[tuple[str, int, int]]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = db.execute("SELECT key, window, nano FROM spend").fetchall()
            db.execute("DELETE FROM spend")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return rows

    async def spent_async(self, key: str, window: int) -> int:
        return self.spent(key, window)

    async def add_async(self, key: str, window: int, nano: int, ends: datetime | None) -> None:
        self.add(key, window, nano)


def redis_name(key: str, window: int) -> str:
    return f"adapter:spend:{key}:{window}"


class SharedSpend:
    """Counters in Redis, shared by every replica; LocalSpend holds what was counted while Redis was away."""

    def __init__(self, url: str, local: LocalSpend):
        # One immediate retry on a new connection when a pooled one turns out closed (Redis restarted, or a proxy
        # dropped it): else the first command after every Redis restart fails and the host counts alone for
        # REDIS_RETRY_SECONDS although Redis answers. Not on a timeout, where an INCRBY may already have counted.
        self.redis = redis.asyncio.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                                  socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                                  retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)))
        self.local = local
        self._last_seen: dict[str, tuple[int, int]] = {}  # key → (window, Redis's count when last read)
        self._retry_at = 0.0  # monotonic time before which Redis is not tried (after a failure)
        self._away = False
        self._pending = True  # whether LocalSpend may hold amounts to hand to Redis (checked once at start)

    async def spent_async(self, key: str, window: int) -> int:
        pending = self.local.spent(key, window)
        if self._waiting():
            return self._remembered(key, window) + pending
        try:
            value = await self.redis.get(redis_name(key, window))
        except (redis.RedisError, OSError) as error:
            self._failed(error)
            return self._remembered(key, window) + pending
        shared = int(value or 0)
        self._last_seen[key] = (window, shared)
        if pending:  # counted here by any worker (the file is the host's): this one hands it over
            self._pending = True
        await self._answered()
        return shared + pending

    async def add_async(self, key: str, window: int, nano: int, ends: datetime | None) -> None:
        if not self._waiting():
            try:
                await self._add_to_redis(key, window, nano, None if ends is None else int(ends.timestamp()))
                await self._answered()
                return
            except (redis.RedisError, OSError) as error:
                self._failed(error)
        self.local.add(key, window, nano)
        self._pending = True

    async def _add_to_redis(self, key: str, window: int, nano: int, ends: int | None) -> None:
        name = redis_name(key, window)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incrby(name, nano)
            if ends is not None:
                pipe.expireat(name, ends + KEPT_AFTER_WINDOW_SECONDS)
            await pipe.execute()

    def _remembered(self, key: str, window: int) -> int:
        seen = self._last_seen.get(key)
        return seen[1] if seen and seen[0] == window else 0

    def _waiting(self) -> bool:
        return self._away and time.monotonic() < self._retry_at

    def _failed(self, error: BaseException) -> None:
        self._retry_at = time.monotonic() + REDIS_RETRY_SECONDS
        if not self._away:
            self._away = True
            log.warning("budgets: Redis (REDIS_URL) does not answer (%s); spend is counted on this host until it "
                        "does, and added to Redis then", type(error).__name__)

    async def _answered(self) -> None:
        if self._away:
            self._away = False
            log.warning("budgets: Redis (REDIS_URL) answers again; adding the spend counted here meanwhile")
            self._pending = True  # by this worker or another: the host's file holds it all
        if self._pending:
            self._pending = False
            await self._hand_over()

    async def _hand_over(self) -> None:
        """Move what LocalSpend counted (by any worker of this host) into Redis; put it back if Redis fails."""
        rows = self.local.take_all()
        for index, (key, window, nano) in enumerate(rows):
            try:
                # The window's length is not kept here: its counter lives as long as the longest window's would.
                await self._add_to_redis(key, window, nano, window + LONGEST_WINDOW_SECONDS if window else None)
            except (redis.RedisError, OSError) as error:
                for rest in rows[index:]:
                    self.local.add(*rest)
                self._pending = True
                self._failed(error)
                return


def open_spend(log_dir: str, redis_url: str = "") -> LocalSpend | SharedSpend:
    """The spend counters a proxy uses: Redis's when REDIS_URL is set, else this host's file."""
    local = LocalSpend(log_dir)
    return SharedSpend(redis_url, local) if redis_url else local


class SpendReader:
    """Synchronous reads of a key's spend in a window, for `keys.sh list` and /metrics: this host's file (if there is
    one yet), plus Redis's count when REDIS_URL is set; this host's count alone, and a note, while Redis does not
    answer. Its own SQLite connection and Redis client, made once: /metrics reads in a thread, off the event loop."""

    def __init__(self, log_dir: str | Path, redis_url: str = "", timeout: float = REDIS_TIMEOUT_SECONDS):
        self.local = LocalSpend(log_dir)
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=timeout, socket_connect_timeout=timeout) \
            if redis_url else None

    def read(self, key: str, window: int) -> tuple[int, str]:
        """(nano-dollars, "" or why only this host's count could be read)."""
        local = self.local.spent(key, window) if self.local.path.exists() else 0
        if self.redis is None:
            return local, ""
        try:
            return int(self.redis.get(redis_name(key, window)) or 0) + local, ""
        except (redis.RedisError, OSError) as error:
            return local, f"Redis does not answer ({type(error).__name__}): this host's count only"

    def spent(self, key: str, window: int) -> int:
        return self.read(key, window)[0]

