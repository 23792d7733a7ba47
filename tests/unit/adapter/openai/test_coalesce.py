"""adapter.openai.shapes.coalesce: chunks that waited together merge into the fewest chunks that carry the same stream."""

from hypothesis import given
from hypothesis import strategies as st

from adapter.openai.shapes import coalesce
from adapter.openai.shapes import stream_chunk

USAGE = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


def tool_fragment(index: int, arguments: str, call_id: str | None = None, name: str | None = None) -> dict:
    tool_use = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}, "index": index}
    return {**stream_chunk(""), "tool_use": tool_use}


def test_one_chunk_is_left_alone():
    chunk = stream_chunk("alone")
    assert coalesce([chunk]) == [chunk]
    assert coalesce([]) == []


def test_text_pieces_join_and_the_finish_reason_and_usage_stay():
    merged = coalesce([stream_chunk("one "), stream_chunk("two "), stream_chunk("three", "length", USAGE)])
    assert merged == [stream_chunk("one two three", "length", USAGE)]


def test_tool_call_fragments_merge_per_call_index():
    merged = coalesce([
        stream_chunk("Let me check. "),
        tool_fragment(0, '{"city":', "call_a", "get_weather"),
        tool_fragment(0, '"Paris"}'),
        tool_fragment(1, '{"q":', "call_b", "search"),
        tool_fragment(1, '"rain"}'),
        stream_chunk("", "tool_calls", USAGE),
    ])
    assert [chunk["tool_use"] for chunk in merged] == [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}, "index": 0},
        {"id": "call_b", "type": "function", "function": {"name": "search", "arguments": '{"q":"rain"}'}, "index": 1},
    ]
    assert [chunk["text"] for chunk in merged] == ["Let me check. ", ""]
    assert [(c["is_finished"], c["finish_reason"], c["usage"]) for c in merged] == [
        (False, "", None), (True, "tool_calls", USAGE)]


def test_a_call_continued_from_an_earlier_batch_keeps_its_missing_id_and_name():
    merged = coalesce([tool_fragment(0, '"Paris"'), tool_fragment(0, "}")])
    assert merged[0]["tool_use"] == {"id": None, "type": "function", "function": {"name": None, "arguments": '"Paris"}'},
                                     "index": 0}


def test_the_fragments_given_are_not_changed():
    first = tool_fragment(0, "{", "call_a", "f")
    coalesce([first, tool_fragment(0, "}")])
    assert first["tool_use"]["function"]["arguments"] == "{"


@given(st.lists(st.text(max_size=5), min_size=1, max_size=30), st.integers(min_value=1, max_value=30))
def test_any_cut_into_batches_streams_the_same_text_and_usage(pieces, batch_size):
    chunks = [stream_chunk(piece) for piece in pieces] + [stream_chunk("", "stop", USAGE)]
    merged = [out for at in range(0, len(chunks), batch_size) for out in coalesce(chunks[at:at + batch_size])]
    assert "".join(chunk["text"] for chunk in merged) == "".join(pieces)
    assert [chunk["usage"] for chunk in merged if chunk["usage"]] == [USAGE]
    assert [chunk["finish_reason"] for chunk in merged if chunk["is_finished"]] == ["stop"]
    assert len(merged) == -(-len(chunks) // batch_size)
