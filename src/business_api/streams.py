"""Server-sent events for the mock's streams (/api/process and /v1/chat/completions), and stream counters."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable, Iterator

from flask import Response, stream_with_context

from . import mock


class StreamCounters:
    """Per-process counts, shown on /health, so tests can see that an abandoned stream was closed."""

    def __init__(self):
        self._lock = threading.Lock()
        self.open = self.completed = self.aborted = 0

    def change(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def snapshot(self) -> dict:
        with self._lock:
            return {"open": self.open, "completed": self.completed, "aborted": self.aborted}


COUNTERS = StreamCounters()


def sse(payload) -> str:
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return f"data: {data}\n\n"


MID_STREAM_ERROR = {"error": {"message": "mock failure mid-stream requested by [mock:fail_after]",
                              "type": "server_error", "param": None, "code": "500"}}


def events(pieces: list, piece_event: Callable[[Any], Any], tail: list, delay_ms: int, fail_after: int | None,
           head: tuple = ()) -> Iterator[str]:
    """The head events, one event per piece (delay_ms apart), then the tail events; or an error event mid-way.

    piece_event formats a piece only when it is sent, so an open stream holds its pieces and not their events.
    """
    COUNTERS.change(open=1)
    finished = False
    try:
        yield from map(sse, head)
        for index, piece in enumerate(pieces):
            if fail_after is not None and index == fail_after:
                yield sse(MID_STREAM_ERROR)
                finished = True
                return
            if index and delay_ms:
                time.sleep(delay_ms / 1000)
            yield sse(piece_event(piece))
        yield from map(sse, tail)
        finished = True
    finally:
        # A client that goes away makes the next write fail and closes this generator early.
        COUNTERS.change(open=-1, **({"completed": 1} if finished else {"aborted": 1}))


def chunks(answer: str, tool_calls: tuple[dict, ...] = ()) -> list[dict]:
    """Text pieces, then each tool call: its id and name with the first half of its arguments, then the rest."""
    pieces = [] if tool_calls and not answer else [{"delta": piece} for piece in mock.split_pieces(answer)]
    for index, call in enumerate(tool_calls):
        # At least two fragments, so clients' code that joins argument deltas is exercised ("{}" -> "{", "}").
        middle = max(1, len(call["arguments"]) // 2)
        head, tail = call["arguments"][:middle], call["arguments"][middle:]
        pieces.append({"tool_call": {"index": index, "id": call["id"], "name": call["name"], "arguments": head}})
        pieces.append({"tool_call": {"index": index, "arguments": tail}})
    return pieces


def event_stream(body: Iterator[str]) -> Response:
    """A text/event-stream response that proxies must not buffer."""
    return Response(stream_with_context(body), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def stream_response(request_id: str, answer: str, final: dict, delay_ms: int, fail_after: int | None,
                    tool_calls: tuple[dict, ...] = ()) -> Response:
    """/api/process's stream: {"request_id", "delta" | "tool_call"} per piece, then the final event and [DONE]."""
    tail = [{"request_id": request_id, "delta": "", **final}, "[DONE]"]
    return event_stream(events(chunks(answer, tool_calls), lambda chunk: {"request_id": request_id, **chunk},
                               tail, delay_ms, fail_after))
