"""docs/anthropic.md's decision table, row by row: what the backend receives ([mock:echo]) or the 400 that refuses."""

import json

import anthropic
import pytest

from tests.support import media

CUSTOM, LAAS = "my-custom-model", "claude-3.5-sonnet"
TOOL = {"name": "f", "input_schema": {"type": "object", "properties": {}}}


@pytest.fixture()
def client(stack):
    return anthropic.Anthropic(base_url=stack.proxy_url, api_key=stack.master_key, max_retries=0, timeout=30)


def echoed(client, model: str, **extra) -> dict:
    """What the backend received, as the mock echoes it."""
    body = {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "[mock:echo]"}], **extra}
    return json.loads(client.post("/v1/messages", body=body, cast_to=object)["content"][0]["text"])


def refused(client, model: str, **extra) -> str:
    body = {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "[mock:echo]"}], **extra}
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.post("/v1/messages", body=body, cast_to=object)
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    return caught.value.body["error"]["message"]


SYSTEM_BLOCKS = [{"type": "text", "text": "SYS", "cache_control": {"type": "ephemeral"}}]
SYSTEM_TURN = [{"role": "system", "content": "REMIND"}, {"role": "user", "content": "[mock:echo]"}]


def test_system_blocks_and_turns_are_forwarded_without_cache_control(client):
    assert echoed(client, CUSTOM, system=SYSTEM_BLOCKS)["history"] == [{"role": "system", "content": "SYS"}]
    assert echoed(client, CUSTOM, messages=SYSTEM_TURN)["history"] == [{"role": "system", "content": "REMIND"}]
    laas = echoed(client, LAAS, system=SYSTEM_BLOCKS)["messages"][0]
    assert laas == {"role": "system", "content": [{"type": "text", "text": "SYS"}]}
    assert echoed(client, LAAS, messages=SYSTEM_TURN)["messages"][0]["content"][0]["text"] == "REMIND"


@pytest.mark.parametrize("thinking, effort", [({"type": "enabled", "budget_tokens": 1024}, "low"),
                                              ({"type": "adaptive"}, "medium")])
def test_thinking_is_reasoning_effort_on_the_business_backend_and_ignored_by_laas(client, thinking, effort):
    assert echoed(client, CUSTOM, thinking=thinking, max_tokens=2000)["model_info"]["reasoning_effort"] == effort
    sent = echoed(client, LAAS, thinking=thinking, max_tokens=2000)
    assert "thinking" not in sent and "reasoning" not in json.dumps(sent) and sent["messages"]


@pytest.mark.parametrize("model", [CUSTOM, LAAS])
def test_context_management_metadata_and_effort_alone_are_ignored(client, model):
    sent = echoed(client, model, context_management={"edits": [{"type": "clear_tool_uses_20250919"}]},
                  metadata={"user_id": "user-123"}, output_config={"effort": "high"})
    assert "user-123" not in json.dumps(sent) and "clear_tool_uses" not in json.dumps(sent)


def test_an_output_format_is_forwarded_or_refused(client):
    fmt = {"format": {"type": "json_schema", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}
    assert echoed(client, CUSTOM, output_config=fmt)["response_format"]["type"] == "json_schema"
    assert "response_format" in refused(client, LAAS, output_config=fmt)


def test_tools_and_tool_choice_reach_the_business_backend(client):
    body = echoed(client, CUSTOM, tools=[{**TOOL, "cache_control": {"type": "ephemeral"}, "defer_loading": True}],
                  tool_choice={"type": "auto"})
    assert [tool["name"] for tool in body["tools"]] == ["f"]
    assert body["tools"][0]["parameters"] == TOOL["input_schema"]  # neither cache_control nor defer_loading
    # "any" and a named tool force a call: the mock makes it (tool_choice "required" / the function reached it)
    for choice in ({"type": "any"}, {"type": "tool", "name": "f"}):
        answer = client.messages.create(model=CUSTOM, max_tokens=50, tools=[TOOL], tool_choice=choice,
                                        messages=[{"role": "user", "content": "call it"}])
        assert answer.stop_reason == "tool_use" and answer.content[-1].name == "f"


def test_laas_emulates_tools(client):
    # The shipped LaaS models emulate tools in the prompt (docs/backend-contracts.md, "Tool emulation").
    answer = client.messages.create(model=LAAS, max_tokens=50, tools=[TOOL],
                                    messages=[{"role": "user", "content": f"[mock:tool={TOOL['name']}]"}])
    assert answer.stop_reason == "tool_use" and [block.type for block in answer.content][-1] == "tool_use"
    assert answer.content[-1].name == TOOL["name"]


SEARCH = {"type": "web_search_20250305", "name": "web_search"}


@pytest.mark.parametrize("model", [CUSTOM, LAAS])
def test_server_tools_are_dropped_with_a_header_and_refused_when_forced(client, model, stack):
    before = len(stack.proxy_log())
    answer = client.messages.with_raw_response.create(
        model=model, max_tokens=50, messages=[{"role": "user", "content": "[mock:echo]"}],
        tools=[SEARCH, {"type": "web_fetch_20250910", "name": "web_fetch"}, TOOL])
    assert answer.headers["x-adapter-dropped-tools"] == "web_search_20250305, web_fetch_20250910"
    sent = json.loads(answer.parse().content[0].text)
    logged = f"POST /v1/messages for model {model}: dropped hosted tools web_search_20250305"
    assert logged in stack.proxy_log()[before:]
    assert "web_search" not in json.dumps(sent) and "web_fetch" not in json.dumps(sent)
    assert "tool_choice" in refused(client, model, tools=[SEARCH], tool_choice={"type": "any"})
    counted = client.messages.with_raw_response.count_tokens(model=model, tools=[SEARCH],
                                                             messages=[{"role": "user", "content": "hi"}])
    assert counted.headers["x-adapter-dropped-tools"] == "web_search_20250305" and counted.parse().input_tokens > 0
    assert "'web_search_20250305'" in refused(client, model, tools=[SEARCH, TOOL],
                                              tool_choice={"type": "tool", "name": "web_search"})


PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAIB4iGbxQAAAABJRU5ErkJggg==")
IMAGE = [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
         {"type": "text", "text": "[mock:echo]"}]


def test_images_go_to_laas_and_are_refused_by_the_text_only_backend(client):
    parts = echoed(client, LAAS, messages=[{"role": "user", "content": IMAGE}])["messages"][0]["content"]
    assert parts[0] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    assert "text only" in refused(client, CUSTOM, messages=[{"role": "user", "content": IMAGE}])


def document(pages: int) -> list[dict]:
    data = media.pdf_url(pages).split(",", 1)[1]
    return [{"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": data}},
            {"type": "text", "text": "[mock:echo]"}]


def test_pdfs_go_to_laas_as_documents_within_its_limits_and_are_refused_by_the_text_only_backend(client):
    parts = echoed(client, LAAS, messages=[{"role": "user", "content": document(2)}])["messages"][0]["content"]
    assert parts[0] == {"type": "document", "document_url": {"url": media.pdf_url(2)}}
    assert "21 pages" in refused(client, LAAS, messages=[{"role": "user", "content": document(21)}])
    assert "text only" in refused(client, CUSTOM, messages=[{"role": "user", "content": document(2)}])
