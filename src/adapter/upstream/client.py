"""The adapter's only HTTP code: a pooled aiohttp client, and low-level failures translated once into AdapterError.

aiohttp costs about a third of httpx's CPU per call (docs/performance-notes.md). Async only: the proxy calls the
providers' async entry points, and so does in-process use (litellm.acompletion & co.).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Mapping

import aiohttp

from .errors import bad_answer, from_backend_status, timed_out, unreachable

DEFAULT_MAX_CONNECTIONS = 4096  # per proxy worker; BUSINESS_API_MAX_CONNECTIONS (configure())
IDLE_SECONDS = 30  # below the backends' keep-alive (75 s), so a connection is never reused as it is closed

_max_connections = DEFAULT_MAX_CONNECTIONS
# One pooled session per event loop: a pool's connections belong to the loop that opened them, and
# in-process callers (asyncio.run in scripts and tests) may create several loops over time.
_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession]" = weakref.WeakKeyDictionary()
# A slot per connection the pool may open. A call waits for a slot *before* its timeout starts: when every
# connection is busy, requests queue (backpressure) instead of failing with a timeout they did not cause.
_slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class BackendCall:
    """One HTTP call to a backend: who answers (as messages name it), where, with which headers and body, how long."""

    backend: str
    url: str
    headers: dict
    body: Any
    timeout: float


def configure(max_connections: int) -> None:
    """How many backend connections each event loop's pool may hold at once (set once, at start-up)."""
    global _max_connections
    _max_connections = max_connections


def _session() -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        connector = aiohttp.TCPConnector(limit=_max_connections, keepalive_timeout=IDLE_SECONDS)
        session = _sessions[loop] = aiohttp.ClientSession(connector=connector, json_serialize=json.dumps)
    return session


def _slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slot = _slots.get(loop)
    if slot is None:
        slot = _slots[loop] = asyncio.Semaphore(_max_connections)
    return slot


async def aclose() -> None:
    """Close this event loop's pooled session; call before the loop ends (the proxy does, at shutdown)."""
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None:
        await session.close()


def error_text(body: bytes) -> str:
    """The backend's own error message when it sent one in OpenAI shape, else its raw text."""
    text = body.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    return text


# How a backend's error body becomes the message of the error raised: the mapped provider passes one that runs
# the mapping's `error` expression.
Describe = Callable[[bytes], str]


def _refuse_error_status(backend: str, status: int, headers: Mapping[str, str], body: bytes, describe: Describe) -> None:
    if status >= 400:
        raise from_backend_status(backend, status, describe(body), headers.get("retry-after"))


def _decode(backend: str, status: int, headers: Mapping[str, str], body: bytes, describe: Describe) -> Any:
    _refuse_error_status(backend, status, headers, body, describe)
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_answer(backend, f"the body is not JSON (content-type {headers.get('content-type')!r})") from None


def _refuse_non_stream(backend: str, status: int, headers: Mapping[str, str], body: bytes, describe: Describe) -> None:
    """A stream that did not start as it should: an error status, or not server-sent events when they were asked for."""
    _refuse_error_status(backend, status, headers, body, describe)
    raise bad_answer(backend, f"asked for a stream, got content-type {headers.get('content-type', '')!r}")


def _is_stream(status: int, headers: Mapping[str, str], event_stream: bool) -> bool:
    """Any 2xx body streams for NDJSON (backends label it variously); SSE must say text/event-stream."""
    if status >= 400:
        return False
    return not event_stream or headers.get("content-type", "").startswith("text/event-stream")


def _aiohttp_timeout(seconds: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=None, connect=min(seconds, 10.0), sock_read=seconds)


async def apost_json(call: BackendCall, describe: Describe = error_text) -> Any:
    """POST JSON and return the decoded answer; the whole exchange is bounded by `call.timeout` seconds.

    The wait for a free connection comes first and is not counted (backpressure, see _slots).
    """
    async with _slot():
        return await _post_json(call, describe)


async def _post_json(call: BackendCall, describe: Describe) -> Any:
    backend, timeout = call.backend, call.timeout
    try:
        async with asyncio.timeout(timeout):
            async with _session().post(call.url, json=call.body, headers=call.headers,
                                       timeout=_aiohttp_timeout(timeout)) as response:
                return _decode(backend, response.status, response.headers, await response.read(), describe)
    except TimeoutError as error:  # asyncio.timeout, and aiohttp's own timeouts, are TimeoutErrors
        raise timed_out(backend, timeout) from error
    except aiohttp.ClientError as error:
        raise unreachable(backend, type(error).__name__) from error


async def astream_reads(call: BackendCall, event_stream: bool = True,
                        describe: Describe = error_text) -> AsyncIterator[bytes]:
    """POST JSON and yield the streamed body as it arrives: per read, every byte buffered since the last one.

    A consumer that keeps up gets each event the moment it arrives; a slow one gets everything that waited
    (adaptive coalescing: the provider merges what one read holds into one chunk, see openai/shapes.py).
    `event_stream`: the answer must be server-sent events (text/event-stream). `call.timeout` bounds the connect,
    the wait for the first byte and every gap between reads, not the wait for a free connection (backpressure,
    see _slots). Closing the generator early (the client went away) closes the upstream connection and frees
    its slot.
    """
    reads = _stream_reads(call, event_stream, describe)
    async with _slot(), contextlib.aclosing(reads) as chunks:  # aclosing: a client that leaves closes upstream now
        async for chunk in chunks:
            yield chunk


async def _stream_reads(call: BackendCall, event_stream: bool, describe: Describe) -> AsyncIterator[bytes]:
    backend, timeout, started = call.backend, call.timeout, False
    try:
        async with _session().post(call.url, json=call.body, headers=call.headers,
                                   timeout=_aiohttp_timeout(timeout)) as response:
            if not _is_stream(response.status, response.headers, event_stream):
                _refuse_non_stream(backend, response.status, response.headers, await response.read(), describe)
            # iter_any hands over everything buffered since the last read, however many events that is.
            async for chunk in response.content.iter_any():
                started = True
                yield chunk
    except TimeoutError as error:
        raise timed_out(backend, timeout) from error
    except aiohttp.ClientError as error:
        if started:
            raise bad_answer(backend, f"the connection broke mid-stream ({type(error).__name__})") from error
        raise unreachable(backend, type(error).__name__) from error
