"""The door's Anthropic family: Messages body checks naming the field, and errors in Anthropic's shape."""

import json

import pytest

from adapter.door.checks import RequestProblem, parse_body
from adapter.door.errors import anthropic_body, family_body, normalise_stream_errors

OK = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("body", [
    OK,
    {**OK, "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}]},
    {**OK, "messages": [{"role": "system", "content": "reminder"}, {"role": "user", "content": [
        {"type": "text", "text": "x"}, {"type": "image", "source": {"type": "base64", "data": "", "media_type": "x"}}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "18 C"}]}]},
    {**OK, "tools": [{"name": "f", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}}, {"type": "web_search_20250305", "name": "web_search"}],
     "tool_choice": {"type": "tool", "name": "f"}},
    {**OK, "thinking": {"type": "enabled", "budget_tokens": 1024}, "metadata": {"user_id": "u"}},
    {**OK, "thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}, "context_management": {"edits": []}},
])
def test_what_anthropic_accepts_passes(body):
    assert parse_body("messages", json.dumps(body).encode()) == body


@pytest.mark.parametrize("change, field", [
    ({"max_tokens": None}, "max_tokens"), ({"max_tokens": 0}, "max_tokens"), ({"max_tokens": True}, "max_tokens"),
    ({"messages": []}, "messages"), ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0.role"),
    ({"messages": [{"role": "user"}]}, "messages.0.content"),
    ({"messages": [{"role": "user", "content": [{"type": "video"}]}]}, "messages.0.content.0.type"),
    ({"messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}, "messages.0.content.0.tool_use_id"),
    ({"system": 5}, "system"), ({"system": [{"type": "text"}]}, "system.0.text"),
    ({"stop_sequences": [1]}, "stop_sequences"), ({"tools": [{"input_schema": {}}]}, "tools.0.name"),
    ({"tool_choice": {"type": "tool"}}, "tool_choice.name"),
    ({"thinking": {"type": "enabled"}}, "thinking.budget_tokens"),
    ({"thinking": {"type": "maybe"}}, "thinking.type"), ({"metadata": {"user_id": 5}}, "metadata.user_id"),
    ({"top_k": 1.5}, "top_k"), ({"stream": "yes"}, "stream"),
])
def test_a_mistake_is_a_400_naming_the_field(change, field):
    body = {key: value for key, value in {**OK, **change}.items() if value is not None}
    with pytest.raises(RequestProblem) as problem:
        parse_body("messages", json.dumps(body).encode())
    assert problem.value.param == field and problem.value.message.startswith(f"{field}:")


def test_count_tokens_needs_no_max_tokens():
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert parse_body("count_tokens", json.dumps(body).encode()) == body


@pytest.mark.parametrize("status, kind", [(400, "invalid_request_error"), (401, "authentication_error"),
                                          (403, "permission_error"), (404, "not_found_error"),
                                          (405, "invalid_request_error"), (413, "request_too_large"),
                                          (429, "rate_limit_error"), (500, "api_error"), (501, "api_error"),
                                          (502, "api_error"), (503, "overloaded_error"), (504, "api_error"),
                                          (529, "overloaded_error")])
def test_anthropic_error_types_by_status(status, kind):
    assert anthropic_body(status, "m") == {"type": "error", "error": {"type": kind, "message": "m"}}
    assert family_body("anthropic", status, "m", "param") == anthropic_body(status, "m")


def test_stream_error_events_are_cleaned_and_named_in_anthropic_shape():
    raw = (b'event: error\ndata: {"type": "error", "error": {"type": "api_error", "message": '
           b'"litellm.BadGatewayError: the stream failed with sk-secret\\nTraceback (most recent call last): x"}}\n\n')
    cleaned = normalise_stream_errors(raw, ("sk-secret",), "anthropic")
    assert cleaned.count(b"event: error") == 1
    event = json.loads(cleaned.split(b"data: ")[1])
    assert event == {"type": "error", "error": {"type": "api_error", "message": "the stream failed with <redacted>"}}
    # an OpenAI-shaped error event on an Anthropic stream becomes an Anthropic one, with its event name
    openai_shaped = b'data: {"error": {"message": "slow", "type": "x", "param": null, "code": "504"}}\n\n'
    converted = normalise_stream_errors(openai_shaped, (), "anthropic")
    assert converted.startswith(b"event: error\ndata: ")
    assert json.loads(converted.split(b"data: ")[1])["error"] == {"type": "api_error", "message": "slow"}
    # on OpenAI routes Anthropic-looking text is left alone
    assert normalise_stream_errors(raw, (), "openai") == raw


def test_defer_loading_is_dropped_from_tools_before_litellm_copies_it_into_the_schema():
    body = {**OK, "tools": [{"name": "f", "input_schema": {"type": "object"}, "defer_loading": True}]}
    tools = parse_body("messages", json.dumps(body).encode())["tools"]
    assert tools == [{"name": "f", "input_schema": {"type": "object"}}]


def test_an_openai_model_object_in_anthropic_shape():
    from adapter.door.model_shape import anthropic_model

    assert anthropic_model({"id": "m", "object": "model", "created": 1677610602, "owned_by": "x"}) == {
        "type": "model", "id": "m", "display_name": "m", "created_at": "2023-02-28T18:56:42Z",
        "max_input_tokens": None, "max_tokens": None}


def test_a_token_count_in_anthropic_shape_keeps_every_field_but_litellms_own():
    from adapter.door.model_shape import anthropic_token_count

    assert anthropic_token_count({"input_tokens": 7, "litellm_count_source": "local"}) == {"input_tokens": 7}
    assert anthropic_token_count({"input_tokens": 7, "context_management": {}}) == {
        "input_tokens": 7, "context_management": {}}
