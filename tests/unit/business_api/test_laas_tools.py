"""The LaaS mock follows the adapter's tool-emulation prompt: calls on [mock:tool=...], results quoted after."""

import json

import jsonschema
import pytest

from adapter.providers import tool_emulation as te

from .conftest import LAAS, PRESET_HASH

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "unit": {"enum": ["c", "f"]}}, "required": ["city", "unit"]}}}
TIME = {"type": "function", "function": {"name": "get_time"}}


def ask(client, text, **options):
    """What the adapter sends for `text` with these tool options, and the mock's answer content."""
    messages, _, _ = te.prepare([{"role": "user", "content": text}], {"tools": [WEATHER, TIME], **options})
    response = client.post("/api/preset/v2/chat/completions", headers=LAAS,
                           json={"hash": PRESET_HASH, "messages": messages})
    return response


def calls_in(response):
    assert response.status_code == 200, response.get_json()
    text, calls = te.parse_answer(response.get_json()["choices"][0]["message"]["content"], te.Plan(("get_weather",
                                                                                                    "get_time")))
    return text, calls


def test_the_directive_gives_a_call_with_a_schema_valid_minimal_instance(client):
    text, [call] = calls_in(ask(client, "weather? [mock:tool=get_weather]"))
    assert text == "" and call["function"]["name"] == "get_weather"
    jsonschema.validate(json.loads(call["function"]["arguments"]), WEATHER["function"]["parameters"])


def test_args_directive_gives_the_arguments_and_several_names_several_calls(client):
    _, calls = calls_in(ask(client, '[mock:tool=get_weather,get_time] [mock:args={"city": "Oslo"}]'))
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == \
        [("get_weather", {"city": "Oslo"}), ("get_time", {"city": "Oslo"})]


def test_without_a_directive_auto_answers_text(client):
    assert calls_in(ask(client, "hello")) == ("Mock answer from laas-preset: hello", [])


def test_required_calls_the_first_tool_and_named_calls_that_one(client):
    assert calls_in(ask(client, "hi", tool_choice="required"))[1][0]["function"]["name"] == "get_weather"
    named = {"type": "function", "function": {"name": "get_time"}}
    assert calls_in(ask(client, "[mock:tool=get_weather]", tool_choice=named))[1][0]["function"]["name"] == "get_time"


def test_one_call_when_parallel_calls_are_off(client):
    assert len(calls_in(ask(client, "[mock:tool=get_weather,get_time]", parallel_tool_calls=False))[1]) == 1


def test_no_tools_rendered_means_the_directive_is_ignored(client):
    assert calls_in(ask(client, "[mock:tool=get_weather]", tool_choice="none"))[1] == []


def test_an_unknown_tool_in_the_directive_is_400(client):
    response = ask(client, "[mock:tool=nope]")
    assert response.status_code == 400 and "nope" in response.get_json()["error"]["message"]


def test_after_a_tool_result_the_answer_quotes_it(client):
    history = [{"role": "user", "content": "weather? [mock:tool=get_weather]"},
               {"role": "assistant", "content": None, "tool_calls": [
                   {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
               {"role": "tool", "tool_call_id": "call_1", "content": "18 C and sunny"}]
    messages, _, _ = te.prepare(history, {"tools": [WEATHER]})
    response = client.post("/api/preset/v2/chat/completions", headers=LAAS,
                           json={"hash": PRESET_HASH, "messages": messages})
    answer = response.get_json()["choices"][0]["message"]["content"]
    assert answer == "Mock answer from laas-preset: the tool returned 18 C and sunny"


@pytest.mark.parametrize("line", ["not json", '["x"]'])
def test_a_section_that_is_not_tool_lines_is_no_offer(client, line):
    messages = [{"role": "system", "content": f"<tools>\n{line}\n</tools>"},
                {"role": "user", "content": "x [mock:tool=x]"}]
    response = client.post("/api/preset/v2/chat/completions", headers=LAAS,
                           json={"hash": PRESET_HASH, "messages": messages})
    assert response.get_json()["choices"][0]["message"]["content"] == "Mock answer from laas-preset: x [mock:tool=x]"


def test_the_last_section_is_the_offer(client):
    rendered, _, _ = te.prepare([{"role": "system", "content": "Docs: <tools>\nprose\n</tools>"},
                                 {"role": "user", "content": "[mock:tool=get_time]"}], {"tools": [TIME]})
    response = client.post("/api/preset/v2/chat/completions", headers=LAAS,
                           json={"hash": PRESET_HASH, "messages": rendered})
    assert calls_in(response)[1][0]["function"]["name"] == "get_time"
