"""adapter.client's pure helpers: what a backend's status, headers and body become."""

import pytest

from adapter.client import _decode, _error_message, _event_data, _EventSplitter, _is_event_stream, _refuse_non_stream
from adapter.errors import AdapterError


def test_json_answer_is_decoded():
    assert _decode("b", 200, {"content-type": "application/json"}, b'{"answer": "hi"}') == {"answer": "hi"}


def test_openai_shaped_error_message_is_used():
    assert _error_message(b'{"error": {"message": "bad field"}}') == "bad field"
    assert _error_message(b"<html>oops</html>") == "<html>oops</html>"
    assert _error_message(b'{"detail": "x"}') == '{"detail": "x"}'


@pytest.mark.parametrize("status, expected", [(400, 400), (401, 502), (429, 429), (500, 502), (503, 503)])
def test_error_statuses_follow_the_table(status, expected):
    with pytest.raises(AdapterError) as caught:
        _decode("b", status, {"retry-after": "3"}, b'{"error": {"message": "no"}}')
    assert caught.value.status_code == expected


def test_non_json_success_is_502():
    with pytest.raises(AdapterError) as caught:
        _decode("b", 200, {"content-type": "text/html"}, b"<html></html>")
    assert caught.value.status_code == 502
    assert "text/html" in caught.value.message


def test_stream_detection_and_refusal():
    assert _is_event_stream(200, {"content-type": "text/event-stream; charset=utf-8"})
    assert not _is_event_stream(200, {"content-type": "application/json"})
    assert not _is_event_stream(500, {"content-type": "text/event-stream"})
    with pytest.raises(AdapterError) as caught:
        _refuse_non_stream("b", 200, {"content-type": "application/json"}, b"{}")
    assert caught.value.status_code == 502
    with pytest.raises(AdapterError) as caught:
        _refuse_non_stream("b", 429, {"retry-after": "2"}, b"{}")
    assert caught.value.status_code == 429


def test_event_data_lines():
    assert _event_data('data: {"delta": "x"}') == '{"delta": "x"}'
    assert _event_data("data:[DONE]") == "[DONE]"
    assert _event_data(": comment") is None
    assert _event_data("") is None


def test_event_splitter_hands_over_every_complete_event_of_a_read():
    splitter = _EventSplitter()
    assert splitter.feed(b'data: {"delta": "a"}\n\ndata: {"delta": "b"}\n\nda') == ['{"delta": "a"}', '{"delta": "b"}']
    assert splitter.feed(b'ta: {"delta": "\xc3') == []  # an event cut anywhere, even inside a character
    assert splitter.feed(b'\xa9"}\r\n\r\n: keep-alive\n\ndata: [DONE]\n\n') == ['{"delta": "\u00e9"}', "[DONE]"]
