"""adapter.door.checks.hosted: hosted tools dropped when optional, refused when forced, named safely."""

import copy

import pytest

from adapter.door.checks import RequestProblem
from adapter.door.checks.hosted import drop_hosted_tools

SHELL = {"type": "function", "name": "shell", "parameters": {"type": "object"}}
AGENTS = {"type": "namespace", "name": "multi_agent_v1", "tools": [SHELL]}
PATCH = {"type": "custom", "name": "apply_patch"}


def responses(tools, **options):
    return {"model": "m", "input": "hi", "tools": copy.deepcopy(tools), **options}


def test_hosted_tools_are_dropped_and_named_once_in_order():
    body = responses([{"type": "web_search", "external_web_access": False}, SHELL, {"type": "file_search"}, AGENTS,
                      {"type": "web_search"}, PATCH], tool_choice="auto")
    assert drop_hosted_tools("responses", body) == ("web_search", "file_search")
    assert body["tools"] == [SHELL, AGENTS, PATCH]


def test_only_hosted_tools_leave_no_tools_key():
    body = responses([{"type": "code_interpreter", "container": {"type": "auto"}}, {"type": "image_generation"}])
    assert drop_hosted_tools("responses", body) == ("code_interpreter", "image_generation")
    assert "tools" not in body


def test_callable_tools_alone_are_left_as_they_are():
    body = responses([SHELL, AGENTS, PATCH], tool_choice={"type": "function", "name": "shell"})
    assert drop_hosted_tools("responses", body) == ()
    assert body["tools"] == [SHELL, AGENTS, PATCH]


@pytest.mark.parametrize("forced", ["web_search", "web_search_preview", "file_search", "mcp", "computer_use_preview"])
def test_forcing_a_hosted_tool_is_a_400_naming_it(forced):
    body = responses([SHELL, {"type": forced}], tool_choice={"type": forced})
    with pytest.raises(RequestProblem) as caught:
        drop_hosted_tools("responses", body)
    assert caught.value.param == "tool_choice" and f"'{forced}'" in caught.value.message


def test_required_with_only_hosted_tools_is_a_400():
    with pytest.raises(RequestProblem) as caught:
        drop_hosted_tools("responses", responses([{"type": "web_search"}], tool_choice="required"))
    assert caught.value.param == "tool_choice" and "web_search" in caught.value.message


def test_a_tool_without_a_string_type_is_a_400():
    with pytest.raises(RequestProblem) as caught:
        drop_hosted_tools("responses", responses([SHELL, {"name": "x"}]))
    assert caught.value.param == "tools[1].type"


def test_a_tool_type_is_named_without_line_breaks_or_length():
    body = responses([{"type": "evil\r\nset-cookie: x" + "y" * 500}])
    [name] = drop_hosted_tools("responses", body)
    assert "\r" not in name and "\n" not in name and " " not in name and len(name) == 100


def test_chat_web_search_options_are_dropped_and_named():
    body = {"model": "m", "messages": [], "web_search_options": {"search_context_size": "low"}}
    assert drop_hosted_tools("chat", body) == ("web_search",)
    assert "web_search_options" not in body
    assert drop_hosted_tools("chat", {"model": "m", "messages": []}) == ()


SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
FETCH = {"type": "web_fetch_20250910", "name": "web_fetch"}
BASH = {"type": "bash_20250124", "name": "bash"}  # a client tool: the client runs it
CUSTOM = {"name": "f", "input_schema": {"type": "object"}}


def messages(tools, **options):
    return {"model": "m", "max_tokens": 5, "messages": [], "tools": copy.deepcopy(tools), **options}


@pytest.mark.parametrize("choice", [None, {"type": "auto"}, {"type": "any"}, {"type": "tool", "name": "f"}])
def test_anthropic_server_tools_are_dropped_unless_forced(choice):
    options = {"tool_choice": choice} if choice else {}
    body = messages([SEARCH, CUSTOM, FETCH, BASH, {**SEARCH, "name": "again"}], **options)
    assert drop_hosted_tools("messages", body) == ("web_search_20250305", "web_fetch_20250910")
    assert body["tools"] == [CUSTOM, BASH] and body.get("tool_choice") == choice


def test_anthropic_server_tools_alone_leave_neither_tools_nor_tool_choice():
    execution = {"type": "code_execution_20250825", "name": "code_execution"}
    body = messages([SEARCH, execution], tool_choice={"type": "auto"})
    assert drop_hosted_tools("count_tokens", body) == ("web_search_20250305", "code_execution_20250825")
    assert "tools" not in body and "tool_choice" not in body


@pytest.mark.parametrize("tools, choice, param", [([CUSTOM, SEARCH], {"type": "tool", "name": "web_search"},
                                                   "tool_choice.name"),
                                                  ([SEARCH], {"type": "any"}, "tool_choice.type")])
def test_forcing_an_anthropic_server_tool_is_a_400_naming_it(tools, choice, param):
    with pytest.raises(RequestProblem) as caught:
        drop_hosted_tools("messages", messages(tools, tool_choice=choice))
    assert caught.value.param == param and "web_search_20250305" in caught.value.message


def test_custom_and_client_tools_alone_are_left_as_they_are():
    body = messages([CUSTOM, BASH], tool_choice={"type": "tool", "name": "bash"})
    assert drop_hosted_tools("messages", body) == () and body["tools"] == [CUSTOM, BASH]
