"""adapter.openai.shapes: stream chunks and the pseudo-stream of a finished answer."""

from adapter.openai.messages import has_attachments
from adapter.openai.shapes import pseudo_stream, stream_chunk


def test_pseudo_stream_is_one_chunk_with_text_finish_reason_and_usage():
    usage = {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    completion = {"choices": [{"message": {"content": "one two three"}, "finish_reason": "length"}], "usage": usage}
    assert pseudo_stream(completion) == [stream_chunk("one two three", "length", usage)]
    assert pseudo_stream(completion)[0]["is_finished"] is True


def test_stream_chunk_shape():
    assert stream_chunk("hi") == {"text": "hi", "tool_use": None, "is_finished": False, "finish_reason": "",
                                  "usage": None, "index": 0}


def test_has_attachments():
    assert not has_attachments([{"role": "user", "content": "x"}])
    assert not has_attachments([{"role": "user", "content": [{"type": "text", "text": "x"}]}])
    assert has_attachments([{"role": "user", "content": [{"type": "document", "document_url": {"url": "x"}}]}])
    assert not has_attachments("not a list")
