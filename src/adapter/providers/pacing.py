"""How often a relayed stream may send a chunk: under load, pieces wait a little and go out merged, same text.

Every chunk costs the proxy the same (~0.2-0.3 ms here: LiteLLM's stream wrapper, hooks and logging, the
serialisation, the middlewares' send chain, the socket write), whatever it carries. A worker relaying hundreds of
fast streams spends its core on chunk overhead, starts new streams late and falls behind on all of them. So each
worker shares a budget of chunks per second among its open streams: a stream sends at most one chunk every
open streams / budget seconds (never longer than LONGEST_PACE). With few streams the interval is far below
the gap between pieces, so nothing waits; the first content of a stream and its end never wait.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import contextmanager
from typing import Iterator


LONGEST_PACE = 0.25  # seconds: at most 4 updates a second however loaded, and a slower stream never waits


class Pacer:
    """The open streams of this process and the interval each may send chunks at."""

    def __init__(self, chunks_per_second: float, longest: float = LONGEST_PACE):
        self.chunks_per_second = chunks_per_second  # 0: no pacing
        self.longest = longest
        self.open = 0

    def interval(self) -> float:
        if self.chunks_per_second <= 0:
            return 0.0
        return min(self.open / self.chunks_per_second, self.longest)

    @contextmanager
    def stream(self) -> Iterator[StreamPace]:
        """One relayed stream, counted while it is open."""
        self.open += 1
        try:
            yield StreamPace(self)
        finally:
            self.open -= 1


class StreamPace:
    """One stream's clock: when it last sent content, and the wait before it reads for its next chunk."""

    SHORTEST = 0.002  # below this a timer costs more than the chunk it saves

    def __init__(self, pacer: Pacer):
        self.pacer = pacer
        self.sent_at: float | None = None  # None until the stream's first content: that one never waits

    def sent(self) -> None:
        self.sent_at = time.monotonic()

    async def wait(self) -> None:
        """Sleep out the rest of this stream's interval, so that what arrives meanwhile goes out as one chunk."""
        if self.sent_at is None:
            return
        wait = self.sent_at + self.pacer.interval() - time.monotonic()
        if wait >= self.SHORTEST:
            await asyncio.sleep(wait)
