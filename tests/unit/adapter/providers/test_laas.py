"""adapter.providers.laas (the translation): literal OpenAI payloads in, literal LaaS payloads out."""

import asyncio

import litellm
import pytest

import stack_settings
from adapter.providers.laas import LaasProvider, emulates_tools, transform_request, transform_response
from adapter.upstream import client
from adapter.upstream.errors import AdapterError
from tests.support import media

PNG, PDF = media.png_url(), media.pdf_url(2)


def test_string_content_becomes_typed_text_parts_and_params_pass_through():
    messages = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi {name}"}]
    body = transform_request(messages, {"params": {"name": "Kim"}, "temperature": 0.1, "stream": False}, "preset-1")
    assert body == {
        "hash": "preset-1",
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Be kind."}]},
            {"role": "user", "content": [{"type": "text", "text": "Hi {name}"}]},
        ],
        "params": {"name": "Kim"},
        "temperature": 0.1,
    }


def test_image_and_document_parts_are_forwarded_in_laas_form():
    content = [
        {"type": "image_url", "image_url": {"url": "https://static.example/a.jpg", "detail": "high"}},
        {"type": "image_url", "image_url": PNG},
        {"type": "document", "document_url": {"url": PDF}},
        {"type": "text", "text": "Describe"},
    ]
    body = transform_request([{"role": "user", "content": content}], {}, "h")
    assert body["messages"][0]["content"] == [
        {"type": "image_url", "image_url": {"url": "https://static.example/a.jpg"}},
        {"type": "image_url", "image_url": {"url": PNG}},
        {"type": "document", "document_url": {"url": PDF}},
        {"type": "text", "text": "Describe"},
    ]
    assert body["params"] == {}


def test_a_pdf_as_an_image_url_or_an_openai_file_part_reaches_laas_as_a_document():
    # LiteLLM's Messages bridge turns an Anthropic `document` block into an image_url with a PDF data URL;
    # the openai SDKs send a PDF as a `file` part with file_data.
    content = [
        {"type": "image_url", "image_url": {"url": PDF}},
        {"type": "file", "file": {"file_data": PDF, "filename": "a.pdf"}},
        {"type": "image_url", "image_url": {"url": PNG}},
    ]
    body = transform_request([{"role": "user", "content": content}], {}, "h")
    assert body["messages"][0]["content"] == [
        {"type": "document", "document_url": {"url": PDF}},
        {"type": "document", "document_url": {"url": PDF}},
        {"type": "image_url", "image_url": {"url": PNG}},
    ]


def test_a_pdf_given_as_an_image_is_held_to_the_document_limits():
    with pytest.raises(AdapterError) as caught:
        transform_request([{"role": "user", "content": [media.image_part(media.pdf_url(21))]}], {}, "h")
    assert caught.value.status_code == 400
    assert "21 pages" in caught.value.message


def test_the_hash_is_always_the_configured_one():
    with pytest.raises(AdapterError) as caught:
        transform_request([{"role": "user", "content": "x"}], {"hash": "client-chosen"}, "server-hash")
    assert caught.value.status_code == 400
    assert "set by the server" in caught.value.message


@pytest.mark.parametrize(
    "messages, params, fragment",
    [
        ([{"role": "tool", "content": "x", "tool_call_id": "1"}], {}, "not supported by LaaS"),
        ([{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}], {}, "text, image_url, file (with file_data) or document"),
        ([{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}], {}, "file (with file_data)"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": ""}}]}], {}, "image_url.url"),
        ([{"role": "user", "content": [{"type": "document", "document_url": {}}]}], {}, "document_url.url"),
        ([{"role": "user", "content": []}], {}, "non-empty list"),
        ([{"role": "user", "content": "x"}], {"params": "name=Kim"}, "'params' must be a JSON object"),
        ([{"role": "user", "content": "x"}], {"tools": [{"type": "function"}]}, "not supported by LaaS"),
        ([{"role": "user", "content": "x"}], {"project": "other"}, "set by the server"),
        ([{"role": "user", "content": [media.image_part(media.gif_url())]}], {}, "JPEG or PNG"),
        ([{"role": "user", "content": [media.document_part(media.pdf_url(21))]}], {}, "21 pages"),
        ([{"role": "user", "content": [media.image_part(PNG)] * 4}], {}, "at most 3 images"),
        ([{"role": "user", "content": "x"}], {"tools": [{"type": "function"}]}, "not supported by LaaS"),
    ],
)
def test_unusable_requests_are_400(messages, params, fragment):
    with pytest.raises(AdapterError) as caught:
        transform_request(messages, params, "h")
    assert caught.value.status_code == 400
    assert fragment in caught.value.message


def test_response_becomes_a_chat_completion():
    answer = {
        "id": "laas-1",
        "created": 1700000001,
        "choices": [{"message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5},
    }
    assert transform_response(answer, "claude-3.5-sonnet", 0) == {
        "id": "laas-1",
        "object": "chat.completion",
        "created": 1700000001,
        "model": "claude-3.5-sonnet",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5},
    }


@pytest.mark.parametrize(
    "answer",
    [{}, {"choices": []}, {"choices": [{"message": {}}]}, {"choices": [{"message": {"content": "x"}}]}, "oops"],
)
def test_unusable_answers_are_502(answer):
    with pytest.raises(AdapterError) as caught:
        transform_response(answer, "m", 0)
    assert caught.value.status_code == 502


# Tool emulation, switched on per deployment: LiteLLM hands the deployment's model_info in litellm_params.
EMULATING = {"model_info": {"tool_emulation": True}}
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
CALLING = {"id": "laas-9", "created": 1, "usage": {"prompt_tokens": 1, "completion_tokens": 1},
           "choices": [{"message": {"content": '<tool_call>{"name": "get_weather", "arguments": {}}</tool_call>'},
                        "finish_reason": "stop"}]}


@pytest.mark.parametrize("litellm_params, expected", [
    (EMULATING, True), ({"model_info": {"tool_emulation": "yes"}}, False), ({"model_info": None}, False),
    ({}, False), (None, False), ({"tool_emulation": True}, False),
])
def test_only_the_deployments_model_info_switches_emulation_on(litellm_params, expected):
    assert emulates_tools(litellm_params) is expected


def provider():
    return LaasProvider(stack_settings.load({"ENV_FILE": "/nonexistent.env", "LAAS_PRESET_HASH": "h"}))


def test_without_the_switch_tools_are_refused_naming_them():
    with pytest.raises(litellm.BadRequestError) as caught:
        asyncio.run(provider().acompletion("claude", [{"role": "user", "content": "x"}], {"tools": [WEATHER]},
                                           litellm_params={"model_info": {}}))
    assert caught.value.status_code == 400 and caught.value.param == "tools"
    assert "not supported by LaaS" in caught.value.message


def test_with_the_switch_calls_come_back_whole_and_streamed(monkeypatch):
    sent = []

    async def answer(call):
        sent.append(call.body)
        return CALLING

    monkeypatch.setattr(client, "apost_json", answer)
    messages = [{"role": "user", "content": "weather?"}]
    reply = asyncio.run(provider().acompletion("claude", messages, {"tools": [WEATHER]}, litellm_params=EMULATING))
    assert reply.choices[0].finish_reason == "tool_calls"
    assert reply.choices[0].message.tool_calls[0].function.name == "get_weather"
    assert "<tools>" in sent[0]["messages"][0]["content"][0]["text"] and "tools" not in sent[0]

    async def stream():
        return [chunk async for chunk in provider().astreaming("claude", messages, {"tools": [WEATHER]},
                                                               litellm_params=EMULATING)]

    [chunk] = asyncio.run(stream())
    assert chunk["tool_use"]["function"] == {"name": "get_weather", "arguments": "{}"}
    assert chunk["finish_reason"] == "tool_calls"
    assert chunk["tool_use"]["id"] == reply.choices[0].message.tool_calls[0].id
