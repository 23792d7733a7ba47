"""laas_limits: LaaS's image and PDF limits on real files made by Pillow and pypdf."""

import pytest

import laas_limits
from tests.support import media

PARAM = "messages[0].content"


def refusal(call, *args) -> str:
    with pytest.raises(laas_limits.LimitError) as caught:
        call(*args)
    return caught.value.message


@pytest.mark.parametrize("url", [media.png_url(), media.jpeg_url(), "https://static.example.com/cat.jpg"])
def test_jpeg_png_and_https_images_pass(url):
    laas_limits.check_image(url, PARAM)


@pytest.mark.parametrize(
    "url, fragment",
    [
        (media.gif_url(), "the bytes are GIF"),
        (media.data_url("image/webp", media.image_bytes("WEBP")), "the bytes are WebP"),
        (media.data_url("image/png", media.image_bytes("BMP")), "the bytes are BMP"),
        (media.data_url("image/png", b"just some text"), "unknown format"),
        (media.data_url("image/png", media.image_bytes("JPEG")), "says image/png but the bytes are image/jpeg"),
        (media.oversize_png_url(), "larger than the 4.0 MB limit"),
        ("data:image/png;base64,%%%%", "not valid base64"),
        ("data:image/png;base64,abc", "not valid base64"),
        ("data:image/png,rawbytes", "base64 data URL"),
        ("http://example.com/a.png", "https URL or a base64 data URL"),
        ("file:///etc/passwd", "https URL or a base64 data URL"),
    ],
)
def test_images_laas_would_refuse(url, fragment):
    message = refusal(laas_limits.check_image, url, PARAM)
    assert fragment in message
    assert message.startswith(PARAM)


def test_a_data_url_without_a_media_type_is_judged_by_its_bytes():
    laas_limits.check_image("data:;base64," + media.png_url().split(",", 1)[1], PARAM)
    assert "GIF" in refusal(laas_limits.check_image, "data:;base64," + media.gif_url().split(",", 1)[1], PARAM)


def test_a_two_page_pdf_passes_and_pages_are_counted():
    laas_limits.check_document(media.pdf_url(2), PARAM)
    assert laas_limits.pdf_page_count(media.pdf_bytes(20), PARAM) == 20


@pytest.mark.parametrize(
    "url, fragment",
    [
        (media.pdf_url(21), "21 pages, more than the 20-page limit"),
        ("https://example.com/report.pdf", "base64 data URLs"),
        (media.data_url("application/pdf", media.image_bytes("PNG")), "must be PDFs"),
        (media.data_url("text/plain", media.pdf_bytes(1)), "must be PDFs"),
        (media.data_url("application/pdf", b"%PDF-1.7 but nothing else"), "cannot be read"),
        ("data:application/pdf;base64,!!", "not valid base64"),
    ],
)
def test_documents_laas_would_refuse(url, fragment):
    assert fragment in refusal(laas_limits.check_document, url, PARAM)


def test_pdf_size_limit_is_checked_before_decoding():
    huge = "data:application/pdf;base64," + "A" * (laas_limits.MAX_PDF_BYTES * 4 // 3 + 100)
    assert "larger than the 32.0 MB limit" in refusal(laas_limits.check_document, huge, PARAM)


def test_at_most_three_images_per_message_naming_the_fourth():
    parts = [media.image_part(media.png_url())] * 3
    laas_limits.check_parts(parts + [{"type": "text", "text": "x"}], PARAM)
    with pytest.raises(laas_limits.LimitError) as caught:
        laas_limits.check_parts(parts + [media.image_part(media.png_url())], PARAM)
    assert caught.value.param == f"{PARAM}[3]"
    assert "at most 3 images" in caught.value.message
