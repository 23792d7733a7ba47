"""adapter.transform_business: tools, tool turns, structured output, and tool calls in answers and streams."""

import json

import pytest

from adapter.errors import AdapterError
from adapter.transform_business import transform_request, transform_response, transform_stream_event

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                           "required": ["city"]}}}
TIME = {"type": "function", "function": {"name": "get_time"}}
ASK = [{"role": "user", "content": "Weather in Paris?"}]


def refused(messages, params):
    with pytest.raises(AdapterError) as caught:
        transform_request("m", messages, params)
    assert caught.value.status_code == 400
    return caught.value


def test_tools_and_choice_are_forwarded_in_the_backend_shape():
    body = transform_request("m", ASK, {"tools": [WEATHER, TIME], "tool_choice": {"type": "function", "function": {"name": "get_time"}},
                                        "parallel_tool_calls": False})
    assert body["tools"] == [{"name": "get_weather", "description": "Weather in a city",
                              "parameters": WEATHER["function"]["parameters"]}, {"name": "get_time"}]
    assert body["tool_choice"] == {"name": "get_time"}
    assert body["parallel_tool_calls"] is False
    assert body["query"] == "Weather in Paris?"


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_string_tool_choices_pass_as_they_are(choice):
    assert transform_request("m", ASK, {"tools": [WEATHER], "tool_choice": choice})["tool_choice"] == choice


@pytest.mark.parametrize("params, param", [
    ({"tools": [{"type": "web_search"}]}, "tools[0]"),
    ({"tools": [{"type": "function", "function": {"name": ""}}]}, "tools[0].function.name"),
    ({"tools": [WEATHER, WEATHER]}, "tools"),
    ({"tools": "get_weather"}, "tools"),
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
    ({"tools": [WEATHER], "tool_choice": "sometimes"}, "tool_choice"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"response_format": {"type": "xml"}}, "response_format"),
    ({"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}}, "response_format.json_schema"),
])
def test_malformed_tools_and_formats_are_400_naming_the_param(params, param):
    assert refused(ASK, params).param == param


def test_tool_round_trip_history_keeps_every_turn():
    messages = ASK + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "18 C"}]},
    ]
    body = transform_request("m", messages, {"tools": [WEATHER]})
    assert body["query"] is None
    assert body["history"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
    ]


def test_a_tool_call_with_non_string_arguments_is_400():
    messages = ASK + [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}, {"role": "user", "content": "x"}]
    assert refused(messages, {}).param == "messages[1].tool_calls[0].function.arguments"


@pytest.mark.parametrize("response_format, sent", [
    ({"type": "json_object"}, {"type": "json_object"}),
    ({"type": "json_schema", "json_schema": {"name": "Person", "schema": {"type": "object"}, "strict": True}},
     {"type": "json_schema", "json_schema": {"name": "Person", "schema": {"type": "object"}, "strict": True}}),
])
def test_structured_output_is_forwarded(response_format, sent):
    assert transform_request("m", ASK, {"response_format": response_format})["response_format"] == sent


def test_tools_are_refused_not_dropped_under_drop_params():
    with pytest.raises(AdapterError):
        transform_request("m", ASK, {"functions": [{"name": "f"}]}, drop_unknown=True)


def test_answer_with_tool_calls_becomes_openai_tool_calls():
    answer = {"request_id": "r", "created": 1, "answer": "", "finish_reason": "tool_calls",
              "tool_calls": [{"id": "call_a", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                             {"id": "call_b", "name": "get_time", "arguments": {"tz": "UTC"}}],
              "usage": {"prompt_tokens": 3, "completion_tokens": 4}}
    choice = transform_response(answer, "m", 0)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert choice["message"]["tool_calls"] == [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
        {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":\"UTC\"}"}},
    ]


@pytest.mark.parametrize("calls", [[{"id": "x"}], [{"name": "f"}], "call", [{"id": "x", "name": "f", "arguments": 3}]])
def test_malformed_tool_calls_in_answers_are_502(calls):
    with pytest.raises(AdapterError) as caught:
        transform_response({"answer": "", "tool_calls": calls, "usage": {"prompt_tokens": 1, "completion_tokens": 1}}, "m", 0)
    assert caught.value.status_code == 502


def test_stream_tool_call_events_become_tool_use_chunks():
    first = transform_stream_event(json.dumps({"tool_call": {"index": 1, "id": "call_b", "name": "f", "arguments": "{\"a\""}}))
    later = transform_stream_event(json.dumps({"tool_call": {"index": 1, "arguments": ":1}"}}))
    assert first["tool_use"] == {"id": "call_b", "type": "function", "function": {"name": "f", "arguments": "{\"a\""}, "index": 1}
    assert later["tool_use"]["function"] == {"name": None, "arguments": ":1}"}
    assert later["tool_use"]["id"] is None and later["tool_use"]["index"] == 1
    assert first["text"] == "" and not first["is_finished"]


@pytest.mark.parametrize("call", [{"id": "x", "arguments": "{"}, {"index": -1}, {"index": 0, "arguments": 5}, "x"])
def test_malformed_stream_tool_call_events_are_502(call):
    with pytest.raises(AdapterError) as caught:
        transform_stream_event(json.dumps({"tool_call": call}))
    assert caught.value.status_code == 502


def test_final_stream_event_can_finish_with_tool_calls():
    chunk = transform_stream_event(json.dumps({"delta": "", "finish_reason": "tool_calls", "usage": {"prompt_tokens": 1, "completion_tokens": 2}}))
    assert chunk["finish_reason"] == "tool_calls" and chunk["is_finished"]
