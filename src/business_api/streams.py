"""Server-sent events for /api/process with "stream": true (text and tool-call chunks), and stream counters."""

from __future__ import annotations

import json
import threading
import time
from typing import Iterator

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


def events(request_id: str, chunks: list[dict], final: dict, delay_ms: int, fail_after: int | None) -> Iterator[str]:
    """One event per chunk (delay_ms apart), then the final event and [DONE]; or an error event mid-way."""
    COUNTERS.change(open=1)
    finished = False
    try:
        for index, chunk in enumerate(chunks):
            if fail_after is not None and index == fail_after:
                yield sse({"error": {"message": "mock failure mid-stream requested by [mock:fail_after]",
                                     "type": "server_error", "param": None, "code": "500"}})
                finished = True
                return
            if index and delay_ms:
                time.sleep(delay_ms / 1000)
            yield sse({"request_id": request_id, **chunk})
        yield sse({"request_id": request_id, "delta": "", **final})
        yield sse("[DONE]")
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


def stream_response(request_id: str, answer: str, final: dict, delay_ms: int, fail_after: int | None,
                    tool_calls: tuple[dict, ...] = ()) -> Response:
    body = stream_with_context(events(request_id, chunks(answer, tool_calls), final, delay_ms, fail_after))
    return Response(body, mimetype="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
