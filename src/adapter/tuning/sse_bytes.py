"""LiteLLM's serialized stream chunk handed on at its own size: orjson's bytes keep the 4 KB buffer they were made in.

orjson writes into a buffer of at least 4 KB and returns it as the bytes object without shrinking it, so a 300-byte
chunk holds 4 KB of memory. LiteLLM's SSE generator keeps the last one in a local while the stream waits for its
next chunk: ~4 KB per open stream (tracemalloc, docs/performance-notes.md). A copy of the bytes costs well under a
microsecond for a chunk's few hundred bytes and is the same value.
"""

from __future__ import annotations

import litellm.proxy.proxy_server as proxy_server

SERIALIZING = proxy_server._serialize_streaming_chunk


def serialize_streaming_chunk(chunk):
    data = SERIALIZING(chunk)
    return bytes(memoryview(data)) if type(data) is bytes else data


def install() -> None:
    """The SSE generator looks the function up in its module at every chunk (once per process)."""
    proxy_server._serialize_streaming_chunk = serialize_streaming_chunk
