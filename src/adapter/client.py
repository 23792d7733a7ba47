"""The adapter's only HTTP code: pooled clients, and low-level failures translated once into AdapterError."""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any, AsyncIterator, Iterator

import httpx

from .errors import bad_answer, from_backend_status, timed_out, unreachable

POOL_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=30)

# One pooled async client per event loop: a pool's connections belong to the loop that opened them,
# and in-process callers (asyncio.run in scripts and tests) may create several loops over time.
_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]" = weakref.WeakKeyDictionary()
_sync_client: httpx.Client | None = None


def _async_client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = _async_clients[loop] = httpx.AsyncClient(limits=POOL_LIMITS)
    return client


def _sync() -> httpx.Client:
    global _sync_client
    if _sync_client is None:
        _sync_client = httpx.Client(limits=POOL_LIMITS)
    return _sync_client


def _decode(backend: str, response: httpx.Response) -> Any:
    if response.status_code >= 400:
        retry_after = response.headers.get("retry-after")
        raise from_backend_status(backend, response.status_code, _error_message(response), retry_after)
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        content_type = response.headers.get("content-type")
        raise bad_answer(backend, f"the body is not JSON (content-type {content_type!r})") from None


def _error_message(response: httpx.Response) -> str:
    """The backend's own error message when it sent one in OpenAI shape, else its raw text."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    return response.text


def _timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, 10.0))


async def apost_json(backend: str, url: str, headers: dict, body: dict, timeout: float) -> Any:
    """POST JSON and return the decoded answer; the whole exchange is bounded by `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            response = await _async_client().post(url, json=body, headers=headers, timeout=_timeout(timeout))
    except (TimeoutError, httpx.TimeoutException) as error:
        raise timed_out(backend, timeout) from error
    except httpx.TransportError as error:
        raise unreachable(backend, type(error).__name__) from error
    return _decode(backend, response)


def post_json(backend: str, url: str, headers: dict, body: dict, timeout: float) -> Any:
    """Blocking twin of apost_json for in-process litellm.completion(); never used by the proxy."""
    try:
        response = _sync().post(url, json=body, headers=headers, timeout=_timeout(timeout))
    except httpx.TimeoutException as error:
        raise timed_out(backend, timeout) from error
    except httpx.TransportError as error:
        raise unreachable(backend, type(error).__name__) from error
    return _decode(backend, response)



def _check_stream_start(backend: str, response: httpx.Response) -> None:
    """Refuse a stream that did not start as server-sent events (error status or another content type).

    Call after reading the body: only error answers and non-streams are read whole.
    """
    if response.status_code >= 400:
        retry_after = response.headers.get("retry-after")
        raise from_backend_status(backend, response.status_code, _error_message(response), retry_after)
    content_type = response.headers.get("content-type", "")
    raise bad_answer(backend, f"asked for a stream, got content-type {content_type!r}")


def _is_event_stream(response: httpx.Response) -> bool:
    return response.status_code < 400 and response.headers.get("content-type", "").startswith("text/event-stream")


def _event_data(line: str) -> str | None:
    return line[5:].lstrip() if line.startswith("data:") else None


def _stream_failure(backend: str, timeout: float, error: httpx.HTTPError, started: bool):
    if isinstance(error, httpx.TimeoutException):
        return timed_out(backend, timeout)
    if started:
        return bad_answer(backend, f"the connection broke mid-stream ({type(error).__name__})")
    return unreachable(backend, type(error).__name__)


async def astream_events(backend: str, url: str, headers: dict, body: dict, timeout: float) -> AsyncIterator[str]:
    """POST JSON and yield each server-sent event's data as it arrives.

    `timeout` bounds the connect, the wait for the first byte and every gap between events. Closing
    the generator early (the client went away) closes the upstream connection.
    """
    started = False
    try:
        async with _async_client().stream("POST", url, json=body, headers=headers, timeout=_timeout(timeout)) as response:
            if not _is_event_stream(response):
                await response.aread()
                _check_stream_start(backend, response)
            async for line in response.aiter_lines():
                data = _event_data(line)
                if data is not None:
                    started = True
                    yield data
    except httpx.TransportError as error:
        raise _stream_failure(backend, timeout, error, started) from error


def stream_events(backend: str, url: str, headers: dict, body: dict, timeout: float) -> Iterator[str]:
    """Blocking twin of astream_events for in-process litellm.completion(stream=True)."""
    started = False
    try:
        with _sync().stream("POST", url, json=body, headers=headers, timeout=_timeout(timeout)) as response:
            if not _is_event_stream(response):
                response.read()
                _check_stream_start(backend, response)
            for line in response.iter_lines():
                data = _event_data(line)
                if data is not None:
                    started = True
                    yield data
    except httpx.TransportError as error:
        raise _stream_failure(backend, timeout, error, started) from error
