"""The streaming benchmark's load generator: N server-sent-event streams over asyncio + aiohttp, reported as JSON."""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import sys
import time

import aiohttp

# The first event carrying text: OpenAI's `"content":"x` or the business API's `"delta":"x` (empty ones skipped).
FIRST_CONTENT = re.compile(rb'"(?:content|delta)": ?"[^"]')
CAPPED = ("incomplete at cap", "no answer by cap")  # still open when the run's time was up


def parse_events(raw: bytes) -> tuple[str, bool, bool]:
    """(text, saw [DONE], saw an error event) of a whole SSE body, OpenAI's chunks or the business API's events."""
    parts, done, failed = [], False, False
    for line in raw.split(b"\n"):
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            done = True
            continue
        try:
            event = json.loads(data)
        except ValueError:
            failed = True
            continue
        if not isinstance(event, dict) or "error" in event:
            failed = True
        elif "choices" in event:
            parts += [(choice.get("delta") or {}).get("content") or "" for choice in event["choices"]]
        else:
            parts.append(event.get("delta") or "")
    return "".join(parts), done, failed


def error_kind(error: BaseException) -> str:
    """A short name for why a stream broke: refused, reset, or the exception's type."""
    if isinstance(error, aiohttp.ClientConnectorError):
        return "connection refused" if isinstance(error.os_error, ConnectionRefusedError) else "connect error"
    if isinstance(error, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, ConnectionResetError)):
        return "connection reset"
    if isinstance(error, aiohttp.ClientOSError) and error.errno == 104:
        return "connection reset"
    return type(error).__name__


class Streams:
    """One run: its spec, its clock, and how many streams are still waiting for their first content."""

    def __init__(self, spec: dict, session: aiohttp.ClientSession):
        self.spec, self.session = spec, session
        loop = asyncio.get_running_loop()
        self.loop = loop
        # The shared start on two clocks: the loop's (timers, in whole ms with uvloop) and perf_counter (timings).
        ahead = spec["start_at"] - time.time()
        self.start, self.clock_start = loop.time() + ahead, time.perf_counter() + ahead
        self.deadline = self.start + spec["ramp"] + spec["cap"]
        self.waiting = len(spec["indices"])
        self.peak_printed = False

    def settled(self) -> None:
        """A stream has sent content or ended; when none is left waiting, it is the peak of open streams."""
        self.waiting -= 1
        if self.waiting == 0:
            self.print_peak()

    def print_peak(self) -> None:
        if not self.peak_printed:
            self.peak_printed = True
            print("PEAK", flush=True)

    async def one(self, index: int, start: float) -> list:
        """Open stream `index` at `start` (loop time) and read it to the end or the deadline."""
        await asyncio.sleep(max(0.0, start - self.loop.time()))
        spec, begun = self.spec, time.perf_counter()
        body = spec["body"].replace("{i}", str(index)).encode()
        first = error = None
        parts: list[bytes] = []
        try:
            async with asyncio.timeout_at(self.deadline):
                async with self.session.post(spec["url"], data=body, headers=spec["headers"]) as response:
                    if response.status != 200:
                        error = f"HTTP {response.status}"
                        await response.read()
                    else:
                        async for data in response.content.iter_any():
                            parts.append(data)
                            if first is None and FIRST_CONTENT.search(data):
                                first = time.perf_counter() - begun
                                self.settled()
        except TimeoutError:
            error = "incomplete at cap" if first is not None else "no answer by cap"
        except (aiohttp.ClientError, OSError) as exc:
            error = error_kind(exc)
        total = None if error in CAPPED else time.perf_counter() - begun  # when it ended, well or not
        if first is None:
            self.settled()
        text, done, failed = parse_events(b"".join(parts))
        if error is None:
            expected = spec["expected"].replace("{i}", str(index))
            error = "error event" if failed else "no [DONE]" if not done else "wrong text" if text != expected else None
        return [begun - self.clock_start, first, total, len(text.split()), error]

    async def run(self) -> list[list]:
        indices, spec = self.spec["indices"], self.spec
        if spec.get("sequential"):
            return [await self.one(index, self.start) for index in indices]
        spread = spec["ramp"] / max(1, spec["streams"])
        tasks = [self.one(index, self.start + index * spread) for index in indices]
        fallback = self.loop.call_at(self.start + spec["ramp"] + spec["peak_after"], self.print_peak)
        try:
            return await asyncio.gather(*tasks)
        finally:
            fallback.cancel()


async def generate(spec: dict) -> dict:
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as session:
        streams = Streams(spec, session)
        records = await streams.run()
        streams.print_peak()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"records": records, "cpu_s": usage.ru_utime + usage.ru_stime}


def main() -> int:
    """One run, spoken over stdin and stdout with bench/streams.py, which starts this as a process of its own.

    So that the generator's CPU is its own and cheap: it prints READY, reads one JSON spec on stdin, opens the
    streams (spread evenly over `ramp` seconds from `start_at`, or one after another when `sequential`), keeps
    each stream's raw bytes (iter_any) and looks only for the first content piece while it runs; the events are
    parsed after the stream ends. It prints PEAK once every stream has sent content or ended (the moment to sample
    server memory), then one JSON line: per stream [start offset s, time to first content s | null, end s | null
    (still open at the cap), words delivered, error kind | null].
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop
    except ImportError:
        uvloop = None
    print("READY", flush=True)
    spec = json.loads(sys.stdin.readline())
    result = uvloop.run(generate(spec)) if uvloop else asyncio.run(generate(spec))
    write_line(json.dumps(result))
    return 0


def write_line(text: str) -> None:
    """The whole line to stdout, however long. After uvloop.run, print() into a full pipe silently kept only the
    first 64 KB (measured: a 2,000-stream run's records were cut at 65,536 bytes); plain write(2) calls do not."""
    sys.stdout.flush()
    data = (text + "\n").encode()
    while data:
        data = data[os.write(sys.stdout.fileno(), data):]

