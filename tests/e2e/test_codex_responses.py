"""A Codex-shaped Responses request through the real proxy: hosted tools dropped, namespaces, early errors as HTTP."""

import copy
import json
import time

import openai
import pytest

DROPPED = "x-adapter-dropped-tools"
EXEC = {"type": "function", "name": "exec_command", "description": "Runs a command in a PTY.", "strict": False,
        "parameters": {"type": "object", "properties": {"cmd": {"type": "string", "description": "Shell command"}},
                       "required": ["cmd"], "additionalProperties": False}}
AGENTS = {"type": "namespace", "name": "multi_agent_v1", "description": "Tools for spawning and managing sub-agents.",
          "tools": [{"type": "function", "name": "close_agent", "description": "Close an agent.", "strict": False,
                     "parameters": {"type": "object", "properties": {"target": {"type": "string"}},
                                    "required": ["target"], "additionalProperties": False}}]}
# The shape Codex CLI 0.169 sends on its first turn (captured from `codex exec`, trimmed): no `instructions` (its
# prompt rides in developer messages), a web_search hosted tool it always adds, a namespace of sub-agent tools.
CODEX = {
    "model": "my-custom-model",
    "input": [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context/>"}]},
    ],
    "tools": [EXEC, AGENTS, {"type": "web_search", "external_web_access": False}],
    "tool_choice": "auto", "parallel_tool_calls": True, "reasoning": {"summary": "auto"}, "store": False,
    "include": ["reasoning.encrypted_content"], "prompt_cache_key": "01a24d99-1781-7fd1-a908-598917c69611",
}
CLIENT_METADATA = {"client_metadata": {"session_id": "01a24d99", "x-codex-window-id": "01a24d99:0"}}


def codex_request(text: str, **changes) -> dict:
    request = copy.deepcopy(CODEX)
    request["input"].append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    return {**request, **changes, "extra_body": CLIENT_METADATA}


def test_codex_first_turn_streams_an_answer_and_names_the_dropped_tool(stack):
    raw = stack.client().responses.with_raw_response.create(**codex_request("say hello"), stream=True)
    assert raw.status_code == 200 and raw.headers[DROPPED] == "web_search"
    events = list(raw.parse())
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "Mock answer from my-custom-model: say hello"


def test_codex_request_answers_whole_too(stack):
    # Earlier Codex releases sent their prompt as `instructions`.
    raw = stack.client().responses.with_raw_response.create(**codex_request("say hello", instructions="You are Codex."))
    assert raw.headers[DROPPED] == "web_search"
    assert raw.parse().output_text == "Mock answer from my-custom-model: say hello"


def test_a_namespaced_function_call_round_trip(stack):
    client = stack.client()
    first = client.responses.create(**codex_request("close it [mock:tool=multi_agent_v1__close_agent]"))
    [call] = [item for item in first.output if item.type == "function_call"]
    # What Codex reads: the function's own name and its namespace apart (codex-rs/protocol ToolName).
    assert (call.name, call.namespace) == ("close_agent", "multi_agent_v1")
    request = codex_request("close it [mock:tool=multi_agent_v1__close_agent]")
    request["input"] += [
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "namespace": call.namespace,
         "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "agent closed"},
    ]
    final = client.responses.create(**request, stream=True)
    [done] = [event for event in final if event.type == "response.completed"]
    assert done.response.output_text == "Mock answer from my-custom-model: the tool returned agent closed"


def test_a_streamed_function_call_keeps_its_namespace(stack):
    events = list(stack.client().responses.create(**codex_request("[mock:tool=multi_agent_v1__close_agent]"),
                                                  stream=True))
    [item] = [event.item for event in events if event.type == "response.output_item.done"]
    assert (item.type, item.name, item.namespace) == ("function_call", "close_agent", "multi_agent_v1")


@pytest.mark.parametrize("forced", ["web_search", "file_search", "image_generation"])
def test_forcing_a_hosted_tool_is_a_400_naming_it(stack, forced):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().responses.create(**codex_request("hi", tool_choice={"type": forced}), stream=True)
    assert caught.value.body["param"] == "tool_choice" and f"'{forced}'" in caught.value.body["message"]


def test_an_error_before_the_first_event_is_an_http_error_not_a_stream(stack):
    started = time.monotonic()
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().responses.create(**codex_request("hi", temperature=3), stream=True)
    assert caught.value.status_code == 400 and caught.value.body["param"] == "temperature"
    assert caught.value.response.headers[DROPPED] == "web_search"
    assert time.monotonic() - started < 10
    with pytest.raises(openai.RateLimitError):
        stack.client().responses.create(**codex_request("hi [mock:status=429]"), stream=True)


def test_an_error_after_the_first_event_stays_an_event(stack):
    events = list(stack.client().responses.create(**codex_request("one two three [mock:fail_after=2]"), stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.failed"


def test_the_dropped_tool_is_in_the_proxy_log(stack):
    before = len(stack.proxy_log())
    stack.client().responses.create(**codex_request("log me"))
    assert "dropped hosted tools web_search" in stack.proxy_log()[before:]


def test_chat_web_search_options_are_dropped_and_named(stack):
    raw = stack.client().chat.completions.with_raw_response.create(
        model="my-custom-model", messages=[{"role": "user", "content": "hi"}], web_search_options={})
    assert raw.headers[DROPPED] == "web_search"
    assert raw.parse().choices[0].message.content == "Mock answer from my-custom-model: hi"
    assert json.loads(raw.http_response.text)["object"] == "chat.completion"


PATCH = {"type": "custom", "name": "apply_patch", "description": "Apply a patch.",
         "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}}


def test_a_custom_tool_round_trip_and_a_replayed_reasoning_item(stack):
    # What Codex sends back for its freeform apply_patch tool and for a model that reasoned.
    client = stack.client()
    request = codex_request("patch it [mock:tool=apply_patch]", tools=[EXEC, PATCH])
    [call] = client.responses.create(**request).output
    assert (call.type, call.name) == ("custom_tool_call", "apply_patch")
    request["input"] = [{"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAA",
                         "summary": [{"type": "summary_text", "text": "I should patch."}]}, *request["input"],
                        call.model_dump(exclude_none=True),
                        {"type": "custom_tool_call_output", "call_id": call.call_id, "output": "Success."}]
    final = client.responses.create(**request)
    assert final.output_text == "Mock answer from my-custom-model: the tool returned Success."


def test_a_reasoning_item_with_message_parts_is_a_400(stack):
    bad = {"type": "reasoning", "summary": [], "content": [{"type": "input_text", "text": "x"}]}
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().responses.create(**codex_request("hi", input=[bad, *CODEX["input"]]))
    assert caught.value.body["param"] == "input[0].content[0].type"
