"""Proxy authentication: only the master key gets in; everyone else gets an OpenAI-shaped 401."""

import json
import urllib.error
import urllib.request

import openai
import pytest


def raw_request(url, body=None, headers=None, method=None):
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("content-type"), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type"), error.read()


CHAT = {"model": "my-custom-model", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/chat/completions"])
def test_no_key_is_401_json(stack, path):
    status, content_type, body = raw_request(
        f"{stack.proxy_url}{path}", CHAT, {"Content-Type": "application/json"}
    )
    assert status == 401
    assert content_type == "application/json"
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "401"


def test_wrong_key_is_401_for_the_sdk(stack):
    client = openai.OpenAI(base_url=f"{stack.proxy_url}/v1", api_key="sk-wrong-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(**CHAT)
    assert caught.value.status_code == 401
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_key_that_only_starts_like_the_master_key_is_refused(stack):
    client = openai.OpenAI(base_url=f"{stack.proxy_url}/v1", api_key=stack.master_key[:-1], max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(**CHAT)


# Authentication first: without a valid key nothing about models or body checks is revealed, whatever the body.
PROBES = [
    ({"model": "secret-model", "messages": [{"role": "user", "content": "hi"}]}, "unknown model"),
    (b"{not json", "malformed body"),
    ({"model": "my-custom-model", "messages": "not a list", "api_base": "http://evil"}, "bad fields"),
    ({"model": "my-custom-model", "messages": [{"role": "user", "content": "hi"}]}, "served model"),
]


@pytest.mark.parametrize("key", [None, "sk-wrong-key"])
@pytest.mark.parametrize("body, what", PROBES, ids=[what for _, what in PROBES])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses", "/v1/embeddings"])
def test_without_a_valid_key_every_body_is_401(stack, path, body, what, key):
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    status, content_type, answer = raw_request(f"{stack.proxy_url}{path}", body, headers)
    assert (status, content_type) == (401, "application/json"), answer
    error = json.loads(answer)["error"]
    assert error["type"] == "authentication_error" and "missing or invalid API key" in error["message"]
    assert "secret-model" not in error["message"] and "messages" not in error["message"]


@pytest.mark.parametrize("path", ["/v1/models", "/v1/models/secret-model", "/models"])
def test_listing_and_retrieving_models_need_a_key(stack, path):
    status, _, answer = raw_request(f"{stack.proxy_url}{path}")
    assert status == 401, answer


def test_with_a_valid_key_the_body_checks_answer_as_before(stack):
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {stack.master_key}"}
    status, _, answer = raw_request(f"{stack.proxy_url}/v1/chat/completions", PROBES[0][0], headers)
    assert status == 400 and "model 'secret-model' is not served here" in json.loads(answer)["error"]["message"]
    status, _, answer = raw_request(f"{stack.proxy_url}/v1/chat/completions", b"{not json", headers)
    assert status == 400 and "not valid JSON" in json.loads(answer)["error"]["message"]


@pytest.mark.parametrize("path, status", [("/v1/files", 501), ("/v1/nothing-here", 404), ("/key/generate", 501)])
def test_closed_routes_answer_without_a_key(stack, path, status):
    """They say only what the public route table says; a key would change nothing about them."""
    assert raw_request(f"{stack.proxy_url}{path}", {"x": 1}, {"Content-Type": "application/json"})[0] == status


def test_the_key_may_come_as_x_api_key(stack):
    headers = {"Content-Type": "application/json", "x-api-key": stack.master_key}
    status, _, answer = raw_request(f"{stack.proxy_url}/v1/chat/completions", CHAT, headers)
    assert status == 200, answer


def test_health_needs_no_key(stack):
    assert raw_request(f"{stack.proxy_url}/health/liveliness")[0] == 200
