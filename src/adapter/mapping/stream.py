"""One mapped backend stream, bytes in, LiteLLM chunks out; the end of the answer goes out when the body ends.

Backends end their answers differently: a last event with the finish reason and usage, usage in an event after
the finish (OpenAI-style), or nothing at all. The text and tool calls are relayed as they arrive; the finish
reason and usage seen on the way are kept and sent once, in the last chunk, when the body ends or the `done`
sentinel comes. An event carrying an error ends the stream with that error, after the chunks read before it.
"""

from __future__ import annotations

from ..openai.shapes import stream_chunk
from ..upstream.errors import AdapterError
from .apply import stream_chunks
from .events import EventReader
from .spec import StreamSpec


class MappedStream:
    def __init__(self, spec: StreamSpec, backend: str):
        self.reader = EventReader(spec.format, spec.done, backend)
        self.fields, self.backend = spec.fields, backend
        self.finish_reason: str | None = None
        self.usage: dict | None = None
        self.called_tools = False
        self.error: AdapterError | None = None  # raise it after sending the chunks returned with it

    @property
    def ended(self) -> bool:
        """The sentinel came, or an event failed: nothing more will be read."""
        return self.reader.done or self.error is not None

    def feed(self, data: bytes) -> list[dict]:
        """The chunks of the events these bytes complete (text and tool calls, never the end of the answer)."""
        if self.error is not None:
            return []
        try:
            events = self.reader.feed(data)
        except AdapterError as error:
            self.error = error
            return []
        chunks = self._chunks(events)
        self.error = self.error or self.reader.failure
        return chunks

    def close(self) -> list[dict]:
        """The chunks left when the body ended, and the last chunk (finish reason and usage)."""
        chunks = []
        if self.error is None:
            try:
                chunks = self._chunks(self.reader.close())
            except AdapterError as error:
                self.error = error
            self.error = self.error or self.reader.failure
        if self.error is not None:
            return chunks
        finish = self.finish_reason or "stop"
        # Some backends (Ollama) report "stop" after calling tools; OpenAI clients look for "tool_calls".
        if self.called_tools and finish == "stop":
            finish = "tool_calls"
        return chunks + [stream_chunk("", finish, self.usage)]

    def _chunks(self, events: list) -> list[dict]:
        chunks: list[dict] = []
        for event in events:
            try:
                found = stream_chunks(self.fields, event, self.backend)
            except AdapterError as error:
                self.error = error
                break
            chunks += [self._relayed(chunk) for chunk in found]
        return [chunk for chunk in chunks if chunk["text"] or chunk["tool_use"]]

    def _relayed(self, chunk: dict) -> dict:
        """`chunk` without its end-of-answer marks, which are kept for the last chunk."""
        if chunk["tool_use"]:
            self.called_tools = True
        if not chunk["is_finished"]:
            return chunk
        self.finish_reason = chunk["finish_reason"] or self.finish_reason
        self.usage = chunk["usage"] or self.usage
        return {**chunk, "is_finished": False, "finish_reason": "", "usage": None}
