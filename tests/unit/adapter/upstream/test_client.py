"""adapter.upstream.client's pure helpers: what a backend's status, headers and body become."""

import pytest

from adapter.upstream.client import _decode, _is_stream, _refuse_non_stream, error_text
from adapter.upstream.errors import AdapterError


def test_json_answer_is_decoded():
    assert _decode("b", 200, {"content-type": "application/json"}, b'{"answer": "hi"}', error_text) == {"answer": "hi"}


def test_openai_shaped_error_message_is_used():
    assert error_text(b'{"error": {"message": "bad field"}}') == "bad field"
    assert error_text(b"<html>oops</html>") == "<html>oops</html>"
    assert error_text(b'{"detail": "x"}') == '{"detail": "x"}'


@pytest.mark.parametrize("status, expected", [(400, 400), (401, 502), (424, 502), (429, 429), (500, 502), (503, 503)])
def test_error_statuses_follow_the_table(status, expected):
    with pytest.raises(AdapterError) as caught:
        _decode("b", status, {"retry-after": "3"}, b'{"error": {"message": "no"}}', error_text)
    assert caught.value.status_code == expected


def test_non_json_success_is_502():
    with pytest.raises(AdapterError) as caught:
        _decode("b", 200, {"content-type": "text/html"}, b"<html></html>", error_text)
    assert caught.value.status_code == 502
    assert "text/html" in caught.value.message


def test_stream_detection_and_refusal():
    assert _is_stream(200, {"content-type": "text/event-stream; charset=utf-8"}, event_stream=True)
    assert not _is_stream(200, {"content-type": "application/json"}, event_stream=True)
    assert not _is_stream(500, {"content-type": "text/event-stream"}, event_stream=True)
    assert _is_stream(200, {"content-type": "application/x-ndjson"}, event_stream=False)  # NDJSON: any 2xx
    assert not _is_stream(404, {"content-type": "application/x-ndjson"}, event_stream=False)
    with pytest.raises(AdapterError) as caught:
        _refuse_non_stream("b", 200, {"content-type": "application/json"}, b"{}", error_text)
    assert caught.value.status_code == 502
    with pytest.raises(AdapterError) as caught:
        _refuse_non_stream("b", 429, {"retry-after": "2"}, b"{}", error_text)
    assert caught.value.status_code == 429


def test_a_describer_chooses_the_error_message():
    with pytest.raises(AdapterError) as caught:
        _decode("b", 400, {}, b'{"detail": {"why": "too long"}}', lambda body: "too long")
    assert (caught.value.status_code, caught.value.message) == (400, "b refused the request: too long")
