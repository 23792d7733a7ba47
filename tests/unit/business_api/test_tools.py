"""POST /api/process with tools: validation, the mock's decisions, ids, usage and the stream's tool-call events."""

import json
import re

import jsonschema
import pytest

from .test_process import events, post

WEATHER = {
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                       "days": {"type": "integer", "minimum": 1}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
}
TIME = {"name": "get_time", "parameters": {"type": "object", "properties": {"zone": {"type": "string"}},
                                            "required": ["zone"]}}
NO_PARAMS = {"name": "ping"}


def body(query="What's the weather?", **extra):
    return {"query": query, "model_info": {"name": "m"}, **extra}


def answer(client, **extra):
    response = post(client, body(**extra))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_required_calls_the_first_tool_with_a_minimal_valid_instance(client):
    result = answer(client, tools=[WEATHER, TIME], tool_choice="required")
    assert result["answer"] == "" and result["finish_reason"] == "tool_calls"
    [call] = result["tool_calls"]
    assert call["name"] == "get_weather"
    arguments = json.loads(call["arguments"])
    assert arguments == {"city": "string", "unit": "celsius"}
    jsonschema.validate(arguments, WEATHER["parameters"])
    assert re.fullmatch(r"call_[0-9a-f]{24}", call["id"])


def test_tool_choice_naming_a_function_calls_it(client):
    [call] = answer(client, tools=[WEATHER, TIME], tool_choice={"name": "get_time"})["tool_calls"]
    assert call["name"] == "get_time" and json.loads(call["arguments"]) == {"zone": "string"}


def test_named_choice_wins_over_a_tool_directive(client):
    result = answer(client, query="[mock:tool=get_weather]", tools=[WEATHER, TIME], tool_choice={"name": "get_time"})
    assert [call["name"] for call in result["tool_calls"]] == ["get_time"]


@pytest.mark.parametrize("choice", [None, "auto"])
def test_auto_answers_text_without_a_directive(client, choice):
    extra = {"tool_choice": choice} if choice else {}
    result = answer(client, query="hi", tools=[WEATHER], **extra)
    assert result["answer"] == "Mock answer from m: hi"
    assert result["finish_reason"] == "stop" and "tool_calls" not in result


def test_auto_calls_the_tool_named_by_the_directive(client):
    result = answer(client, query="weather? [mock:tool=get_weather]", tools=[TIME, WEATHER], tool_choice="auto")
    assert [call["name"] for call in result["tool_calls"]] == ["get_weather"]


def test_directive_with_several_names_makes_parallel_calls_in_order(client):
    result = answer(client, query="[mock:tool=get_time,get_weather]", tools=[WEATHER, TIME])
    calls = result["tool_calls"]
    assert [call["name"] for call in calls] == ["get_time", "get_weather"]
    assert len({call["id"] for call in calls}) == 2


def test_parallel_tool_calls_false_keeps_the_first_call_only(client):
    result = answer(client, query="[mock:tool=get_time,get_weather]", tools=[WEATHER, TIME], parallel_tool_calls=False)
    assert [call["name"] for call in result["tool_calls"]] == ["get_time"]


def test_required_with_a_directive_calls_the_named_tool(client):
    result = answer(client, query="[mock:tool=get_time]", tools=[WEATHER, TIME], tool_choice="required")
    assert [call["name"] for call in result["tool_calls"]] == ["get_time"]


def test_none_never_calls_tools(client):
    result = answer(client, query="q [mock:tool=get_weather]", tools=[WEATHER], tool_choice="none")
    assert "tool_calls" not in result and result["finish_reason"] == "stop"


def test_tool_directive_without_tools_answers_text(client):
    assert "tool_calls" not in answer(client, query="q [mock:tool=get_weather]")


def test_unknown_tool_in_the_directive_is_400_naming_it(client):
    response = post(client, body("[mock:tool=get_wether]", tools=[WEATHER]))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert "get_wether" in error["message"] and "get_weather" in error["message"]


def test_args_directive_gives_the_arguments_of_every_call(client):
    query = 'go [mock:tool=get_weather,get_time] [mock:args={"city": "Paris [FR]", "n": [1]}]'
    calls = answer(client, query=query, tools=[WEATHER, TIME])["tool_calls"]
    assert [json.loads(call["arguments"]) for call in calls] == [{"city": "Paris [FR]", "n": [1]}] * 2


def test_tool_without_parameters_gets_an_empty_object(client):
    [call] = answer(client, tools=[NO_PARAMS], tool_choice="required")["tool_calls"]
    assert call["arguments"] == "{}"


def test_pydantic_schema_with_refs_gives_valid_arguments(client):
    from pydantic import BaseModel

    class Location(BaseModel):
        city: str
        country: str | None = None

    class Search(BaseModel):
        where: Location
        limit: int = 10
        kinds: list[str]

    tool = {"name": "search", "parameters": Search.model_json_schema()}
    [call] = answer(client, tools=[tool], tool_choice="required")["tool_calls"]
    Search.model_validate_json(call["arguments"])
    jsonschema.validate(json.loads(call["arguments"]), tool["parameters"])


def test_call_ids_are_deterministic_and_depend_on_the_conversation(client):
    first = answer(client, tools=[WEATHER], tool_choice="required", request_id="r1")["tool_calls"][0]["id"]
    again = answer(client, tools=[WEATHER], tool_choice="required", request_id="r2")["tool_calls"][0]["id"]
    other_query = answer(client, query="other", tools=[WEATHER], tool_choice="required")["tool_calls"][0]["id"]
    longer = answer(client, tools=[WEATHER], tool_choice="required",
                    history=[{"role": "user", "content": "x"}])["tool_calls"][0]["id"]
    assert first == again
    assert len({first, other_query, longer}) == 3


def test_usage_counts_the_arguments_and_the_tool_definitions(client):
    plain = answer(client, query="q")["usage"]
    called = answer(client, query="q", tools=[WEATHER], tool_choice="required")
    assert called["usage"]["prompt_tokens"] > plain["prompt_tokens"]
    assert called["usage"]["completion_tokens"] >= len(json.loads(called["tool_calls"][0]["arguments"]))
    assert called["usage"]["total_tokens"] == called["usage"]["prompt_tokens"] + called["usage"]["completion_tokens"]


# A full round trip: the assistant's tool calls and the tool results travel in the history, query null.

ROUND_TRIP_HISTORY = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "Weather in Paris and the time? [mock:tool=get_weather,get_time]"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
        {"id": "call_2", "name": "get_time", "arguments": "{\"zone\":\"CET\"}"}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "18 C and sunny"},
    {"role": "tool", "tool_call_id": "call_2", "content": "14:05"},
]


def test_tool_results_are_quoted_in_a_text_answer(client):
    result = answer(client, query=None, history=ROUND_TRIP_HISTORY, tools=[WEATHER, TIME])
    assert result["answer"] == "Mock answer from m: the tool returned 18 C and sunny; 14:05"
    assert result["finish_reason"] == "stop" and "tool_calls" not in result


def test_tool_results_are_quoted_even_when_the_prompt_scripts_an_answer(client):
    prompt = {"role": "user", "content": '[mock:tool=get_weather,get_time] [mock:answer="scripted"]'}
    history = [ROUND_TRIP_HISTORY[0], prompt, *ROUND_TRIP_HISTORY[2:]]
    result = answer(client, query=None, history=history, tools=[WEATHER, TIME])
    assert result["answer"] == "Mock answer from m: the tool returned 18 C and sunny; 14:05"


def test_answer_directive_loses_to_tool_calls(client):
    result = answer(client, query='[mock:tool=get_time] [mock:answer="scripted"]', tools=[WEATHER, TIME])
    assert result["finish_reason"] == "tool_calls"


def test_one_tool_result_and_assistant_content_null(client):
    call = {"id": "c", "name": "get_weather", "arguments": "{}"}
    history = [{"role": "user", "content": "w?"},
               {"role": "assistant", "content": None, "tool_calls": [call]},
               {"role": "tool", "tool_call_id": "c", "content": "rain"}]
    result = answer(client, query=None, history=history)
    assert result["answer"] == "Mock answer from m: the tool returned rain"


def test_directives_are_read_from_the_latest_user_turn_when_query_is_null(client):
    history = [{"role": "user", "content": "[mock:status=503]"}, *ROUND_TRIP_HISTORY[2:]]
    assert post(client, body(None, history=history)).status_code == 503
    history = [{"role": "user", "content": "[mock:echo]"}, *ROUND_TRIP_HISTORY[2:]]
    echoed = json.loads(answer(client, query=None, history=history)["answer"])
    assert echoed["history"] == history and echoed["query"] is None


def test_tool_results_with_max_tokens_are_cut(client):
    result = answer(client, query=None, history=ROUND_TRIP_HISTORY, model_info={"name": "m", "max_tokens": 3})
    assert result["answer"] == "Mock answer from" and result["finish_reason"] == "length"


def test_history_tool_calls_count_towards_prompt_tokens(client):
    short_call = {"id": "c", "name": "f", "arguments": "{}"}
    bare = [{**turn, "tool_calls": [short_call]} if turn["role"] == "assistant" else turn for turn in ROUND_TRIP_HISTORY]
    full = answer(client, query=None, history=ROUND_TRIP_HISTORY)["usage"]["prompt_tokens"]
    assert answer(client, query=None, history=bare)["usage"]["prompt_tokens"] < full


def test_a_new_user_query_after_tool_results_is_answered_normally(client):
    result = answer(client, query="thanks [mock:tool=get_time]", history=ROUND_TRIP_HISTORY, tools=[WEATHER, TIME])
    assert [call["name"] for call in result["tool_calls"]] == ["get_time"]


def test_echo_shows_the_tools_the_backend_received(client):
    result = answer(client, query="[mock:echo]", tools=[WEATHER], tool_choice="auto", parallel_tool_calls=True)
    echoed = json.loads(result["answer"])
    assert echoed["tools"] == [WEATHER] and echoed["tool_choice"] == "auto" and echoed["parallel_tool_calls"] is True


def test_tool_calls_win_over_echo(client):
    result = answer(client, query="[mock:echo]", tools=[WEATHER], tool_choice="required")
    assert result["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    "extra, param",
    [
        ({"tools": {"name": "x"}}, "tools"),
        ({"tools": ["get_weather"]}, "tools[0]"),
        ({"tools": [{"description": "no name"}]}, "tools[0].name"),
        ({"tools": [{"name": ""}]}, "tools[0].name"),
        ({"tools": [{"name": "f", "description": 3}]}, "tools[0].description"),
        ({"tools": [{"name": "f", "parameters": "object"}]}, "tools[0].parameters"),
        ({"tools": [WEATHER], "tool_choice": "always"}, "tool_choice"),
        ({"tools": [WEATHER], "tool_choice": 1}, "tool_choice"),
        ({"tools": [WEATHER], "tool_choice": {"name": "get_time"}}, "tool_choice.name"),
        ({"tools": [WEATHER], "tool_choice": {"function": {"name": "get_weather"}}}, "tool_choice.name"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tool_choice": "auto"}, "tool_choice"),
        ({"tool_choice": {"name": "get_weather"}}, "tool_choice.name"),
        ({"tools": [WEATHER], "parallel_tool_calls": "yes"}, "parallel_tool_calls"),
        ({"history": [{"role": "tool", "tool_call_id": "", "content": "x"}]}, "history[0].tool_call_id"),
        ({"history": [{"role": "tool", "tool_call_id": "c", "content": None}]}, "history[0].content"),
        ({"history": [{"role": "tool", "tool_call_id": "c", "content": {"temp": 18}}]}, "history[0].content"),
        ({"history": [{"role": "assistant", "content": None}]}, "history[0].content"),
        ({"history": [{"role": "assistant", "tool_calls": {"id": "c"}}]}, "history[0].tool_calls"),
        ({"history": [{"role": "assistant", "tool_calls": [{"name": "f", "arguments": "{}"}]}]},
         "history[0].tool_calls[0].id"),
        ({"history": [{"role": "assistant", "tool_calls": [{"id": "c", "arguments": "{}"}]}]},
         "history[0].tool_calls[0].name"),
        ({"history": [{"role": "assistant", "tool_calls": [{"id": "c", "name": "f", "arguments": {}}]}]},
         "history[0].tool_calls[0].arguments"),
        ({"history": [{"role": "assistant", "content": 5, "tool_calls": []}]}, "history[0].content"),
        ({"tools": [{"name": "f", "parameters": {"$ref": "#/$defs/Nope"}}], "tool_choice": "required"},
         "tools[0].parameters"),
    ],
)
def test_bad_tool_fields_are_400_naming_the_field(client, extra, param):
    response = post(client, body(**extra))
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == param


@pytest.mark.parametrize(
    "history",
    [[], [{"role": "user", "content": "q"}], ROUND_TRIP_HISTORY[:3],
     ROUND_TRIP_HISTORY + [{"role": "user", "content": "x"}]],
)
def test_query_null_is_only_allowed_after_a_tool_turn(client, history):
    response = post(client, body(None, history=history))
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == "query"


# Streams: text pieces, then each call's first event (index, id, name, first fragment), then the rest.


def stream(client, **extra):
    return events(post(client, {**body(**extra), "stream": True}))


def tool_events(streamed):
    return [event["tool_call"] for event in streamed[:-2] if "tool_call" in event]


def test_stream_sends_each_call_in_two_fragments_with_distinct_indexes(client):
    whole = answer(client, query="[mock:tool=get_weather,get_time]", tools=[WEATHER, TIME])
    streamed = stream(client, query="[mock:tool=get_weather,get_time]", tools=[WEATHER, TIME])
    assert streamed[-1] == "[DONE]"
    final = streamed[-2]
    assert final["finish_reason"] == "tool_calls" and final["delta"] == ""
    assert final["usage"] == whole["usage"]
    assert all("tool_call" in event for event in streamed[:-2])  # no empty text delta before the calls
    fragments = tool_events(streamed)
    assert [fragment["index"] for fragment in fragments] == [0, 0, 1, 1]
    for index, call in enumerate(whole["tool_calls"]):
        first, rest = fragments[2 * index], fragments[2 * index + 1]
        assert first["id"] == call["id"] and first["name"] == call["name"]
        assert set(rest) == {"index", "arguments"}
        assert first["arguments"] and rest["arguments"]
        assert first["arguments"] + rest["arguments"] == call["arguments"]


def test_stream_splits_empty_arguments_into_two_fragments(client):
    fragments = tool_events(stream(client, tools=[NO_PARAMS], tool_choice="required"))
    assert [fragment["arguments"] for fragment in fragments] == ["{", "}"]


def test_stream_can_fail_between_tool_call_fragments(client):
    streamed = stream(client, query="[mock:tool=get_weather] [mock:fail_after=1]", tools=[WEATHER])
    assert "tool_call" in streamed[0] and streamed[1]["error"]["code"] == "500"
    assert len(streamed) == 2


def test_stream_of_a_tool_result_answer_is_text(client):
    streamed = stream(client, query=None, history=ROUND_TRIP_HISTORY)
    text = "".join(event["delta"] for event in streamed[:-2])
    assert text == "Mock answer from m: the tool returned 18 C and sunny; 14:05"
    assert not tool_events(streamed)

