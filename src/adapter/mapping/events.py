"""Stream framing: a response body's bytes, as they arrive, → decoded JSON events (SSE data lines or NDJSON lines)."""

from __future__ import annotations

import codecs
import json
from typing import Any

from ..upstream.errors import AdapterError, bad_answer

GENERIC_BACKEND = "the backend"


class EventReader:
    """A response body's bytes, as they arrive → the decoded JSON events ("sse" data lines or "ndjson" lines).

    Bytes may be cut anywhere, inside a line or a UTF-8 character: the unfinished part waits for the next feed.
    An sse data equal to `done` ends the stream: `.done` turns true and later bytes are ignored.
    """

    def __init__(self, format: str, done: str | None = None, backend: str = GENERIC_BACKEND):
        if format not in ("sse", "ndjson"):
            raise ValueError(f"stream format must be sse or ndjson, not {format!r}")
        self.format, self.sentinel, self.backend = format, done, backend
        self.done = False
        self.failure: AdapterError | None = None  # an unreadable event that came after events returned with it
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._line = ""  # text after the last newline
        self._data: list[str] = []  # sse: the data lines of the event being read

    def feed(self, data: bytes) -> list:
        """The events completed by these bytes."""
        if self.done:
            return []
        text = self._decoder.decode(data)
        if "\n" not in text:
            self._line += text  # the common case of a cut inside a line costs no split
            return []
        *lines, self._line = (self._line + text).split("\n")
        return self._read(lines)

    def close(self) -> list:
        """The events left when the body ends: a last line without its newline, an sse event without its blank line."""
        if self.done:
            return []
        tail = self._line + self._decoder.decode(b"", final=True)
        self._line = ""
        return self._read([tail, ""] if self.format == "sse" else [tail])

    def _read(self, lines: list[str]) -> list:
        events: list = []
        try:
            self._read_into(events, lines)
        except AdapterError as error:
            if not events:
                raise
            # The events before the broken one are handed over first; the failure waits in `failure`.
            self.failure, self.done = error, True
        return events

    def _read_into(self, events: list, lines: list[str]) -> None:
        for line in lines:
            line = line.rstrip("\r")
            if self.format == "ndjson":
                if line.strip():
                    events.append(self._decoded(line))
                continue
            if line.startswith("data:"):
                self._data.append(line[6:] if line.startswith("data: ") else line[5:])
            elif not line and self._data:  # a blank line dispatches the event (other sse fields are ignored)
                data, self._data = "\n".join(self._data), []
                if self.sentinel is not None and data.strip() == self.sentinel:
                    self.done = True
                    return
                events.append(self._decoded(data))

    def _decoded(self, text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            raise bad_answer(self.backend, f"a stream event is not JSON: {text[:80]!r}") from None
