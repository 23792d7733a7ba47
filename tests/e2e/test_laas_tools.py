"""Tool emulation on LaaS through the real proxy and mock, with the openai SDK: round trips, tool_choice, the switch."""

import json

import openai
import pytest

from .conftest import extra_proxy
from .test_tools import TIME, WEATHER, streamed_calls

MODEL = "claude-3.5-sonnet"
RESULT = "18 C and sunny in Paris"


def chat(stack, messages, **options):
    return stack.client().chat.completions.create(model=MODEL, messages=messages, **options)


def round_trip_history(ask, call_id, name, arguments):
    return ask + [{"role": "assistant", "content": None, "tool_calls": [
                      {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}]},
                  {"role": "tool", "tool_call_id": call_id, "content": RESULT}]


def test_a_round_trip_brings_the_tool_result_into_the_answer(stack):
    ask = [{"role": "system", "content": "Be brief."},
           {"role": "user",
            "content": 'Weather in Paris? [mock:tool=get_weather] [mock:args={"city": "Paris", "unit": "c"}]'}]
    first = chat(stack, ask, tools=[WEATHER, TIME])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_") and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "c"}
    final = chat(stack, round_trip_history(ask, call.id, call.function.name, call.function.arguments),
                 tools=[WEATHER, TIME])
    assert final.choices[0].finish_reason == "stop" and final.choices[0].message.tool_calls is None
    assert RESULT in final.choices[0].message.content


def test_a_streamed_round_trip_brings_the_tool_result_into_the_answer(stack):
    ask = [{"role": "user", "content": "Weather in Paris? [mock:tool=get_weather]"}]
    calls, finish, deltas = streamed_calls(chat(stack, ask, tools=[WEATHER], stream=True))
    assert finish == "tool_calls" and list(calls) == [0]
    call = calls[0]
    assert call["id"].startswith("call_") and call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "string", "unit": "c"}  # the schema's minimal instance
    assert deltas[0].type == "function"
    stream = chat(stack, round_trip_history(ask, call["id"], call["name"], call["arguments"]), tools=[WEATHER],
                  stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert RESULT in text


def test_tool_choice_none_answers_text_even_when_asked_for_a_tool(stack):
    reply = chat(stack, [{"role": "user", "content": "hi [mock:tool=get_weather]"}], tools=[WEATHER],
                 tool_choice="none")
    assert reply.choices[0].message.tool_calls is None
    assert reply.choices[0].message.content == "Mock answer from laas-preset: hi [mock:tool=get_weather]"


def test_tool_choice_required_and_named_are_followed(stack):
    required = chat(stack, [{"role": "user", "content": "hi"}], tools=[WEATHER, TIME], tool_choice="required")
    assert [c.function.name for c in required.choices[0].message.tool_calls] == ["get_weather"]
    named = chat(stack, [{"role": "user", "content": "hi [mock:tool=get_weather]"}], tools=[WEATHER, TIME],
                 tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert [c.function.name for c in named.choices[0].message.tool_calls] == ["get_time"]


def test_a_bad_tool_choice_is_a_400_naming_it(stack):
    with pytest.raises(openai.BadRequestError) as caught:
        chat(stack, [{"role": "user", "content": "hi"}], tools=[WEATHER],
             tool_choice={"type": "function", "function": {"name": "nope"}})
    assert caught.value.body["param"] == "tool_choice"


def test_a_laas_model_without_the_switch_refuses_tools(stack, tmp_path):
    plain = {"model_name": "laas-plain", "litellm_params": {"model": "laas/laas-plain"}}
    with extra_proxy(tmp_path, models=[plain], LAAS_API_BASE=f"{stack.business_url}/api/preset/v2",
                     LAAS_API_KEY=stack.settings.laas_api_key,
                     LAAS_PRESET_HASH=stack.settings.laas_preset_hash) as client:
        answer = client.chat.completions.create(model="laas-plain", messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content == "Mock answer from laas-preset: hi"
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(model="laas-plain", messages=[{"role": "user", "content": "hi"}],
                                           tools=[WEATHER])
    assert caught.value.status_code == 400 and caught.value.body["param"] == "tools"
    assert "'tools': tool calling is not supported by LaaS" in caught.value.body["message"]


def test_the_responses_api_gets_emulated_calls_too(stack):
    tool = {"type": "function", "name": "get_weather", "parameters": WEATHER["function"]["parameters"]}
    first = stack.client().responses.create(model=MODEL, input="Weather? [mock:tool=get_weather]", tools=[tool])
    [call] = [item for item in first.output if item.type == "function_call"]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "string", "unit": "c"}
    final = stack.client().responses.create(model=MODEL, tools=[tool], input=[
        {"role": "user", "content": "Weather? [mock:tool=get_weather]"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": RESULT}])
    assert RESULT in final.output_text
