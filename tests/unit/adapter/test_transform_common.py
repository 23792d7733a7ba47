"""adapter.transform_common: stream chunks, text splitting and the pseudo-stream of a finished answer."""

import pytest

from adapter.transform_common import has_attachments, pseudo_stream, split_text, stream_chunk


@pytest.mark.parametrize(
    "text", ["", "one", "Mock answer from m: hello  there\nnew line ", "  leading", "x " * 100, "안녕하세요 세계"]
)
def test_split_text_rejoins_exactly(text):
    pieces = split_text(text)
    assert "".join(pieces) == text
    assert 1 <= len(pieces) <= 16


def test_split_text_uses_several_chunks_for_a_sentence():
    assert split_text("a b c d") == ["a ", "b ", "c ", "d"]


def test_pseudo_stream_ends_with_finish_reason_and_usage():
    usage = {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    completion = {"choices": [{"message": {"content": "one two three"}, "finish_reason": "length"}], "usage": usage}
    chunks = pseudo_stream(completion)
    assert [c["text"] for c in chunks] == ["one ", "two ", "three"]
    assert [c["is_finished"] for c in chunks] == [False, False, True]
    assert chunks[-1]["finish_reason"] == "length"
    assert chunks[-1]["usage"] == usage
    assert all(c["usage"] is None for c in chunks[:-1])


def test_stream_chunk_shape():
    assert stream_chunk("hi") == {"text": "hi", "tool_use": None, "is_finished": False, "finish_reason": "",
                                  "usage": None, "index": 0}


def test_has_attachments():
    assert not has_attachments([{"role": "user", "content": "x"}])
    assert not has_attachments([{"role": "user", "content": [{"type": "text", "text": "x"}]}])
    assert has_attachments([{"role": "user", "content": [{"type": "document", "document_url": {"url": "x"}}]}])
    assert not has_attachments("not a list")
