"""GET /metrics from the door: the master key only, with the 401 LiteLLM's guard gave; passed on to LiteLLM when
its own prometheus callback serves it instead."""

import json

import pytest

from adapter import gateway
from adapter.keys import KeyRing, hash_key
from adapter.keys.auth import METRICS_MASTER_ONLY, MISSING, make_key_check

from .test_gateway import _serve

MASTER, TEAM = "sk-master-0123456789", "sk-team-0123456789"
PAGE = (b"# TYPE litellm_proxy_total_requests_metric counter\n", "text/plain; version=0.0.4; charset=utf-8")


class Inner:
    def __init__(self):
        self.paths = []

    async def __call__(self, scope, receive, send):
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"litellm's"})


@pytest.fixture()
def key_check(tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text(f'keys:\n  - alias: team-a\n    hash: "{hash_key(TEAM)}"\n', encoding="utf-8")
    return make_key_check(MASTER, KeyRing(path, check_every=0))


def get(door, path: str, key: str | None, method: str = "GET") -> list[dict]:
    headers = [(b"authorization", f"Bearer {key}".encode())] if key else []
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": headers}
    return _serve(door, scope, b"")


@pytest.mark.parametrize("path", ["/metrics", "/metrics/"])
def test_the_master_key_reads_the_page_on_both_spellings(key_check, path):
    door = gateway.Gateway(Inner(), 1024, (), key_check=key_check, metrics_page=lambda: PAGE)
    start, body = get(door, path, MASTER)
    assert start["status"] == 200 and (b"content-type", PAGE[1].encode()) in start["headers"]
    assert body["body"] == PAGE[0] and door.inner.paths == []


def test_head_has_the_headers_without_the_body(key_check):
    door = gateway.Gateway(Inner(), 1024, (), key_check=key_check, metrics_page=lambda: PAGE)
    start, body = get(door, "/metrics", MASTER, "HEAD")
    assert start["status"] == 200 and (b"content-length", str(len(PAGE[0])).encode()) in start["headers"]
    assert body["body"] == b""


@pytest.mark.parametrize(("key", "reason"), [(None, MISSING), ("sk-nobody-0123456789", METRICS_MASTER_ONLY),
                                             (TEAM, METRICS_MASTER_ONLY)])
def test_any_other_key_gets_litellm_s_401(key_check, key, reason):
    door = gateway.Gateway(Inner(), 1024, (), key_check=key_check, metrics_page=lambda: PAGE)
    start, body = get(door, "/metrics", key)
    assert start["status"] == 401
    assert json.loads(body["body"]) == {"error": {
        "message": f"Unauthorized access to metrics endpoint: {reason}", "type": "authentication_error",
        "param": None, "code": "401"}}


def test_without_a_page_litellm_serves_it_on_its_mounted_path(key_check):
    door = gateway.Gateway(Inner(), 1024, (), key_check=key_check)
    start, body = get(door, "/metrics", None)
    assert (start["status"], body["body"], door.inner.paths) == (200, b"litellm's", ["/metrics/"])
