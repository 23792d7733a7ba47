"""Tool calling and structured output through the real proxy and mock, with the openai SDK, streamed and not."""

import json

import jsonschema
import openai
import pytest

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
                   "required": ["city", "unit"]}}}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {
    "type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}}}


def chat(stack, messages, **options):
    return stack.client().chat.completions.create(model="my-custom-model", messages=messages, **options)


def streamed_calls(stream) -> tuple[dict, str | None, list]:
    """Reassemble tool calls from stream deltas the way the openai SDK's users do; also return every delta."""
    calls, finish, deltas = {}, None, []
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for delta in choice.delta.tool_calls or []:
            deltas.append(delta)
            call = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
            call["id"] = call["id"] or delta.id
            call["name"] = call["name"] or (delta.function.name if delta.function else None)
            call["arguments"] += (delta.function.arguments or "") if delta.function else ""
    return calls, finish, deltas


def test_named_tool_choice_calls_it_with_schema_valid_arguments(stack):
    reply = chat(stack, [{"role": "user", "content": "Weather in Paris?"}], tools=[WEATHER, TIME],
                 tool_choice={"type": "function", "function": {"name": "get_weather"}})
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather" and call.id.startswith("call_")
    jsonschema.validate(json.loads(call.function.arguments), WEATHER["function"]["parameters"])


def test_auto_answers_text_unless_the_user_asks_for_a_tool(stack):
    plain = chat(stack, [{"role": "user", "content": "Hello"}], tools=[WEATHER], tool_choice="auto")
    assert plain.choices[0].message.tool_calls is None and plain.choices[0].finish_reason == "stop"
    called = chat(stack, [{"role": "user", "content": 'go [mock:tool=get_weather] [mock:args={"city": "Oslo", "unit": "c"}]'}],
                  tools=[WEATHER])
    assert json.loads(called.choices[0].message.tool_calls[0].function.arguments) == {"city": "Oslo", "unit": "c"}


def test_full_round_trip_answers_with_the_tool_result(stack):
    ask = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}]
    first = chat(stack, ask, tools=[WEATHER], tool_choice="required")
    call = first.choices[0].message.tool_calls[0]
    history = ask + [first.choices[0].message.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": call.id, "content": "18 C and sunny"}]
    final = chat(stack, history, tools=[WEATHER])
    assert final.choices[0].finish_reason == "stop"
    assert "18 C and sunny" in final.choices[0].message.content


def test_streamed_tool_calls_match_the_non_streamed_ones(stack):
    # 50 ms between fragments: a client that keeps up gets each alone (fragments that arrive together are merged).
    messages = [{"role": "user", "content": "both please [mock:tool=get_weather,get_time] [mock:chunk_delay=50]"}]
    whole = chat(stack, messages, tools=[WEATHER, TIME]).choices[0].message.tool_calls
    calls, finish, deltas = streamed_calls(chat(stack, messages, tools=[WEATHER, TIME], stream=True))
    assert finish == "tool_calls"
    assert sorted(calls) == [0, 1]
    assert [(c["id"], c["name"], c["arguments"]) for c in (calls[0], calls[1])] == \
        [(c.id, c.function.name, c.function.arguments) for c in whole]
    assert calls[0]["id"] != calls[1]["id"]
    for index in (0, 1):
        mine = [d for d in deltas if d.index == index]
        first = mine[0]
        assert first.id and first.type == "function" and first.function.name  # what strict clients require
        assert len([d for d in mine if d.function and d.function.arguments]) >= 2  # arguments arrive in fragments


def test_json_schema_answer_validates_against_the_schema(stack):
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 1},
                                               "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
              "required": ["name", "age", "tags"], "additionalProperties": False}
    reply = chat(stack, [{"role": "user", "content": "Describe a person"}],
                 response_format={"type": "json_schema", "json_schema": {"name": "Person", "schema": schema, "strict": True}})
    jsonschema.validate(json.loads(reply.choices[0].message.content), schema)


def test_json_object_answer_is_json(stack):
    reply = chat(stack, [{"role": "user", "content": 'Give JSON [mock:json={"ok": [1, 2]}]'}],
                 response_format={"type": "json_object"})
    assert json.loads(reply.choices[0].message.content) == {"ok": [1, 2]}


@pytest.mark.parametrize("options", [
    {"presence_penalty": 0}, {"frequency_penalty": 0}, {"seed": 7}, {"store": False}, {"logprobs": False},
    {"response_format": {"type": "text"}}, {"n": 1}, {"metadata": {"team": "a"}}, {"service_tier": "auto"},
    {"reasoning_effort": "low"}, {"user": "u-1"}, {"parallel_tool_calls": True, "tools": [WEATHER]},
])
def test_defaults_real_clients_send_are_accepted(stack, options):
    reply = chat(stack, [{"role": "user", "content": "hi"}], **options)
    assert reply.choices[0].message.content.endswith("hi")


@pytest.mark.parametrize("model", ["my-custom-model", "claude-3.5-sonnet"])
def test_answer_changing_parameters_are_refused_naming_them(stack, model):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}], logprobs=True)
    assert caught.value.body["param"] == "logprobs"
    assert "logprobs" in caught.value.body["message"]


def test_handler_400s_carry_param(stack):
    with pytest.raises(openai.BadRequestError) as caught:
        chat(stack, [{"role": "user", "content": "x"}, {"role": "tool", "content": "y"}])
    assert caught.value.body["param"] == "messages[1].tool_call_id"


def test_a_conversation_the_backend_cannot_answer_gets_its_400(stack):
    # business.yaml sends no query when the conversation ends with the assistant; the business API says why.
    with pytest.raises(openai.BadRequestError) as caught:
        chat(stack, [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}])
    assert caught.value.body["message"].startswith("the business backend refused the request: 'query' must be")


def test_directives_survive_an_agents_wrapping(stack):
    # opencode JSON-quotes the prompt (escaped args); Claude Code's reminders arrive as later user text.
    prompt = json.dumps('Weather? [mock:tool=get_weather] [mock:args={"city": "Oslo", "unit": "c"}]')[1:-1]
    messages = [{"role": "user", "content": prompt},
                {"role": "user", "content": "<system-reminder>a.py changed</system-reminder>"}]
    reply = chat(stack, messages, tools=[WEATHER])
    [call] = reply.choices[0].message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Oslo", "unit": "c"}
