"""The door checks the key first: 401 before the body, 403 before the body checks, in the family's shape."""

import json

import pytest
from litellm import Router
from litellm.proxy import proxy_server

from adapter import gateway

from .test_gateway import _serve

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
    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"content-type", b"application/json"), *headers]}
    sent = _serve(door, scope, raw)
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


class Over:
    """What keys/budget.py's check answers for a key over its budget."""

    def __init__(self, retry_after: int):
        self.message, self.retry_after, self.alias = "key 'team' has spent $5.00 of its $5.00 budget", retry_after, \
            "team"


def budget_call(path: str, raw: bytes, retry_after: int = 30):
    refusals, checked = [], []

    async def budget_check(key):
        checked.append(key)
        return Over(retry_after)

    door = gateway.Gateway(Inner(), 1024 * 1024, (), key_check=key_check, budget_check=budget_check,
                           on_refusal=lambda status, model, alias=None: refusals.append((status, model, alias)))
    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"content-type", b"application/json"), (b"authorization", b"Bearer sk-allowed")]}
    sent = _serve(door, scope, raw)
    headers = dict(sent[0]["headers"])
    return door.inner.calls, sent[0]["status"], json.loads(sent[1]["body"]), headers, refusals, checked


CHAT = b'{"model": "m", "messages": [{"role": "user", "content": "x"}]}'


def test_a_key_over_its_budget_gets_429_before_litellm_with_retry_after():
    calls, status, body, headers, refusals, checked = budget_call("/v1/chat/completions", CHAT)
    assert (calls, status, checked, refusals) == (0, 429, [ALLOWED], [(429, "m", "team")])
    assert body == {"error": {"message": "key 'team' has spent $5.00 of its $5.00 budget", "type": "insufficient_quota",
                              "param": None, "code": "budget_exceeded"}}
    assert headers[b"retry-after"] == b"30" and b"x-should-retry" not in headers


def test_a_budget_that_resets_later_than_a_minute_or_never_tells_sdks_not_to_retry():
    for retry_after in (3600, 0):
        _, status, _, headers, _, _ = budget_call("/v1/chat/completions", CHAT, retry_after)
        assert status == 429 and headers[b"x-should-retry"] == b"false"
        assert headers.get(b"retry-after") == (str(retry_after).encode() if retry_after else None)


def test_on_the_messages_route_the_budget_refusal_is_anthropic_shaped():
    raw = b'{"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}'
    _, status, body, _, _, _ = budget_call("/v1/messages", raw)
    assert status == 429 and body == {"type": "error", "error": {
        "type": "rate_limit_error", "message": "key 'team' has spent $5.00 of its $5.00 budget"}}


def test_a_bad_body_is_a_400_before_the_budget_and_free_routes_are_not_budgeted():
    calls, status, _, _, _, checked = budget_call("/v1/chat/completions", b'{"model": "m", "messages": 1}')
    assert (calls, status, checked) == (0, 400, [])
    raw = b'{"model": "m", "messages": [{"role": "user", "content": "x"}]}'
    calls, status, _, _, _, checked = budget_call("/v1/messages/count_tokens", raw)
    assert (calls, status, checked) == (1, 200, [])
