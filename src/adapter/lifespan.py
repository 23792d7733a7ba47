"""What the proxy does around LiteLLM's start and stop: load lazy parts, tune the garbage collector, close sessions."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable

from . import client

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

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


def tuning_gc_after_startup(send: Send) -> Send:
    """Once LiteLLM has started, move everything alive into the permanent generation and collect less often."""

    async def wrapped(message: dict) -> None:
        if message["type"] == "lifespan.startup.complete":
            load_lazy_parts()
            gc.collect()
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
        await send(message)

    return wrapped


def closing_sessions_on_shutdown(receive: Receive) -> Receive:
    """Close the handlers' pooled HTTP session when the server shuts down (no unclosed-session warnings)."""

    async def wrapped() -> dict:
        message = await receive()
        if message["type"] == "lifespan.shutdown":
            await client.aclose()
        return message

    return wrapped
