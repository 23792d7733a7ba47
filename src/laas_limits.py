"""Wanted LaaS's limits on images and PDFs, checked by the adapter before sending and by the LaaS mock on receipt."""

from __future__ import annotations

import base64
import binascii
import io
import re

MAX_IMAGE_BYTES = 4 * 1024 * 1024
MAX_IMAGES_PER_MESSAGE = 3
MAX_PDF_BYTES = 32 * 1024 * 1024
MAX_PDF_PAGES = 20

IMAGE_SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
# Only to name what was sent instead; none of these is accepted.
OTHER_SIGNATURES = {b"GIF87a": "GIF", b"GIF89a": "GIF", b"BM": "BMP", b"II*\x00": "TIFF", b"MM\x00*": "TIFF"}
PDF_SIGNATURE = b"%PDF-"
DATA_URL = re.compile(r"data:(?P<media>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[^,;]*)*?);base64,(?P<data>.*)", re.DOTALL)


class LimitError(ValueError):
    """Content LaaS would refuse; carries the offending part's path (e.g. messages[0].content[2])."""

    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.message, self.param = message, param


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def decode_data_url(url: str, param: str, max_bytes: int, what: str) -> tuple[str, bytes]:
    """(declared media type, bytes) of a base64 data URL; refuses bad base64 and oversize data before decoding."""
    match = DATA_URL.fullmatch(url)
    if not match:
        raise LimitError(f"{param}: {what} must be a base64 data URL (data:<type>;base64,<data>)", param)
    data = re.sub(r"\s+", "", match.group("data"))
    estimated = len(data) * 3 // 4
    if estimated > max_bytes + 2:
        raise LimitError(f"{param}: {what} is about {_mb(estimated)}, larger than the {_mb(max_bytes)} limit", param)
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise LimitError(f"{param}: {what} is not valid base64", param) from None
    if len(raw) > max_bytes:
        raise LimitError(f"{param}: {what} is {_mb(len(raw))}, larger than the {_mb(max_bytes)} limit", param)
    return match.group("media") or "", raw


def image_format(raw: bytes) -> str:
    for signature, media_type in IMAGE_SIGNATURES.items():
        if raw.startswith(signature):
            return media_type
    for signature, name in OTHER_SIGNATURES.items():
        if raw.startswith(signature):
            return name
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "WebP"
    return "an unknown format"


def check_image(url: str, param: str) -> None:
    """An https URL (checked by LaaS itself), or base64 JPEG/PNG bytes of at most 4 MB."""
    if url.startswith("https://"):
        return
    if not url.startswith("data:"):
        raise LimitError(f"{param}: images must be an https URL or a base64 data URL", param)
    declared, raw = decode_data_url(url, param, MAX_IMAGE_BYTES, "the image")
    actual = image_format(raw)
    if actual not in IMAGE_SIGNATURES.values():
        raise LimitError(f"{param}: images must be JPEG or PNG; the bytes are {actual}", param)
    if declared and declared != actual:
        raise LimitError(f"{param}: the data URL says {declared} but the bytes are {actual}", param)


def pdf_page_count(raw: bytes, param: str) -> int:
    from pypdf import PdfReader  # imported on first use: most requests carry no PDF
    from pypdf.errors import PyPdfError

    try:
        return len(PdfReader(io.BytesIO(raw)).pages)
    except (PyPdfError, ValueError, KeyError, TypeError) as error:
        raise LimitError(f"{param}: the PDF cannot be read ({type(error).__name__})", param) from None


def check_document(url: str, param: str) -> None:
    """A base64 PDF of at most 32 MB and 20 pages."""
    if not url.startswith("data:"):
        raise LimitError(f"{param}: PDFs must be sent as base64 data URLs (data:application/pdf;base64,...)", param)
    declared, raw = decode_data_url(url, param, MAX_PDF_BYTES, "the PDF")
    if (declared and declared != "application/pdf") or not raw.startswith(PDF_SIGNATURE):
        raise LimitError(f"{param}: documents must be PDFs (data:application/pdf;base64,...)", param)
    pages = pdf_page_count(raw, param)
    if pages > MAX_PDF_PAGES:
        raise LimitError(f"{param}: the PDF has {pages} pages, more than the {MAX_PDF_PAGES}-page limit", param)


def check_parts(parts: list[dict], param: str) -> None:
    """All limits for one message's LaaS content parts (`param` is the message content's path)."""
    images = 0
    for index, part in enumerate(parts):
        part_param = f"{param}[{index}]"
        if part["type"] == "image_url":
            images += 1
            if images > MAX_IMAGES_PER_MESSAGE:
                raise LimitError(
                    f"{part_param}: at most {MAX_IMAGES_PER_MESSAGE} images per message are allowed", part_param
                )
            check_image(part["image_url"]["url"], part_param)
        elif part["type"] == "document":
            check_document(part["document_url"]["url"], part_param)
