"""adapter.providers.tool_emulation: tools rendered into the prompt, calls parsed back whole and piece by piece."""

import json

import pytest

from adapter.providers import tool_emulation as te
from adapter.upstream.errors import AdapterError

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
TIME = {"type": "function", "function": {"name": "get_time"}}
PLAN = te.Plan(("get_weather", "get_time"))
CALL = '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'


def section(messages):
    return messages[0]["content"] if messages[0]["role"] == "system" else None


def test_tools_are_rendered_as_json_lines_with_the_exact_answer_format():
    messages, rest, plan = te.prepare([{"role": "user", "content": "hi"}], {"tools": [WEATHER, TIME], "temperature": 1})
    text = section(messages)
    lines = text.split("<tools>\n")[1].split("\n</tools>")[0].splitlines()
    assert [json.loads(line) for line in lines] == [WEATHER["function"], TIME["function"]]
    assert '<tool_call>{"name": "TOOL_NAME", "arguments": {...}}</tool_call>' in text
    assert te.CHOICE_AUTO in text
    assert rest == {"temperature": 1} and plan == PLAN
    assert messages[1] == {"role": "user", "content": "hi"}


def test_the_section_is_appended_to_the_first_system_message():
    messages, _, _ = te.prepare([{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hi"}],
                                {"tools": [WEATHER]})
    assert messages[0]["role"] == "system" and messages[0]["content"].startswith("Be brief.\n\n# Tools\n")
    parts, _, _ = te.prepare([{"role": "system", "content": [{"type": "text", "text": "A"}]},
                              {"role": "user", "content": "hi"}], {"tools": [WEATHER]})
    assert parts[0]["content"][0] == {"type": "text", "text": "A"} and "<tools>" in parts[0]["content"][1]["text"]


@pytest.mark.parametrize("choice, expected", [
    ("required", te.CHOICE_REQUIRED),
    ({"type": "function", "function": {"name": "get_time"}}, te.CHOICE_NAMED.format(name="get_time")),
])
def test_tool_choice_is_said_in_the_instruction(choice, expected):
    messages, _, _ = te.prepare([{"role": "user", "content": "hi"}], {"tools": [WEATHER, TIME], "tool_choice": choice})
    assert expected in section(messages) and te.CHOICE_AUTO not in section(messages)


def test_tool_choice_none_renders_no_tools_and_reads_no_calls():
    messages, rest, plan = te.prepare([{"role": "user", "content": "hi"}], {"tools": [WEATHER], "tool_choice": "none"})
    assert messages == [{"role": "user", "content": "hi"}] and rest == {} and plan == te.Plan()
    assert te.parse_answer(CALL, plan) == (CALL, [])


def test_parallel_tool_calls_false_asks_for_one_call_and_keeps_only_the_first():
    messages, _, plan = te.prepare([{"role": "user", "content": "hi"}],
                                   {"tools": [WEATHER, TIME], "parallel_tool_calls": False})
    assert te.ONE_CALL.strip() in section(messages) and plan.parallel is False
    _, calls = te.parse_answer(CALL + "\n" + CALL.replace("get_weather", "get_time"), plan)
    assert [call["function"]["name"] for call in calls] == ["get_weather"]


@pytest.mark.parametrize("options, param", [
    ({"tools": "x"}, "tools"), ({"tools": [{"type": "web_search"}]}, "tools[0]"),
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
    ({"tools": [WEATHER], "parallel_tool_calls": "yes"}, "parallel_tool_calls"),
    ({"tool_choice": "required"}, "tool_choice"),
])
def test_bad_tool_options_are_400_naming_the_parameter(options, param):
    with pytest.raises(AdapterError) as caught:
        te.prepare([{"role": "user", "content": "hi"}], options)
    assert caught.value.status_code == 400 and caught.value.param == param


def test_a_round_trip_is_rendered_as_text_turns():
    messages = [
        {"role": "user", "content": "Weather in Oslo and the time?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}},
            {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "noon"}]},
    ]
    rendered = te.render_messages(messages, None)
    assert rendered[1] == {"role": "assistant", "content": CALL + "\n"
                           + '<tool_call>{"name": "get_time", "arguments": {}}</tool_call>'}
    assert rendered[2] == {"role": "user", "content": '<tool_result id="call_1" name="get_weather">\n18 C\n'
                           '</tool_result>\n<tool_result id="call_2" name="get_time">\nnoon\n</tool_result>'}
    assert len(rendered) == 3


@pytest.mark.parametrize("message, param", [
    ({"role": "tool", "content": "x"}, "messages[0].tool_call_id"),
    ({"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{bad"}}]},
     "messages[0].tool_calls[0].function.arguments"),
    ({"role": "assistant", "tool_calls": [{"function": {}}]}, "messages[0].tool_calls[0].function"),
])
def test_bad_tool_turns_are_400_naming_them(message, param):
    with pytest.raises(AdapterError) as caught:
        te.render_messages([message], None)
    assert caught.value.status_code == 400 and caught.value.param == param


def test_a_whole_answer_gives_its_text_and_calls():
    text, [call] = te.parse_answer(f"Let me check.\n{CALL}\n", PLAN, seed="laas-1")
    assert text == "Let me check."
    assert call["type"] == "function" and call["id"].startswith("call_") and len(call["id"]) == 29
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Oslo"}'}
    assert te.parse_answer(CALL, PLAN, seed="laas-2")[1][0]["id"] != call["id"]  # ids differ between answers


def test_arguments_written_as_a_json_string_are_accepted():
    _, [call] = te.parse_answer('<tool_call>{"name": "get_time", "arguments": "{\\"tz\\": \\"UTC\\"}"}</tool_call>',
                                PLAN)
    assert json.loads(call["function"]["arguments"]) == {"tz": "UTC"}


@pytest.mark.parametrize("written", [
    "<tool_call>{not json}</tool_call>",
    '<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>',
    '<tool_call>{"name": "get_time", "arguments": [1]}</tool_call>',
    '<tool_call>{"name": "get_time", "arguments": "{nope"}</tool_call>',
    '<tool_call>["get_time"]</tool_call>',
    '<tool_call>{"name": "get_time", "arguments": {}}',  # never closed
])
def test_a_malformed_call_stays_text(written):
    assert te.parse_answer(f"before {written} after", PLAN) == (f"before {written} after", [])


def test_a_malformed_call_next_to_a_good_one_stays_text_beside_it():
    text, calls = te.parse_answer(f"<tool_call>oops</tool_call>{CALL}", PLAN)
    assert text == "<tool_call>oops</tool_call>" and len(calls) == 1


@pytest.mark.parametrize("size", [1, 2, 3, 7, 11, 1000])
def test_split_pieces_give_the_same_result_as_the_whole_answer(size):
    answer = f"Checking <tools> and <tool_ stuff.\n{CALL}\n<tool_call>bad</tool_call>\n" \
             + CALL.replace("get_weather", "get_time")
    reader = te.CallReader(PLAN, seed="s")
    items = []
    for start in range(0, len(answer), size):
        items += reader.feed(answer[start:start + size])
    items += reader.finish()
    text = "".join(value for kind, value in items if kind == "text")
    calls = [value for kind, value in items if kind == "call"]
    whole_text, whole_calls = te.parse_answer(answer, PLAN, seed="s")
    assert text.strip() == whole_text and calls == whole_calls and len(calls) == 2


def test_text_that_cannot_start_a_call_is_given_out_at_once():
    reader = te.CallReader(PLAN)
    assert reader.feed("Hello <tool") == [("text", "Hello ")]
    assert reader.feed("box> bye") == [("text", "<toolbox> bye")]
    assert reader.finish() == []


def test_a_required_call_the_model_did_not_make_leaves_the_text():
    plan = te.Plan(("get_weather",))
    assert te.parse_answer("I cannot call tools today.", plan) == ("I cannot call tools today.", [])


def test_a_plain_chat_is_left_as_it_is():
    messages, sent = [{"role": "user", "content": "hi"}], {"temperature": 1}
    kept, rest, plan = te.prepare(messages, sent)
    assert kept is messages and rest is sent and plan == te.Plan()  # no copies on the common path
