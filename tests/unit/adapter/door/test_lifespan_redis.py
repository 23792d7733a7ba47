"""The start-up wait for REDIS_URL's Redis: bounded, and nothing at all without REDIS_URL."""

import asyncio
import time

from adapter.door import lifespan


async def startup() -> dict:
    return {"type": "lifespan.startup"}


def test_without_redis_url_the_receive_is_untouched():
    assert lifespan.waiting_for_redis(startup, "") is startup


def test_an_unreachable_redis_is_waited_for_only_as_long_as_allowed(caplog):
    unused_port_url = "redis://127.0.0.1:9/0"  # port 9 (discard): nothing listens on loopback
    began = time.monotonic()
    asyncio.run(lifespan.wait_for_redis(unused_port_url, wait=1.0))
    assert 1.0 <= time.monotonic() - began < 5
    assert "does not answer; waiting up to 1 s" in caplog.text
