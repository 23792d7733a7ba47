"""The proxy's closed surface, through the real proxy: served routes work, every other route gets its
OpenAI-shaped 404, 501 or 405 (never a 500), and the door's body checks answer 400 naming the parameter."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import openai
import pytest

# OpenAI routes this stack does not offer → 501 (method, path, body).
NOT_OFFERED = [
    ("GET", "/v1/files", None), ("POST", "/v1/files", {"purpose": "batch"}), ("GET", "/files", None),
    ("GET", "/v1/files/file-1/content", None), ("POST", "/v1/uploads", {"purpose": "batch"}),
    ("POST", "/v1/batches", {"input_file_id": "file-1", "endpoint": "/v1/chat/completions"}),
    ("GET", "/v1/batches", None), ("POST", "/v1/fine_tuning/jobs", {"model": "gpt-4o-mini", "training_file": "f"}),
    ("GET", "/v1/fine_tuning/jobs", None), ("GET", "/v1/vector_stores", None),
    ("POST", "/v1/vector_stores", {"name": "docs"}), ("POST", "/v1/vector_stores/vs_1/search", {"query": "x"}),
    ("POST", "/v1/assistants", {"model": "gpt-4o"}), ("POST", "/v1/threads", {}), ("POST", "/v1/threads/runs", {}),
    ("POST", "/v1/audio/speech", {"model": "tts-1", "input": "hi", "voice": "alloy"}),
    ("POST", "/v1/audio/transcriptions", {"model": "whisper-1"}), ("POST", "/v1/audio/translations", {}),
    ("POST", "/v1/moderations", {"input": "hi"}), ("POST", "/moderations", {"input": "hi", "model": "gpt-4o"}),
    ("POST", "/v1/realtime/sessions", {"model": "gpt-4o-realtime-preview"}),
    ("POST", "/v1/rerank", {"model": "rerank-v3.5", "query": "q", "documents": ["a"]}),
    ("POST", "/v1/images/edits", {"model": "dall-e-2", "prompt": "x"}),
    ("POST", "/v1/images/variations", {"model": "dall-e-2"}), ("POST", "/v1/evals", {"name": "e"}),
    ("GET", "/v1/containers", None), ("POST", "/v1/conversations", {}), ("GET", "/v1/responses/resp_123", None),
    ("DELETE", "/v1/responses/resp_123", None), ("GET", "/v1/responses/resp_123/input_items", None),
    ("POST", "/v1/responses/resp_123/cancel", {}), ("POST", "/v1/responses/input_tokens", {"model": "gpt-4o"}),
    ("GET", "/v1/chat/completions/chatcmpl-123", None), ("GET", "/v1/chat/completions/chatcmpl-123/messages", None),
    ("GET", "/v1/organization/usage/completions", None), ("POST", "/v1/videos", {"model": "sora-2", "prompt": "x"}),
]
# LiteLLM's admin routes that need its database → 501 saying so.
NEEDS_DATABASE = [
    ("POST", "/key/generate", {}), ("GET", "/key/info", None), ("GET", "/key/list", None), ("POST", "/user/new", {}),
    ("GET", "/team/list", None), ("GET", "/spend/logs", None), ("GET", "/global/spend", None),
    ("GET", "/global/spend/report", None), ("POST", "/organization/new", {}), ("POST", "/customer/new", {}),
    ("POST", "/budget/new", {}), ("GET", "/tag/list", None), ("POST", "/invitation/new", {}),
]
# Everything else → 404: LiteLLM's provider pass-through routes, its UI and docs, other admin routes (GET /metrics
# is served: tests/e2e/own_stack/test_metrics.py).
UNKNOWN = [
    ("GET", "/", None), ("GET", "/docs", None), ("GET", "/openapi.json", None), ("GET", "/ui", None),
    ("GET", "/v1/metrics", None), ("GET", "/routes", None),
    ("GET", "/credentials", None), ("POST", "/model/new", {}), ("GET", "/sso/key/generate", None),
    ("GET", "/openai/v1/models", None), ("POST", "/openai/v1/chat/completions", {"model": "gpt-4o"}),
    ("POST", "/openai/deployments/gpt-4o/chat/completions", {"messages": []}),
    ("POST", "/engines/gpt-4o/chat/completions", {"messages": []}),
    ("POST", "/anthropic/v1/messages", {"model": "claude-3-5-sonnet-latest", "max_tokens": 5, "messages": []}),
    ("POST", "/vertex-ai/v1/projects/p/locations/l/publishers/google/models/g:generateContent", {}),
    ("POST", "/vertex_ai/v1/projects/p", {}), ("POST", "/gemini/v1beta/models/gemini-pro:generateContent", {}),
    ("POST", "/v1beta/models/gemini-pro:generateContent", {}), ("POST", "/bedrock/model/m/invoke", {}),
    ("POST", "/azure/openai/deployments/d/chat/completions", {}), ("POST", "/cohere/v1/chat", {}),
    ("POST", "/mistral/v1/chat/completions", {}), ("POST", "/langfuse/api/public/ingestion", {}),
    ("POST", "/v2/rerank", {}), ("POST", "/mcp", {}), ("GET", "/v1/nothing-here", None),
    ("POST", "/utils/token_counter", {"model": "gpt-4o"}), ("GET", "/health/backlog", None),
]
# Served routes with the wrong method → 405 with Allow.
WRONG_METHOD = [
    ("GET", "/v1/chat/completions", "POST"), ("GET", "/v1/embeddings", "POST"), ("PUT", "/v1/completions", "POST"),
    ("GET", "/v1/responses", "POST"), ("GET", "/v1/images/generations", "POST"), ("POST", "/v1/models", "GET, HEAD"),
    ("DELETE", "/v1/models/my-custom-model", "GET, HEAD"), ("POST", "/health/liveliness", "GET, HEAD"),
]
CLOSED = [(m, p, b, 501) for m, p, b in NOT_OFFERED + NEEDS_DATABASE] + [(m, p, b, 404) for m, p, b in UNKNOWN]


def call(url: str, method: str = "GET", body=None, headers: dict | None = None):
    """(status, headers, body bytes) of one plain HTTP request; no retries, no redirects followed."""
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # straight to the proxy
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def authorised(stack) -> dict:
    return {"Authorization": f"Bearer {stack.master_key}"}


def openai_error(status: int, headers, payload: bytes) -> dict:
    assert headers.get("content-type") == "application/json", payload[:200]
    error = json.loads(payload)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == str(status)
    assert "Traceback" not in error["message"]
    return error


@pytest.mark.parametrize("method, path, body, expected", CLOSED, ids=[f"{m} {p}" for m, p, _, _ in CLOSED])
def test_closed_routes_answer_openai_shaped_404_or_501(stack, method, path, body, expected):
    status, headers, payload = call(stack.proxy_url + path, method, body, authorised(stack))
    assert status == expected, payload[:300]
    error = openai_error(status, headers, payload)
    assert headers.get("x-should-retry") == ("false" if expected == 501 else None)
    if (method, path, body) in NEEDS_DATABASE:
        assert "needs LiteLLM's database" in error["message"]
    elif expected == 501:
        assert "is an OpenAI endpoint this gateway does not offer; it serves: POST /v1/chat/completions" \
            in error["message"]
        assert error["type"] == "server_error"
    else:
        assert error["message"].startswith(f"unknown route: {method} {path}")
        assert error["type"] == "not_found_error"


@pytest.mark.parametrize("method, path, allow", WRONG_METHOD)
def test_served_routes_with_the_wrong_method_are_405_with_allow(stack, method, path, allow):
    status, headers, payload = call(stack.proxy_url + path, method, {} if method in ("POST", "PUT") else None,
                                    authorised(stack))
    assert (status, headers.get("allow")) == (405, allow)
    assert f"use {allow.split(',')[0]}" in openai_error(405, headers, payload)["message"]


def test_closed_routes_are_closed_without_a_key_too(stack):
    status, headers, payload = call(stack.proxy_url + "/v1/vector_stores")
    assert status == 501
    openai_error(status, headers, payload)


def test_the_sdk_sees_501_and_404_as_errors_it_can_read_without_retrying(stack):
    client = stack.client(max_retries=5)  # 5 retries of a 5xx would take the SDK over 3 s of back-off
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError) as caught:
        client.files.list()
    assert time.monotonic() - started < 1
    assert caught.value.status_code == 501
    assert "does not offer" in caught.value.body["message"]
    with pytest.raises(openai.InternalServerError):
        client.moderations.create(input="hi")
    with pytest.raises(openai.InternalServerError):
        client.responses.retrieve("resp_123")
    with pytest.raises(openai.NotFoundError):
        client.get("/nothing-here", cast_to=object)


@pytest.mark.parametrize("path", ["/health/liveliness", "/health/liveness", "/health/readiness", "/health",
                                  "/v1/models", "/models", "/v1/models/my-custom-model"])
def test_served_get_routes_answer(stack, path):
    status, _, payload = call(stack.proxy_url + path, headers=authorised(stack))
    assert status == 200, payload[:300]


def test_cors_preflight_reaches_litellm(stack):
    status, headers, _ = call(stack.proxy_url + "/v1/chat/completions", "OPTIONS", headers={
        "Origin": "http://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert status == 200
    assert headers.get("access-control-allow-origin")


def test_websockets_are_refused(stack):
    """LiteLLM's realtime websocket would relay to a provider; the door refuses every websocket."""
    address = urlsplit(stack.proxy_url)
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall((f"GET /v1/realtime?model=gpt-4o-realtime-preview HTTP/1.1\r\nHost: {address.netloc}\r\n"
                      f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {stack.master_key}\r\n\r\n").encode())
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    assert status_line.split()[1] == b"403", status_line


@pytest.mark.parametrize("path, body", [
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/completions", {"prompt": "hi"}),
    ("/v1/embeddings", {"input": "hi"}),
    ("/v1/images/generations", {"prompt": "a red bicycle"}),
    ("/v1/responses", {"input": "hi"}),
])
@pytest.mark.parametrize("model", ["gpt-4o", "openai/gpt-4o", "my-custom-model,gpt-4o", "text-embedding-3-small"])
def test_models_that_are_not_configured_are_400_on_every_route(stack, path, body, model):
    status, headers, payload = call(stack.proxy_url + path, "POST", {**body, "model": model}, authorised(stack))
    assert status == 400
    error = openai_error(status, headers, payload)
    assert (error["param"], error["type"]) == ("model", "invalid_request_error")
    assert model in error["message"]


@pytest.mark.parametrize("path, body", [
    ("/v1/completions", {"model": "my-custom-model", "prompt": "hi"}),
    ("/v1/embeddings", {"model": "my-embedding-model", "input": "hi"}),
    ("/v1/responses", {"model": "my-custom-model", "input": "hi"}),
])
@pytest.mark.parametrize("credential", [{"api_base": "http://attacker.example"}, {"api_key": "sk-client"},
                                        {"base_url": "http://attacker.example"}])
def test_client_side_credentials_are_refused_on_every_route(stack, path, body, credential):
    status, headers, payload = call(stack.proxy_url + path, "POST", {**body, **credential}, authorised(stack))
    assert status == 400, payload[:300]
    openai_error(status, headers, payload)


def test_completions_with_several_prompts_are_refused(stack):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().completions.create(model="my-custom-model", prompt=["first", "second"])
    assert caught.value.body["param"] == "prompt"
    assert "one prompt per request" in caught.value.body["message"]


@pytest.mark.parametrize("prompt", [[1, 2, 3], [[1, 2, 3]]])
def test_completions_with_token_ids_are_refused(stack, prompt):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().completions.create(model="my-custom-model", prompt=prompt)
    assert caught.value.body["param"] == "prompt"
    assert "send the prompt as a string" in caught.value.body["message"]


@pytest.mark.parametrize("options, param", [({"n": 2}, "n"), ({"best_of": 2}, "best_of"), ({"echo": True}, "echo"),
                                            ({"suffix": "!"}, "suffix"), ({"logprobs": 1}, "logprobs")])
def test_completions_options_that_change_the_answer_are_refused(stack, options, param):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().completions.create(model="my-custom-model", prompt="hi", **options)
    assert caught.value.body["param"] == param


def test_completions_with_one_prompt_in_a_list_answer(stack):
    answer = stack.client().completions.create(model="my-custom-model", prompt=["only one"])
    assert [choice.text for choice in answer.choices] == ["Mock answer from my-custom-model: only one"]


@pytest.mark.parametrize("options, param", [({"previous_response_id": "resp_123"}, "previous_response_id"),
                                            ({"conversation": "conv_123"}, "conversation")])
def test_responses_needing_stored_state_are_refused(stack, options, param):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().responses.create(model="my-custom-model", input="and then?", **options)
    assert caught.value.body["param"] == param
    assert "send the earlier turns in 'input'" in caught.value.body["message"]


def test_responses_with_the_whole_conversation_answer(stack):
    answer = stack.client().responses.create(model="my-custom-model", input=[
        {"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "second"}])
    assert answer.output_text == "Mock answer from my-custom-model: second"


@pytest.mark.parametrize("path, body, param", [
    ("/v1/embeddings", {"model": "my-embedding-model", "input": ""}, "input"),
    ("/v1/embeddings", {"model": "my-embedding-model", "input": ["a", 5]}, "input"),
    ("/v1/embeddings", {"model": "my-embedding-model", "input": "a", "encoding_format": "int8"}, "encoding_format"),
    ("/v1/embeddings", {"model": "my-embedding-model", "input": "a", "dimensions": 0}, "dimensions"),
    ("/v1/images/generations", {"model": "my-image-model", "prompt": ""}, "prompt"),
    ("/v1/images/generations", {"model": "my-image-model", "prompt": "x", "n": 11}, "n"),
    ("/v1/images/generations", {"model": "my-image-model", "prompt": "x", "size": 512}, "size"),
    ("/v1/images/generations", {"model": "my-image-model", "prompt": "x", "response_format": "png"},
     "response_format"),
])
def test_malformed_embedding_and_image_requests_are_400_naming_the_param(stack, path, body, param):
    status, headers, payload = call(stack.proxy_url + path, "POST", body, authorised(stack))
    assert status == 400
    assert openai_error(status, headers, payload)["param"] == param


@pytest.mark.parametrize("path", ["/v1/completions", "/v1/embeddings", "/v1/images/generations", "/v1/responses"])
@pytest.mark.parametrize("raw", [b"", b"not json", b"[1]", b'{"model": 5}'])
def test_malformed_bodies_on_every_route_are_400(stack, path, raw):
    status, headers, payload = call(stack.proxy_url + path, "POST", raw, authorised(stack))
    assert status == 400
    openai_error(status, headers, payload)
