"""POST /api/process through Flask's test client."""

import json

import pytest

from business_api import mock

from .conftest import API_KEY

HEADERS = {"X-API-Key": API_KEY}


def post(client, body, headers=HEADERS, **kwargs):
    return client.post("/api/process", json=body, headers=headers, **kwargs)


def test_health_needs_no_key(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_answer_quotes_the_query_with_consistent_usage(client):
    response = post(client, {"query": "Hello there", "model_info": {"name": "my-model"}})
    assert response.status_code == 200
    body = response.get_json()
    assert body["answer"] == "Mock answer from my-model: Hello there"
    assert body["finish_reason"] == "stop"
    assert body["request_id"].startswith("req_")
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_history_counts_towards_prompt_tokens(client):
    alone = post(client, {"query": "q", "model_info": {"name": "m"}}).get_json()["usage"]["prompt_tokens"]
    history = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "earlier"}]
    more = post(client, {"query": "q", "model_info": {"name": "m"}, "history": history}).get_json()
    assert more["usage"]["prompt_tokens"] > alone


def test_request_id_is_echoed_back(client):
    body = post(client, {"query": "q", "model_info": {"name": "m"}, "request_id": "abc-1"}).get_json()
    assert body["request_id"] == "abc-1"


def test_echo_returns_the_received_body(client):
    sent = {"query": "show me [mock:echo]", "model_info": {"name": "m", "temperature": 0.2}, "history": []}
    body = post(client, sent).get_json()
    assert json.loads(body["answer"]) == sent


def test_max_tokens_and_stop_shape_the_answer(client):
    body = post(client, {"query": "a b c d e", "model_info": {"name": "m", "max_tokens": 2}}).get_json()
    assert body["answer"] == "Mock answer"
    assert body["finish_reason"] == "length"
    body = post(client, {"query": "a b c", "model_info": {"name": "m", "stop": ["b"]}}).get_json()
    assert body["answer"] == "Mock answer from m: a "


def test_answer_directive_scripts_the_text_answer_with_its_usage(client):
    body = post(client, {"query": 'edit [mock:answer="a.sh\\n```\\nexit 1\\n```\\n"]',
                         "model_info": {"name": "m"}}).get_json()
    assert body["answer"] == "a.sh\n```\nexit 1\n```\n" and body["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == mock.count_tokens(body["answer"])


def test_answer_directive_is_cut_by_max_tokens_and_stop_and_loses_to_echo(client):
    query = '[mock:answer="one two three"]'
    body = post(client, {"query": query, "model_info": {"name": "m", "max_tokens": 2}}).get_json()
    assert body["answer"] == "one two" and body["finish_reason"] == "length"
    body = post(client, {"query": query, "model_info": {"name": "m", "stop": [" three"]}}).get_json()
    assert body["answer"] == "one two"
    body = post(client, {"query": query + " [mock:echo]", "model_info": {"name": "m"}}).get_json()
    assert json.loads(body["answer"])["query"] == query + " [mock:echo]"


def test_answer_directive_applies_to_its_own_turn_only(client):
    history = [{"role": "user", "content": '[mock:answer="scripted"]'}, {"role": "assistant", "content": "scripted"}]
    body = post(client, {"query": "I ran it and got: 42", "model_info": {"name": "m"}, "history": history}).get_json()
    assert body["answer"] == "Mock answer from m: I ran it and got: 42"


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": API_KEY + "x"}])
def test_missing_or_wrong_key_is_401_json(client, headers):
    response = post(client, {"query": "q", "model_info": {"name": "m"}}, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    "body, param",
    [
        ({"model_info": {"name": "m"}}, "query"),
        ({"query": 5, "model_info": {"name": "m"}}, "query"),
        ({"query": "q"}, "model_info"),
        ({"query": "q", "model_info": {"name": ""}}, "model_info.name"),
        ({"query": "q", "model_info": {"name": "m", "temperature": "hot"}}, "model_info.temperature"),
        ({"query": "q", "model_info": {"name": "m", "temperature": 3}}, "model_info.temperature"),
        ({"query": "q", "model_info": {"name": "m", "max_tokens": 0}}, "model_info.max_tokens"),
        ({"query": "q", "model_info": {"name": "m", "stop": [1]}}, "model_info.stop"),
        ({"query": "q", "model_info": {"name": "m"}, "history": "earlier"}, "history"),
        ({"query": "q", "model_info": {"name": "m"}, "history": [{"role": "robot", "content": "x"}]}, "history[0].role"),
        ({"query": "q", "model_info": {"name": "m"}, "history": [{"role": "tool", "content": "x"}]},
         "history[0].tool_call_id"),
        ({"query": "q", "model_info": {"name": "m"}, "history": [{"role": "user"}]}, "history[0].content"),
    ],
)
def test_bad_fields_are_400_naming_the_field(client, body, param):
    response = post(client, body)
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == param


@pytest.mark.parametrize("data", [b"", b"not json", b"[1, 2]", b"\xff\xfe", b'"text"'])
def test_bodies_that_are_not_json_objects_are_400(client, data):
    response = client.post("/api/process", data=data, headers={**HEADERS, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert "error" in response.get_json()


def test_status_directive_answers_with_that_status_and_retry_after(client):
    response = post(client, {"query": "[mock:status=429]", "model_info": {"name": "m"}})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.get_json()["error"]["code"] == "429"
    assert post(client, {"query": "[mock:status=500]", "model_info": {"name": "m"}}).status_code == 500


def test_garbage_directive_is_200_and_not_json(client):
    response = post(client, {"query": "[mock:garbage]", "model_info": {"name": "m"}})
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.data)


def test_sleep_directive_waits(client):
    import time

    started = time.monotonic()
    post(client, {"query": "[mock:sleep=200]", "model_info": {"name": "m"}})
    assert time.monotonic() - started >= 0.2


def test_bad_directive_is_400(client):
    response = post(client, {"query": "[mock:status=99]", "model_info": {"name": "m"}})
    assert response.status_code == 400
    assert "status" in response.get_json()["error"]["message"]


def events(response) -> list:
    """The data of each server-sent event in a streamed response."""
    assert response.content_type.startswith("text/event-stream")
    lines = [line for line in response.get_data(as_text=True).split("\n\n") if line]
    assert all(line.startswith("data: ") for line in lines)
    return [line[6:] if line[6:] == "[DONE]" else json.loads(line[6:]) for line in lines]


def test_stream_sends_the_same_answer_in_pieces_then_finish_and_usage(client):
    query = {"query": "Hello there, world", "model_info": {"name": "m"}}
    whole = post(client, query).get_json()
    streamed = events(post(client, {**query, "stream": True}))
    assert streamed[-1] == "[DONE]"
    final = streamed[-2]
    pieces = [event["delta"] for event in streamed[:-2]]
    assert len(pieces) > 3
    assert "".join(pieces) == whole["answer"]
    assert final["delta"] == "" and final["finish_reason"] == "stop"
    assert final["usage"] == whole["usage"]
    assert {event["request_id"] for event in streamed[:-1]} == {final["request_id"]}


def test_stream_honours_chunk_delay(client):
    import time

    started = time.monotonic()
    response = post(client, {"query": "a b c [mock:chunk_delay=50]", "model_info": {"name": "m"}, "stream": True})
    pieces = len(events(response)) - 2
    assert time.monotonic() - started >= (pieces - 1) * 0.05


def test_stream_can_fail_midway_with_an_error_event(client):
    streamed = events(post(client, {"query": "a b c [mock:fail_after=2]", "model_info": {"name": "m"}, "stream": True}))
    assert [event["delta"] for event in streamed[:2]] == ["Mock ", "answer "]
    assert streamed[2]["error"]["code"] == "500"
    assert len(streamed) == 3  # no [DONE] after an error


def test_stream_errors_before_the_first_piece_are_plain_http_errors(client):
    response = post(client, {"query": "[mock:status=503]", "model_info": {"name": "m"}, "stream": True})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "503"


def test_stream_must_be_a_boolean(client):
    response = post(client, {"query": "q", "model_info": {"name": "m"}, "stream": "yes"})
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == "stream"


def test_health_counts_completed_streams(client):
    before = client.get("/health").get_json()["streams"]
    events(post(client, {"query": "q", "model_info": {"name": "m"}, "stream": True}))
    after = client.get("/health").get_json()["streams"]
    assert after["completed"] == before["completed"] + 1
    assert after["open"] == 0


def test_body_over_the_limit_is_413_json(client):
    response = client.post("/api/process", data=b"x" * (8 * 1024 * 1024 + 1), headers=HEADERS)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "413"


def test_unknown_route_and_method_are_json(client):
    assert client.get("/nope").get_json()["error"]["code"] == "404"
    assert client.get("/api/process").get_json()["error"]["code"] == "405"


def test_flaky_fails_one_request_in_n(client):
    statuses = [post(client, {"query": "[mock:flaky=3]", "model_info": {"name": "m"}}).status_code for _ in range(9)]
    assert statuses.count(503) == 3
    assert statuses.count(200) == 6


def test_openai_compatible_route_answers_like_openai(client):
    response = client.post(
        "/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "Mock answer from m: hi"
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]


def test_openai_compatible_route_needs_the_key(client):
    response = client.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
                           headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
