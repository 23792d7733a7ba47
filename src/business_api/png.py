"""PNG encoding in pure Python (zlib + struct), so the mock needs no imaging library at run time."""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
BIT_DEPTH = 8
COLOUR_TYPE_RGB = 2
NO_FILTER = b"\x00"  # each scanline starts with its filter type


def encode_rgb(width: int, rows: list[bytes]) -> bytes:
    """A PNG of `len(rows)` scanlines, each `width` RGB pixels (3 bytes apiece)."""
    if width < 1 or not rows or any(len(row) != 3 * width for row in rows):
        raise ValueError("every row must hold exactly width * 3 bytes, and there must be at least one row")
    header = struct.pack(">IIBBBBB", width, len(rows), BIT_DEPTH, COLOUR_TYPE_RGB, 0, 0, 0)
    raw = b"".join(NO_FILTER + row for row in rows)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
