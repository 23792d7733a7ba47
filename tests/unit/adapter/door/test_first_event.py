"""adapter.door.first_event: a Responses stream failing before its first event becomes an HTTP error."""

import asyncio
import json

import pytest

from adapter.door.first_event import FirstEventCheck, failed_event_error


def failed(code, message):
    event = {"type": "response.failed", "response": {"id": "r", "status": "failed", "output": [],
                                                     "error": {"code": code, "message": message}}}
    return f"event: response.failed\ndata: {json.dumps(event)}\n\n".encode()


@pytest.mark.parametrize("code, status", [("invalid_request_error", 400), ("rate_limit_exceeded", 429),
                                          ("authentication_error", 401), ("server_error", 500), (None, 500)])
def test_a_failed_first_event_maps_its_code_to_the_status(code, status):
    got, body = failed_event_error(failed(code, "no"))
    assert got == status and body["error"]["code"] == str(status) and body["error"]["message"] == "no"


def test_the_param_a_policy_refusal_names_is_kept():
    _, body = failed_event_error(failed("invalid_request_error", "parameter 'web_search_options' is not supported"))
    assert body["error"]["param"] == "web_search_options"
    _, body = failed_event_error(failed("invalid_request_error", "'temperature' must be a number"))
    assert body["error"]["param"] == "temperature"


@pytest.mark.parametrize("chunk", [b'data: {"type":"response.created"}\n\n', b"event: response.failed\ndata: {bad",
                                   b""])
def test_other_first_events_are_not_errors(chunk):
    assert failed_event_error(chunk) is None


def run(messages):
    sent = []

    async def send(message):
        sent.append(message)

    async def main():
        check = FirstEventCheck(send)
        for message in messages:
            await check(message)

    asyncio.run(main())
    return sent


START = {"type": "http.response.start", "status": 200,
         "headers": [(b"content-type", b"text/event-stream"), (b"x-adapter-dropped-tools", b"web_search")]}


def test_a_stream_failing_first_is_answered_as_an_http_error_and_the_rest_dropped():
    failure = {"type": "http.response.body", "body": failed("invalid_request_error", "bad"), "more_body": True}
    sent = run([START, failure,
                {"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": True},
                {"type": "http.response.body", "body": b""}])
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 400 and (b"x-adapter-dropped-tools", b"web_search") in sent[0]["headers"]
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["error"]["message"] == "bad"


def test_later_failures_stay_events():
    first = {"type": "http.response.body", "body": b'data: {"type":"response.created"}\n\n', "more_body": True}
    later = {"type": "http.response.body", "body": failed("server_error", "late"), "more_body": True}
    assert run([START, first, later]) == [START, first, later]
