"""adapter.providers.laas (the translation): literal OpenAI payloads in, literal LaaS payloads out."""

import pytest

from adapter.providers.laas import transform_request, transform_response
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


def test_the_hash_is_always_the_configured_one():
    with pytest.raises(AdapterError) as caught:
        transform_request([{"role": "user", "content": "x"}], {"hash": "client-chosen"}, "server-hash")
    assert caught.value.status_code == 400
    assert "set by the server" in caught.value.message


@pytest.mark.parametrize(
    "messages, params, fragment",
    [
        ([{"role": "tool", "content": "x", "tool_call_id": "1"}], {}, "not supported by LaaS"),
        ([{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}], {}, "text, image_url or document"),
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
