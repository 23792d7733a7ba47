"""The door hands LiteLLM the body it parsed: exactly what LiteLLM's own read_request_body would return, per request."""

import asyncio
import copy
import json

import pytest
from litellm import Router
from litellm.proxy import proxy_server
from litellm.proxy.common_utils.http_parsing_utils import _read_request_body, _safe_get_request_parsed_body
from starlette.requests import Request

from adapter import gateway
from adapter.door import body

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi ✓"}], "temperature": 0.2, "max_tokens": 5}


@pytest.fixture
def router(monkeypatch):
    monkeypatch.setattr(proxy_server, "llm_router", Router(model_list=[
        {"model_name": "m", "litellm_params": {"model": "openai/m", "api_key": "k"}, "model_info": {"mode": "chat"}},
    ]))


def _scope(raw: bytes, content_type: bytes | None = b"application/json") -> dict:
    headers = [(b"content-length", str(len(raw)).encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type))
    return {"type": "http", "method": "POST", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
            "headers": headers, "query_string": b"", "root_path": "", "scheme": "http", "server": ("127.0.0.1", 1)}


def _litellm_reading(scope: dict, raw: bytes) -> dict:
    """What LiteLLM's read_request_body returns for this request when it has to parse the body itself."""
    async def receive():
        return {"type": "http.request", "body": raw, "more_body": False}
    return asyncio.run(_read_request_body(Request({k: v for k, v in scope.items() if k != "parsed_body"}, receive)))


class Inner:
    """Stands in for LiteLLM's app: reads the body the way LiteLLM's routes do, twice, and answers 200."""

    def __init__(self):
        self.seen: list[tuple[bool, dict, dict, bytes, bool]] = []

    async def __call__(self, scope, receive, send):
        request = Request(scope, receive)
        handed_over = _safe_get_request_parsed_body(request) is not None  # LiteLLM finds it in its cache
        first, second = await _read_request_body(request), await _read_request_body(request)
        self.seen.append((handed_over, copy.deepcopy(first), copy.deepcopy(second), await request.body(),
                          first is second))
        first["messages"][0]["content"] = "changed by this request"  # LiteLLM may mutate what it read
        first["model"] = "other"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def _serve(app, scope: dict, raw: bytes) -> list[dict]:
    """Run one request with body `raw` through the ASGI `app`; the messages it sent."""
    sent = []

    async def run():
        messages = [{"type": "http.request", "body": raw, "more_body": False}]

        async def receive():
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        await app(scope, receive, send)

    asyncio.run(run())
    return sent


def _through_the_door(raw: bytes, content_type: bytes | None = b"application/json", door=None):
    door = door or gateway.Gateway(Inner(), 1024 * 1024, ())
    sent = _serve(door, _scope(raw, content_type), raw)
    return door.inner.seen, sent[0]["status"]


@pytest.mark.parametrize("raw", [
    json.dumps(BODY).encode(),
    json.dumps(BODY, ensure_ascii=False).encode(),
    b'{"model": "m", "messages": [], "a": 1, "a": 2, "big": 18446744073709551615, "f": 1e-320, "z": -0.0}',
    b'{"model": "m", "n": 18446744073709551616}',  # past 64 bits orjson (so LiteLLM) reads a float
    b' \n{"model": "m", "nested": {"x": [1, 2.5, null, true, "\\u00e9\\ud83d\\ude00"]}}\n',
])
def test_the_door_parses_as_litellm_does(raw):
    parsed = body.parsed_as_litellm_would(_scope(raw), raw)
    litellm = _litellm_reading(_scope(raw), raw)
    assert parsed is not None
    assert repr(parsed) == repr(litellm) and list(parsed) == list(litellm)


@pytest.mark.parametrize("raw", [
    b'{"model": "m", "temperature": NaN}',          # orjson refuses; LiteLLM's lenient fallback takes it
    b'{"model": "m", "user": "\\ud800"}',          # a lone surrogate: LiteLLM's fallback refuses it with its 400
    b'\xef\xbb\xbf{"model": "m"}',                 # a BOM
    '{"model": "m"}'.encode("utf-16"),
    b'{"model": "m", "max_tokens": 1e400}',
    b'["m"]', b"", b"{",
])
def test_bodies_litellm_parses_its_own_way_are_not_handed_over(raw):
    assert body.parsed_as_litellm_would(_scope(raw), raw) is None


@pytest.mark.parametrize("content_type", [
    b"multipart/form-data; boundary=x", b"application/x-www-form-urlencoded", b"application/x-protobuf",
    b"Application/Protobuf ; charset=x",
])
def test_forms_and_binary_bodies_are_not_handed_over(content_type):
    raw = json.dumps(BODY).encode()
    assert body.parsed_as_litellm_would(_scope(raw, content_type), raw) is None


@pytest.mark.parametrize("content_type", [b"application/json", b"application/json; charset=utf-8", b"text/plain", None])
def test_json_bodies_are_handed_over_whatever_the_json_like_content_type(content_type):
    raw = json.dumps(BODY).encode()
    assert body.parsed_as_litellm_would(_scope(raw, content_type), raw) == BODY


def test_litellm_reads_the_handed_over_body_and_the_raw_body_still_replays(router):
    raw = json.dumps(BODY).encode()
    seen, status = _through_the_door(raw)
    assert status == 200
    (handed_over, first, second, replayed, same_dict), = seen
    assert handed_over and first == second == BODY and replayed == raw
    assert not same_dict  # every reader gets its own top level, as with LiteLLM's own cache


def test_a_request_mutating_its_body_cannot_change_the_next_ones(router):
    raw = json.dumps(BODY).encode()
    door = gateway.Gateway(Inner(), 1024 * 1024, ())
    for _ in range(2):  # the first request's reader changes its body's model and a nested message
        seen, status = _through_the_door(raw, door=door)
        assert status == 200 and seen[-1][1] == BODY


def test_a_body_litellm_parses_its_own_way_reaches_it_unparsed(router):
    raw = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": NaN}'
    seen, status = _through_the_door(raw)
    (handed_over, first, _, replayed, _), = seen
    assert status == 200 and not handed_over and replayed == raw
    assert first["temperature"] != first["temperature"]  # NaN, parsed by LiteLLM's fallback


def test_refused_bodies_are_not_handed_over(router):
    raw = json.dumps({**BODY, "model": "not-served"}).encode()
    seen, status = _through_the_door(raw)
    assert status == 400 and seen == []


def test_replay_hands_the_body_over_once_and_then_lets_go_of_it():
    raw = json.dumps(BODY).encode() * 100
    later = {"type": "http.disconnect"}

    async def receive():
        return later

    replay = body.replay(raw, receive)

    def held() -> bool:  # a stream lives long: the door must not keep the request body for its whole life
        return any(raw in (cell.cell_contents if isinstance(cell.cell_contents, list) else [cell.cell_contents])
                   for cell in replay.__closure__)

    async def run():
        assert held()
        first = await replay()
        assert not held()
        return first, await replay()

    first, second = asyncio.run(run())
    assert first == {"type": "http.request", "body": raw, "more_body": False}
    assert second is later


def test_a_dropped_hosted_tool_leaves_the_body_litellm_reads_and_is_named_in_a_header(router):
    raw = json.dumps({**BODY, "web_search_options": {"search_context_size": "low"}}).encode()
    door = gateway.Gateway(Inner(), 1024 * 1024, ())
    sent = _serve(door, _scope(raw), raw)
    (handed_over, first, _, replayed, _), = door.inner.seen
    assert handed_over and first == BODY and json.loads(replayed) == BODY
    assert sent[0]["status"] == 200 and (b"x-adapter-dropped-tools", b"web_search") in sent[0]["headers"]


@pytest.mark.parametrize("status, answer, expected", [
    (200, {"input_tokens": 12, "litellm_count_source": "local_tokenizer"}, {"input_tokens": 12}),
    (400, {"type": "error", "error": {"type": "invalid_request_error", "message": "m"}},
     {"type": "error", "error": {"type": "invalid_request_error", "message": "m"}}),
])
def test_count_tokens_answers_as_anthropic_without_litellms_own_fields(router, status, answer, expected):
    raw = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    scope = {**_scope(raw), "path": "/v1/messages/count_tokens", "raw_path": b"/v1/messages/count_tokens"}

    async def litellm(scope, receive, send):
        payload = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    start, body_message = _serve(gateway.Gateway(litellm, 1024 * 1024, ()), scope, raw)
    assert start["status"] == status and json.loads(body_message["body"]) == expected
    assert dict(start["headers"])[b"content-length"] == str(len(body_message["body"])).encode()
