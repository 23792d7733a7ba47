"""Errors survive compression: LiteLLM gzips any body of 500 bytes or more for clients that accept gzip (all real
ones do); the same error must reach the client with the same message and param either way, and successful
answers stay compressed."""

from __future__ import annotations

import gzip
import json

import httpx
import openai
import pytest

from .test_surface import authorised, call

LONG_NAME = "y" * 600  # LiteLLM's error naming it is well over 500 bytes, so it is gzipped when accepted


def read_error(stack, method, path, body, encoding):
    status, headers, payload = call(stack.proxy_url + path, method, body,
                                    {**authorised(stack), "Accept-Encoding": encoding})
    assert headers.get("content-encoding") in (None, "identity"), "the rewritten error is sent uncompressed"
    return status, json.loads(payload)["error"]


@pytest.mark.parametrize("method, path, body", [
    # LiteLLM's own 404 (the model-retrieve route passes the door)
    ("GET", f"/v1/models/{LONG_NAME}", None),
    # an error raised behind the door by the chat handler, quoting the role it refuses, with a param
    ("POST", "/v1/chat/completions", {"model": "my-custom-model", "messages": [{"role": LONG_NAME, "content": "x"}]}),
])
def test_the_same_error_with_and_without_gzip(stack, method, path, body):
    plain_status, plain = read_error(stack, method, path, body, "identity")
    gzip_status, gzipped = read_error(stack, method, path, body, "gzip, deflate, br")
    assert plain_status == gzip_status and plain_status >= 400
    assert gzipped == plain
    assert LONG_NAME in plain["message"]
    # the rewritten body alone is over LiteLLM's 500-byte threshold: its original was gzipped
    assert len(json.dumps({"error": plain})) >= 500


def test_the_sdk_reads_the_message_of_a_long_error(stack):
    """openai-python sends Accept-Encoding: gzip, deflate (httpx's default)."""
    with pytest.raises(openai.NotFoundError) as caught:
        stack.client().models.retrieve(LONG_NAME)
    assert LONG_NAME in caught.value.body["message"]


def test_a_param_survives_gzip(stack):
    """A long model name is refused with param 'model' whatever the client accepts."""
    body = {"model": LONG_NAME, "messages": [{"role": "user", "content": "hi"}]}
    for encoding in ("identity", "gzip"):
        status, error = read_error(stack, "POST", "/v1/chat/completions", body, encoding)
        assert (status, error["param"], error["type"]) == (400, "model", "invalid_request_error")


def test_successful_answers_stay_compressed(stack):
    long_text = "word " * 199 + "word"
    status, headers, payload = call(
        stack.proxy_url + "/v1/chat/completions", "POST",
        {"model": "my-custom-model", "messages": [{"role": "user", "content": long_text}]},
        {**authorised(stack), "Accept-Encoding": "gzip"},
    )
    assert status == 200
    assert headers.get("content-encoding") == "gzip"
    answer = json.loads(gzip.decompress(payload))
    assert answer["choices"][0]["message"]["content"].endswith(long_text)


def test_streams_are_not_compressed_and_their_error_events_are_clean(stack):
    with httpx.Client(timeout=30) as client:
        with client.stream("POST", f"{stack.proxy_url}/v1/chat/completions",
                           headers={**authorised(stack), "Accept-Encoding": "gzip"},
                           json={"model": "my-custom-model", "stream": True,
                                 "messages": [{"role": "user", "content": "a b c [mock:fail_after=2]"}]}) as response:
            assert response.headers.get("content-encoding") is None
            events = [line for line in response.iter_lines() if line.startswith('data: {"error"')]
    error = json.loads(events[-1][len("data: "):])["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert int(error["code"]) >= 500 and error["type"] == "server_error"
    assert "fail_after" in error["message"]
