"""Real image and PDF files for tests, made on the fly with Pillow and pypdf."""

from __future__ import annotations

import base64
import io
import os

from PIL import Image
from pypdf import PdfWriter


def image_bytes(image_format: str, size: tuple[int, int] = (8, 8), noise: bool = False) -> bytes:
    """An RGB image in `image_format` (PNG, JPEG, GIF, WEBP...); `noise` makes it incompressible."""
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (200, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def pdf_bytes(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def data_url(media_type: str, raw: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(raw).decode('ascii')}"


def png_url(**kwargs) -> str:
    return data_url("image/png", image_bytes("PNG", **kwargs))


def jpeg_url() -> str:
    return data_url("image/jpeg", image_bytes("JPEG"))


def gif_url() -> str:
    return data_url("image/gif", image_bytes("GIF"))


def oversize_png_url() -> str:
    """A noise PNG a little over the 4 MB image limit."""
    return png_url(size=(1300, 1200), noise=True)


def pdf_url(pages: int) -> str:
    return data_url("application/pdf", pdf_bytes(pages))


def image_part(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


def document_part(url: str) -> dict:
    return {"type": "document", "document_url": {"url": url}}
