"""Directives that survive agents: escaped JSON in args, reminders after the prompt, quoted in side requests."""

import json

import pytest

from business_api.directives import DirectiveError, parse_directives

from .conftest import LAAS, PRESET_HASH
from .test_process import post
from .test_tools import WEATHER, body

ARGS = {"city": "Oslo", "unit": "celsius"}
# What opencode sends: the prompt JSON-quoted, so every quote inside the directive is escaped.
ESCAPED = json.dumps(f"[mock:tool=get_weather] [mock:args={json.dumps(ARGS)}]")[1:-1]
REMINDER = "<system-reminder>Files changed: a.py. Keep going.</system-reminder>"


def test_escaped_json_args_are_read_as_plain_ones():
    assert '\\"city\\"' in ESCAPED
    assert parse_directives(ESCAPED).args == ARGS
    assert parse_directives(r'[mock:args={\"note\": \"a ] b\", \"n\": [1]}] [mock:echo]').args == {"note": "a ] b",
                                                                                                  "n": [1]}


def test_escaped_backslashes_and_json_values_are_unescaped_too():
    assert parse_directives(r'[mock:args={\"path\": \"C:\\\\tmp\"}]').args == {"path": "C:\\tmp"}
    assert parse_directives(r'[mock:json={\"a\": 1}]').json == {"a": 1}


def test_directives_after_an_escaped_one_are_still_read():
    assert parse_directives(r'[mock:args={\"k\": 1}] then [mock:status=503]').status == 503


@pytest.mark.parametrize("text", [r'[mock:args={\"k\": }]', r'[mock:args={\"k\": 1} ]', r"[mock:args=\"x\"]"])
def test_malformed_escaped_json_is_still_an_error(text):
    with pytest.raises(DirectiveError, match=r"\[mock:args="):
        parse_directives(text)


def call_of(client, **extra):
    response = post(client, body(tools=[WEATHER], **extra))
    assert response.status_code == 200, response.get_json()
    [call] = response.get_json()["tool_calls"]
    return call


def test_process_reads_escaped_args(client):
    call = call_of(client, query=f"Weather? {ESCAPED}")
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == ARGS


def test_process_reads_directives_from_user_text_before_a_reminder(client):
    # LiteLLM turns Claude Code's reminder blocks into later user text: the prompt lands in history, not query.
    history = [{"role": "user", "content": "old turn [mock:status=500]"}, {"role": "assistant", "content": "ok"},
               {"role": "user", "content": f"Weather? {ESCAPED}"}]
    call = call_of(client, query=REMINDER, history=history)
    assert json.loads(call["arguments"]) == ARGS


def test_directives_before_the_last_assistant_turn_are_not_read(client):
    history = [{"role": "user", "content": "[mock:status=503]"}, {"role": "assistant", "content": "ok"}]
    response = post(client, body(query="next", history=history))
    assert response.status_code == 200
    assert response.get_json()["answer"] == "Mock answer from m: next"


def test_a_later_user_text_overrides_an_earlier_one(client):
    history = [{"role": "user", "content": "[mock:status=503]"}]
    assert post(client, body(query="[mock:status=429]", history=history)).status_code == 429


def test_a_malformed_directive_in_an_earlier_user_text_is_400_naming_it(client):
    history = [{"role": "user", "content": "[mock:sleep=x]"}]
    response = post(client, body(query="fine", history=history))
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == "history[0].content"


def test_a_side_request_quoting_the_prompt_still_reads_the_directive(client):
    quoted = f'Write a 5-word title for this conversation:\n"""\nWeather? {ESCAPED}\n"""'
    assert json.loads(call_of(client, query=quoted)["arguments"]) == ARGS


def laas_post(client, messages):
    return client.post("/api/preset/v2/chat/completions", json={"hash": PRESET_HASH, "messages": messages},
                       headers=LAAS)


def test_laas_reads_directives_from_every_user_text_since_the_last_assistant_turn(client):
    messages = [{"role": "user", "content": "[mock:status=500]"}, {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "again [mock:status=503]"}, {"role": "user", "content": REMINDER}]
    assert laas_post(client, messages).status_code == 503
    messages[2]["content"] = "again"
    assert laas_post(client, messages).status_code == 200


def test_laas_names_the_text_holding_a_malformed_directive(client):
    response = laas_post(client, [{"role": "user", "content": r'[mock:args={\"k\": } ]'}])
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == "messages[0].content"
