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
