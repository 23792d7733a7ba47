"""The adapter's only HTTP code: pooled clients, and low-level failures translated once into AdapterError.

The proxy's path (async) uses aiohttp: it costs about a third of httpx's CPU per call (docs/performance-notes.md).
In-process synchronous calls (litellm.completion) use httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from typing import Any, AsyncIterator, Iterator, Mapping

import aiohttp
import httpx

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
_sync_client: httpx.Client | None = None


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


def _sync() -> httpx.Client:
    global _sync_client
    if _sync_client is None:
        limits = httpx.Limits(max_connections=_max_connections, keepalive_expiry=IDLE_SECONDS)
        _sync_client = httpx.Client(limits=limits)
    return _sync_client


def _error_message(body: bytes) -> str:
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


def _refuse_error_status(backend: str, status: int, headers: Mapping[str, str], body: bytes) -> None:
    if status >= 400:
        raise from_backend_status(backend, status, _error_message(body), headers.get("retry-after"))


def _decode(backend: str, status: int, headers: Mapping[str, str], body: bytes) -> Any:
    _refuse_error_status(backend, status, headers, body)
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_answer(backend, f"the body is not JSON (content-type {headers.get('content-type')!r})") from None


def _refuse_non_stream(backend: str, status: int, headers: Mapping[str, str], body: bytes) -> None:
    """A stream that did not start as server-sent events: an error status or another content type."""
    _refuse_error_status(backend, status, headers, body)
    raise bad_answer(backend, f"asked for a stream, got content-type {headers.get('content-type', '')!r}")


def _is_event_stream(status: int, headers: Mapping[str, str]) -> bool:
    return status < 400 and headers.get("content-type", "").startswith("text/event-stream")


def _event_data(line: str) -> str | None:
    return line[5:].lstrip() if line.startswith("data:") else None


def _aiohttp_timeout(seconds: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=None, connect=min(seconds, 10.0), sock_read=seconds)


def _httpx_timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, 10.0))


async def apost_json(backend: str, url: str, headers: dict, body: dict, timeout: float) -> Any:
    """POST JSON and return the decoded answer; the whole exchange is bounded by `timeout` seconds.

    The wait for a free connection comes first and is not counted (backpressure, see _slots).
    """
    async with _slot():
        return await _post_json(backend, url, headers, body, timeout)


async def _post_json(backend: str, url: str, headers: dict, body: dict, timeout: float) -> Any:
    try:
        async with asyncio.timeout(timeout):
            async with _session().post(url, json=body, headers=headers, timeout=_aiohttp_timeout(timeout)) as response:
                return _decode(backend, response.status, response.headers, await response.read())
    except TimeoutError as error:  # asyncio.timeout, and aiohttp's own timeouts, are TimeoutErrors
        raise timed_out(backend, timeout) from error
    except aiohttp.ClientError as error:
        raise unreachable(backend, type(error).__name__) from error


async def astream_event_batches(
    backend: str, url: str, headers: dict, body: dict, timeout: float
) -> AsyncIterator[list[str]]:
    """POST JSON and yield, per read, the data of every server-sent event that has arrived since the last one.

    A consumer that keeps up gets one event per batch, the moment it arrives; a slow one gets everything that
    waited in the buffer (adaptive coalescing: the handlers merge a batch into one chunk, see coalesce.py).
    `timeout` bounds the connect, the wait for the first byte and every gap between reads, not the wait for a
    free connection (backpressure, see _slots). Closing the generator early (the client went away) closes the
    upstream connection and frees its slot.
    """
    async with _slot(), contextlib.aclosing(_stream_event_batches(backend, url, headers, body, timeout)) as batches:
        async for batch in batches:  # aclosing: a client that leaves closes the upstream stream now, not at GC
            yield batch


class _EventSplitter:
    """Bytes as they arrive → the data of the complete server-sent event lines among them."""

    def __init__(self):
        self._pending = b""

    def feed(self, chunk: bytes) -> list[str]:
        # Split lines ourselves: aiohttp's line reader refuses lines over 64 KB.
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        return [data for line in lines if (data := _event_data(line.decode("utf-8").rstrip("\r"))) is not None]


async def _stream_event_batches(
    backend: str, url: str, headers: dict, body: dict, timeout: float
) -> AsyncIterator[list[str]]:
    started = False
    try:
        async with _session().post(url, json=body, headers=headers, timeout=_aiohttp_timeout(timeout)) as response:
            if not _is_event_stream(response.status, response.headers):
                _refuse_non_stream(backend, response.status, response.headers, await response.read())
            splitter = _EventSplitter()
            # iter_any hands over everything buffered since the last read, however many events that is.
            async for chunk in response.content.iter_any():
                if batch := splitter.feed(chunk):
                    started = True
                    yield batch
    except TimeoutError as error:
        raise timed_out(backend, timeout) from error
    except aiohttp.ClientError as error:
        if started:
            raise bad_answer(backend, f"the connection broke mid-stream ({type(error).__name__})") from error
        raise unreachable(backend, type(error).__name__) from error


def post_json(backend: str, url: str, headers: dict, body: dict, timeout: float) -> Any:
    """Blocking twin of apost_json for in-process litellm.completion(); never used by the proxy."""
    try:
        response = _sync().post(url, json=body, headers=headers, timeout=_httpx_timeout(timeout))
    except httpx.TimeoutException as error:
        raise timed_out(backend, timeout) from error
    except httpx.TransportError as error:
        raise unreachable(backend, type(error).__name__) from error
    return _decode(backend, response.status_code, response.headers, response.content)


def stream_event_batches(backend: str, url: str, headers: dict, body: dict, timeout: float) -> Iterator[list[str]]:
    """Blocking twin of astream_event_batches for in-process litellm.completion(stream=True)."""
    started = False
    try:
        with _sync().stream("POST", url, json=body, headers=headers, timeout=_httpx_timeout(timeout)) as response:
            if not _is_event_stream(response.status_code, response.headers):
                _refuse_non_stream(backend, response.status_code, response.headers, response.read())
            splitter = _EventSplitter()
            for chunk in response.iter_bytes():
                if batch := splitter.feed(chunk):
                    started = True
                    yield batch
    except httpx.TimeoutException as error:
        raise timed_out(backend, timeout) from error
    except httpx.TransportError as error:
        if started:
            raise bad_answer(backend, f"the connection broke mid-stream ({type(error).__name__})") from error
        raise unreachable(backend, type(error).__name__) from error
