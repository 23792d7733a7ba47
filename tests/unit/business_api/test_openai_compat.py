"""POST /v1/chat/completions through Flask's test client: the whole answer and OpenAI's streamed chunks."""

import json
import time

import pytest

from business_api import mock

from .conftest import API_KEY

HEADERS = {"Authorization": f"Bearer {API_KEY}"}
MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Hello there, world"}]


def post(client, headers=HEADERS, **body):
    return client.post("/v1/chat/completions", json={"model": "m", "messages": MESSAGES, **body}, headers=headers)


def whole(client, **body) -> dict:
    response = post(client, **body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def events(response) -> list:
    """The data of each server-sent event in a streamed response."""
    assert response.status_code == 200
    assert response.content_type.startswith("text/event-stream")
    lines = [line for line in response.get_data(as_text=True).split("\n\n") if line]
    assert all(line.startswith("data: ") for line in lines)
    return [line[6:] if line[6:] == "[DONE]" else json.loads(line[6:]) for line in lines]


def stream(client, **body) -> list:
    return events(post(client, stream=True, **body))


def content(chunks: list) -> str:
    return "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks if chunk["choices"])


def streams_counted(client) -> dict:
    return client.get("/health").get_json()["streams"]


def test_the_whole_answer_is_a_chat_completion(client):
    body = whole(client)
    assert body["object"] == "chat.completion" and body["model"] == "m"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Mock answer from m: Hello there, world"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]


def test_stream_false_answers_whole(client):
    assert whole(client, stream=False)["object"] == "chat.completion"


def test_stream_is_role_then_one_chunk_per_piece_then_finish_then_done(client):
    expected = whole(client)["choices"][0]["message"]["content"]
    streamed = stream(client)
    assert streamed[-1] == "[DONE]"
    chunks = streamed[:-1]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    pieces = [chunk["choices"][0]["delta"] for chunk in chunks[1:-1]]
    assert pieces == [{"content": piece} for piece in mock.split_pieces(expected)]
    assert chunks[-1]["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in chunks[:-1])
    assert content(chunks) == expected


def test_every_chunk_has_the_same_id_created_and_the_requested_model(client):
    chunks = stream(client, model="my-custom-model", stream_options={"include_usage": True})[:-1]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert {chunk["model"] for chunk in chunks} == {"my-custom-model"}
    assert len({chunk["id"] for chunk in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")
    assert len({chunk["created"] for chunk in chunks}) == 1


def test_usage_only_with_include_usage(client):
    for options in ({}, {"stream_options": {"include_usage": False}}, {"stream_options": {}}):
        assert all("usage" not in chunk for chunk in stream(client, **options)[:-1])


def test_include_usage_adds_a_last_chunk_with_the_whole_answers_usage(client):
    streamed = stream(client, stream_options={"include_usage": True})
    assert streamed[-1] == "[DONE]"
    last = streamed[-2]
    assert last["choices"] == [] and last["usage"] == whole(client)["usage"]
    # As OpenAI does: the key is on every chunk, null until the last.
    assert all(chunk["usage"] is None for chunk in streamed[:-2])


@pytest.mark.parametrize("limits", [{"max_tokens": 2}, {"stop": ["there"]}, {"stop": "Mock"}])
def test_max_tokens_and_stop_shape_the_stream_as_the_whole_answer(client, limits):
    expected = whole(client, **limits)
    streamed = stream(client, stream_options={"include_usage": True}, **limits)
    assert content(streamed[:-1]) == expected["choices"][0]["message"]["content"]
    assert streamed[-3]["choices"][0]["finish_reason"] == expected["choices"][0]["finish_reason"]
    assert streamed[-2]["usage"] == expected["usage"]


def test_answer_directive_scripts_the_whole_and_the_streamed_answer(client):
    messages = [{"role": "user", "content": '[mock:answer="a.sh\\n```\\nexit 1\\n```\\n"]'}]
    assert whole(client, messages=messages)["choices"][0]["message"]["content"] == "a.sh\n```\nexit 1\n```\n"
    assert content(stream(client, messages=messages)[:-1]) == "a.sh\n```\nexit 1\n```\n"


def test_chunk_delay_spaces_the_pieces(client):
    started = time.monotonic()
    streamed = stream(client, messages=[{"role": "user", "content": "a b c [mock:chunk_delay=50]"}])
    pieces = len(streamed) - 3  # role, finish, [DONE]
    assert pieces > 3
    assert time.monotonic() - started >= (pieces - 1) * 0.05


def test_fail_after_ends_with_an_openai_error_event_and_no_done(client):
    before = streams_counted(client)
    streamed = stream(client, messages=[{"role": "user", "content": "a b c [mock:fail_after=2]"}])
    assert content(streamed[:-1]) == "Mock answer "
    assert len(streamed) == 4  # role, two pieces, the error
    error = streamed[-1]["error"]
    assert error["code"] == "500" and error["type"] == "server_error" and "fail_after" in error["message"]
    assert streams_counted(client)["completed"] == before["completed"] + 1


@pytest.mark.parametrize("directive, status", [("[mock:status=503]", 503), ("[mock:status=429]", 429)])
def test_status_faults_come_before_the_stream_as_plain_http_errors(client, directive, status):
    response = post(client, stream=True, messages=[{"role": "user", "content": directive}])
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == str(status)


def test_garbage_and_sleep_faults_apply_to_streams(client):
    response = post(client, stream=True, messages=[{"role": "user", "content": "[mock:garbage]"}])
    assert response.status_code == 200 and response.content_type.startswith("text/html")
    started = time.monotonic()
    stream(client, messages=[{"role": "user", "content": "x [mock:sleep=100]"}])
    assert time.monotonic() - started >= 0.1


def test_flaky_fails_one_stream_in_n(client):
    body = {"stream": True, "messages": [{"role": "user", "content": "[mock:flaky=2]"}]}
    statuses = [post(client, **body).status_code for _ in range(4)]
    assert sorted(statuses) == [200, 200, 503, 503]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {API_KEY}x"}])
def test_streams_need_the_key(client, headers):
    before = streams_counted(client)
    response = post(client, headers=headers, stream=True)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "401"
    assert streams_counted(client) == before


@pytest.mark.parametrize("body, param", [
    ({"stream": "yes"}, "stream"),
    ({"stream_options": {"include_usage": True}}, "stream_options"),
    ({"stream": True, "stream_options": []}, "stream_options"),
    ({"stream": True, "stream_options": {"include_usage": "yes"}}, "stream_options.include_usage"),
])
def test_bad_stream_fields_are_400(client, body, param):
    response = post(client, **body)
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == param


def test_health_counts_completed_streams(client):
    before = streams_counted(client)
    stream(client)
    after = streams_counted(client)
    assert after["completed"] == before["completed"] + 1 and after["open"] == before["open"]


def test_a_client_that_goes_away_aborts_the_stream(client):
    before = streams_counted(client)
    response = client.post("/v1/chat/completions", json={"model": "m", "messages": MESSAGES, "stream": True},
                           headers=HEADERS, buffered=False)
    first = next(iter(response.response))
    assert b"assistant" in first
    assert streams_counted(client)["open"] == before["open"] + 1
    response.close()  # what the server does when the next write to a gone client fails
    after = streams_counted(client)
    assert after["aborted"] == before["aborted"] + 1 and after["open"] == before["open"]
