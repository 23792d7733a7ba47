"""What the proxy does around LiteLLM's start and stop: wait for Redis, load lazy parts, tune LiteLLM and the GC."""

from __future__ import annotations

import asyncio
import gc
import logging
import time

import redis.asyncio

from ..upstream import client
from .. import tuning
from .asgi import Receive, Send

log = logging.getLogger("adapter.lifespan")

# LiteLLM takes its shared Redis at start-up only if it answers a ping then; otherwise the worker counts limits
# alone until it is started again. A Redis started at the same time as the proxies (a host's boot, a compose
# up, a cluster restart) usually answers within seconds: a worker waits this long for it before LiteLLM starts.
REDIS_START_WAIT_SECONDS = 20

# LiteLLM allocates many container objects per request, and CPython's default first-generation threshold (700)
# runs the cyclic collector every 700 net allocations. Freezing what exists after start-up also keeps the
# collector from rescanning the proxy's long-lived objects. Measured: docs/performance-notes.md.
GC_THRESHOLDS = (50_000, 10, 10)


def load_lazy_parts() -> None:
    """Load now what LiteLLM would load on a worker's first request: its tokenizer (~0.2 s of CPU).

    Loaded lazily, it stalls the first burst of requests behind one import lock; loaded here, it also lands in
    the permanent generation frozen below.
    """
    from litellm.main import encoding  # noqa: F401  (the module's lazy attribute: importing it loads cl100k_base)


def tuning_after_startup(send: Send) -> Send:
    """Once LiteLLM has started: its work that buys nothing here taken away (tuning/), and everything alive moved
    into the permanent generation, collected less often."""

    async def wrapped(message: dict) -> None:
        if message["type"] == "lifespan.startup.complete":
            load_lazy_parts()
            tuning.install()
            gc.collect()
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
        await send(message)

    return wrapped


def closing_sessions_on_shutdown(receive: Receive) -> Receive:
    """Close the providers' pooled HTTP session when the server shuts down (no unclosed-session warnings)."""

    async def wrapped() -> dict:
        message = await receive()
        if message["type"] == "lifespan.shutdown":
            await client.aclose()
        return message

    return wrapped


async def redis_answers(url: str, timeout: float = 2.0) -> bool:
    client = redis.asyncio.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(await client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def wait_for_redis(url: str, wait: float = REDIS_START_WAIT_SECONDS) -> None:
    """Return once Redis answers, or after `wait` seconds (LiteLLM then warns and counts in memory)."""
    deadline = time.monotonic() + wait
    if await redis_answers(url):
        return
    log.warning("Redis (REDIS_URL) does not answer; waiting up to %d s for it before starting", wait)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        if await redis_answers(url):
            log.warning("Redis (REDIS_URL) answers now; starting with shared limits")
            return


def waiting_for_redis(receive: Receive, url: str) -> Receive:
    """Hold LiteLLM's start-up until REDIS_URL's Redis answers (bounded): see REDIS_START_WAIT_SECONDS."""
    if not url:
        return receive

    async def wrapped() -> dict:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await wait_for_redis(url)
        return message

    return wrapped
