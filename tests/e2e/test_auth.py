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
