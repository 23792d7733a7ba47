"""The door checks the key first: 401 before the body, 403 before the body checks, in the family's shape."""

import asyncio
import json

import pytest
from litellm import Router
from litellm.proxy import proxy_server

from adapter import gateway

ALLOWED = "sk-allowed"


def key_check(key, path, model=None):
    if key != ALLOWED:
        return 401, "authentication_error", "missing or invalid API key"
    if model == "forbidden":
        return 403, "permission_error", "may not use model 'forbidden'"
    return None


class Inner:
    def __init__(self):
        self.calls = 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


@pytest.fixture(autouse=True)
def router(monkeypatch):
    monkeypatch.setattr(proxy_server, "llm_router", Router(model_list=[
        {"model_name": "m", "litellm_params": {"model": "openai/m", "api_key": "k"}, "model_info": {"mode": "chat"}},
    ]))


def call(path: str, raw: bytes, headers: list[tuple[bytes, bytes]], limit: int = 1024 * 1024):
    refusals = []
    door = gateway.Gateway(Inner(), limit, (), key_check=key_check,
                           on_refusal=lambda status, model: refusals.append((status, model)))
    sent = []

    async def run():
        messages = [{"type": "http.request", "body": raw, "more_body": False}]

        async def receive():
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "headers": [(b"content-type", b"application/json"), *headers]}
        await door(scope, receive, send)

    asyncio.run(run())
    body = json.loads(sent[1]["body"]) if len(sent) > 1 and sent[1]["body"] != b"{}" else None
    return door.inner.calls, sent[0]["status"], body, refusals


@pytest.mark.parametrize("raw", [b'{"model": "secret", "messages": []}', b"{not json", b'{"model": "forbidden"}'])
def test_without_a_key_any_body_is_401_and_never_reaches_litellm(raw):
    calls, status, body, refusals = call("/v1/chat/completions", raw, [])
    assert (calls, status, refusals) == (0, 401, [(401, None)])
    assert body["error"]["type"] == "authentication_error" and body["error"]["param"] == "api_key"


def test_on_anthropic_routes_the_401_is_anthropic_shaped():
    _, status, body, _ = call("/v1/messages", b'{"model": "secret"}', [(b"x-api-key", b"sk-wrong")])
    assert status == 401 and body == {"type": "error", "error": {"type": "authentication_error",
                                                                 "message": "missing or invalid API key"}}


def test_a_disallowed_model_is_403_before_the_body_checks():
    raw, auth = b'{"model": "forbidden", "messages": "not a list"}', [(b"authorization", b"Bearer sk-allowed")]
    calls, status, body, refusals = call("/v1/chat/completions", raw, auth)
    assert (calls, status, refusals) == (0, 403, [(403, "forbidden")])
    assert "messages" not in body["error"]["message"]


def test_a_valid_key_gets_the_body_checks_then_passes_on():
    auth = [(b"authorization", b"Bearer " + ALLOWED.encode())]
    assert call("/v1/chat/completions", b'{"model": "secret", "messages": [{"role": "user", "content": "x"}]}',
                auth)[1] == 400
    calls, status, _, refusals = call("/v1/chat/completions",
                                      b'{"model": "m", "messages": [{"role": "user", "content": "x"}]}', auth)
    assert (calls, status, refusals) == (1, 200, [])


def test_a_body_over_the_limit_is_401_without_a_key_and_413_in_the_family_shape_with_one():
    raw = b'{"model": "m", "messages": [], "pad": "' + b"x" * 2000 + b'"}'
    assert call("/v1/messages", raw, [], limit=1000)[1] == 401
    _, status, body, _ = call("/v1/messages", raw, [(b"x-api-key", b"sk-allowed")], limit=1000)
    assert status == 413 and body["type"] == "error" and body["error"]["type"] == "request_too_large"
