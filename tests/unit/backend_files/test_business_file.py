"""src/backends/business.yaml through the mapped provider's pure path: literal OpenAI payloads in, literal
/api/process payloads out, and the business API's answers and stream events back as OpenAI shapes."""

import json

import pytest

import stack_settings
from adapter.upstream.errors import AdapterError
from adapter.mapping.chat import chat_request
from adapter.mapping import apply
from adapter.mapping.load import load_file
from adapter.mapping.registry import backend_for
from adapter.mapping.stream import MappedStream

FILE = stack_settings.SRC_DIR / "backends" / "business.yaml"
VARIABLES = stack_settings.variables({"ENV_FILE": "/nonexistent", "BUSINESS_API_KEY": "k",
                                      "BUSINESS_API_KEY_HEADER": "X-Key"})
BUSINESS = backend_for(load_file(FILE, VARIABLES))
USER = [{"role": "user", "content": "x"}]
TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


def body(messages, params=None, stream=False, drop=False):
    return chat_request(BUSINESS, "m", None, messages, params or {}, stream, drop)


def test_the_file_reads_its_settings():
    assert BUSINESS.mapping.url == "http://127.0.0.1:8002/api/process"
    assert BUSINESS.mapping.headers == {"X-Key": "k"}
    assert BUSINESS.mapping.timeout is None  # BUSINESS_API_TIMEOUT
    assert BUSINESS.sent_parts == frozenset()  # text only: image parts are refused, never dropped


def test_system_prompt_and_history_reach_the_backend_in_order():
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What is 2+2?"},
    ]
    params = {"temperature": 0.2, "max_tokens": 64, "top_p": 0.9, "stop": "END", "stream": False, "max_retries": 0}
    assert chat_request(BUSINESS, "my-custom-model", None, messages, params, False) == {
        "query": "What is 2+2?",
        "model_info": {"name": "my-custom-model", "temperature": 0.2, "top_p": 0.9, "max_tokens": 64, "stop": ["END"]},
        "history": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
        ],
    }


def test_text_parts_are_joined_and_developer_is_system():
    messages = [
        {"role": "developer", "content": "rules"},
        {"role": "user", "content": [{"type": "text", "text": "line 1"}, {"type": "text", "text": "line 2"}]},
    ]
    sent = body(messages)
    assert sent["query"] == "line 1\nline 2"
    assert sent["history"] == [{"role": "system", "content": "rules"}]


def test_a_single_user_message_has_an_empty_history():
    assert body(USER) == {"query": "x", "model_info": {"name": "m"}, "history": []}


def test_an_empty_user_message_is_still_the_query():
    sent = body([{"role": "system", "content": "s"}, {"role": "user", "content": ""}])
    assert (sent["query"], sent["history"]) == ("", [{"role": "system", "content": "s"}])


def test_max_completion_tokens_is_max_tokens():
    assert body(USER, {"max_completion_tokens": 9})["model_info"] == {"name": "m", "max_tokens": 9}


def test_a_conversation_ending_in_tool_results_has_no_query_and_all_of_it_is_history():
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    ]
    assert body(messages, {"tools": [TOOL]}) == {
        "model_info": {"name": "m"},
        "history": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "",
             "tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'}]},
            {"role": "tool", "content": "18C", "tool_call_id": "call_1"},
        ],
        "tools": [{"name": "get_weather", "description": "Weather now", "parameters": TOOL["function"]["parameters"]}],
    }


@pytest.mark.parametrize("choice, sent", [
    ("auto", "auto"), ("required", "required"), ("none", "none"),
    ({"type": "function", "function": {"name": "get_weather"}}, {"name": "get_weather"}),
])
def test_tool_choice_travels_in_the_business_shape(choice, sent):
    assert body(USER, {"tools": [TOOL], "tool_choice": choice})["tool_choice"] == sent


def test_parallel_tool_calls_travels_only_with_tools():
    assert body(USER, {"tools": [TOOL], "parallel_tool_calls": False})["parallel_tool_calls"] is False
    assert "parallel_tool_calls" not in body(USER, {"parallel_tool_calls": False})


@pytest.mark.parametrize("response_format, sent", [
    ({"type": "text"}, None),
    ({"type": "json_object"}, {"type": "json_object"}),
    ({"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}}},
     {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}, "strict": False}}),
])
def test_response_format_is_checked_and_sent_with_its_defaults(response_format, sent):
    assert body(USER, {"response_format": response_format}).get("response_format") == sent


@pytest.mark.parametrize(
    "messages, fragment",
    [
        ([], "non-empty"),
        ("hello", "non-empty"),
        ([{"role": "tool", "content": "x"}], "tool_call_id"),
        ([{"role": "function", "name": "f", "content": "x"}], "role"),
        ([{"role": "user", "content": "x"}, {"role": "assistant", "content": None, "tool_calls": [{}]}], "tool_calls[0]"),
        ([{"role": "wizard", "content": "x"}], "role"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}],
         "an image (http(s) URL) part, but the business backend takes text only"),
        ([{"role": "user", "content": 42}], "string or a list"),
        (["not a message"], "must be an object"),
    ],
)
def test_unusable_messages_are_400(messages, fragment):
    with pytest.raises(AdapterError) as caught:
        body(messages)
    assert caught.value.status_code == 400
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"presence_penalty": 2.5}, "presence_penalty"),
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
        ({"logprobs": True}, "logprobs"),
        ({"verbosity": "low"}, "verbosity"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"seed": 1.5}, "seed"),
        ({"functions": [{"name": "f"}]}, "send 'tools'"),
        ({"temperature": 5}, "temperature"),
        ({"temperature": "warm"}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"n": 2}, "'n'=2 is not supported"),
        ({"hash": "client-hash"}, "set by the server"),
        ({"api_key": "sk-x"}, "set by the server"),
        ({"tools": [{"type": "code_interpreter"}]}, "must be a function tool"),
        ({"tools": [TOOL, TOOL]}, "more than once"),
        ({"tool_choice": "required"}, "needs 'tools'"),
        ({"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "other"}}}, "not in 'tools'"),
        ({"response_format": {"type": "xml"}}, "response_format.type"),
    ],
)
def test_bad_or_unknown_params_are_400(params, fragment):
    with pytest.raises(AdapterError) as caught:
        body(USER, params)
    assert caught.value.status_code == 400
    assert fragment in caught.value.message


def test_unknown_params_are_dropped_under_drop_params_but_tools_never_are():
    assert body(USER, {"verbosity": "low", "seed": 3}, drop=True)["model_info"] == {"name": "m", "seed": 3}
    with pytest.raises(AdapterError):
        body(USER, {"tools": [{"type": "code_interpreter"}]}, drop=True)


def test_answer_changing_params_are_forwarded_in_model_info():
    sent = {"presence_penalty": 0.5, "frequency_penalty": -1, "seed": 7, "user": "u-1", "reasoning_effort": "low",
            "max_completion_tokens": 9, "stop": "###"}
    assert body(USER, sent)["model_info"] == {"name": "m", "presence_penalty": 0.5, "frequency_penalty": -1, "seed": 7,
                                              "user": "u-1", "reasoning_effort": "low", "max_tokens": 9, "stop": ["###"]}


@pytest.mark.parametrize("name, value", [
    ("n", 1), ("logprobs", False), ("store", False), ("store", True), ("metadata", {"a": "b"}),
    ("service_tier", "auto"), ("stream_options", {"include_usage": True}), ("response_format", {"type": "text"}),
    ("logit_bias", {}), ("modalities", ["text"]), ("presence_penalty", 0), ("frequency_penalty", 0),
])
def test_harmless_defaults_are_accepted_and_not_sent(name, value):
    sent = body(USER, {name: value})
    flat = {**sent["model_info"], **sent}
    assert name not in flat or flat[name] == value
    assert not {"n", "logprobs", "store", "metadata", "service_tier", "stream_options", "response_format",
                "logit_bias", "modalities"} & set(flat)


def test_a_stream_asks_the_backend_to_stream():
    assert body(USER, stream=True)["stream"] is True
    assert "stream" not in body(USER)


def completion(answer):
    return apply.completion(BUSINESS.mapping, answer, "my-custom-model", 5)


def test_answer_becomes_a_chat_completion():
    result = completion({"request_id": "req_1", "answer": "Mock answer from m: hi", "finish_reason": "length",
                         "usage": {"prompt_tokens": 3, "completion_tokens": 6, "total_tokens": 9}})
    assert result["choices"] == [{"index": 0, "message": {"role": "assistant", "content": "Mock answer from m: hi"},
                                  "finish_reason": "length"}]
    assert (result["model"], result["created"], result["object"]) == ("my-custom-model", 5, "chat.completion")
    assert result["usage"] == {"prompt_tokens": 3, "completion_tokens": 6, "total_tokens": 9}


def test_unknown_finish_reason_becomes_stop_and_total_is_recomputed():
    result = completion({"answer": "x", "finish_reason": "weird",
                         "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 99}})
    assert result["choices"][0]["finish_reason"] == "stop"
    assert result["usage"]["total_tokens"] == 3


def test_an_answer_without_usage_leaves_counting_to_the_proxy():
    assert completion({"answer": "x"})["usage"] is None


def test_tool_calls_in_the_answer_become_openai_tool_calls():
    result = completion({"answer": "", "finish_reason": "tool_calls", "tool_calls": [
        {"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]})
    assert result["choices"][0]["message"]["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]
    assert result["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("answer, fragment", [
    (None, "not a string"), ([], "not a string"), ("text", "not a string"), ({"answer": 5}, "not a string"),
    ({"error": {"message": "model overloaded"}}, "model overloaded"),
])
def test_unusable_answers_are_502(answer, fragment):
    with pytest.raises(AdapterError) as caught:
        completion(answer)
    assert caught.value.status_code == 502
    assert fragment in caught.value.message


def sse(*events) -> bytes:
    return b"".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode() for e in events)


def test_stream_events_become_chunks_and_the_end_comes_with_done():
    stream = MappedStream(BUSINESS.mapping.stream, BUSINESS.label)
    assert [c["text"] for c in stream.feed(sse({"request_id": "r", "delta": "Hel"}, {"delta": "lo"}))] == ["Hel", "lo"]
    assert stream.feed(sse({"delta": "", "finish_reason": "stop", "usage": {"prompt_tokens": 1,
                                                                            "completion_tokens": 2}})) == []
    assert stream.feed(sse("[DONE]")) == [] and stream.ended
    [last] = stream.close()
    assert (last["is_finished"], last["finish_reason"]) == (True, "stop")
    assert last["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}


@pytest.mark.parametrize("event, fragment", [
    ('{"error": {"message": "boom"}}', "boom"), ('{"error": "plain"}', "plain"), ("not json", "not JSON"),
    ('{"delta": 5}', "found int, not a string"),
])
def test_bad_stream_events_end_the_stream_with_502(event, fragment):
    stream = MappedStream(BUSINESS.mapping.stream, BUSINESS.label)
    assert [c["text"] for c in stream.feed(sse({"delta": "before "}, event))] == ["before "]
    assert stream.ended
    assert stream.error.status_code == 502 and fragment in stream.error.message


def test_a_tool_call_with_non_string_arguments_is_400():
    messages = [{"role": "user", "content": "x"}, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}, *USER]
    with pytest.raises(AdapterError) as caught:
        body(messages)
    assert caught.value.param == "messages[1].tool_calls[0].function.arguments"


@pytest.mark.parametrize("calls", [[{"id": "c"}], [{"name": "f", "arguments": 5}], "not a list"])
def test_malformed_tool_calls_in_answers_are_502(calls):
    with pytest.raises(AdapterError) as caught:
        completion({"answer": "", "tool_calls": calls})
    assert caught.value.status_code == 502


def test_stream_tool_call_fragments_become_tool_use_chunks_and_the_end_says_tool_calls():
    stream = MappedStream(BUSINESS.mapping.stream, BUSINESS.label)
    first, later = stream.feed(sse({"tool_call": {"index": 1, "id": "call_b", "name": "f", "arguments": '{"a"'}},
                                   {"tool_call": {"index": 1, "arguments": ":1}"}}))
    assert first["tool_use"] == {"id": "call_b", "type": "function", "function": {"name": "f", "arguments": '{"a"'},
                                 "index": 1}
    assert later["tool_use"] == {"id": None, "type": "function", "function": {"name": None, "arguments": ":1}"},
                                 "index": 1}
    assert stream.feed(sse({"delta": "", "finish_reason": "stop"}, "[DONE]")) == []
    assert stream.close()[-1]["finish_reason"] == "tool_calls"
