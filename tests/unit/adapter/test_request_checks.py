"""adapter.request_checks: the proxy door's body checks and error-message cleaning."""

import json

import pytest

from adapter.request_checks import RequestProblem, clean_message, normalise_error, parse_chat_body


def test_plausible_body_is_returned():
    raw = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": False}).encode()
    assert parse_chat_body(raw)["model"] == "m"


@pytest.mark.parametrize(
    "raw, param",
    [
        (b"", None),
        (b"{not json", None),
        (b"\xff\xfe\x00", None),
        (b"[1, 2]", None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": 5, "messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": "m"}', "messages"),
        (b'{"model": "m", "messages": []}', "messages"),
        (b'{"model": "m", "messages": "hi"}', "messages"),
        (b'{"model": "m", "messages": [1]}', "messages[0]"),
        (b'{"model": "m", "messages": [{"content": "x"}]}', "messages[0]"),
        (b'{"model": "m", "messages": [{"role": "user", "content": 7}]}', "messages[0].content"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}', "stream"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "hash": "h"}', "hash"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "api_base": "http://evil"}', "api_base"),
    ],
)
def test_implausible_bodies_are_problems(raw, param):
    with pytest.raises(RequestProblem) as caught:
        parse_chat_body(raw)
    assert caught.value.param == param
    assert caught.value.message


def test_clean_message_drops_tracebacks_plumbing_and_secrets():
    raw = (
        "litellm.BadRequestError: My-custom-llmException - backend said no to sk-secret-1\n"
        "Traceback (most recent call last):\n  File \"/x.py\", line 1\n"
        "\n\nLiteLLM: model group 'm' failed"
    )
    assert clean_message(raw, ("sk-secret-1",)) == "backend said no to <redacted>"


def test_clean_message_drops_litellm_deployment_info():
    raw = "litellm.Timeout: X-llmException - slow (BUSINESS_API_TIMEOUT)\n\nDeployment Info: request_timeout: None"
    assert clean_message(raw, ()) == "slow (BUSINESS_API_TIMEOUT)"


def test_plain_text_500_becomes_an_openai_error():
    assert normalise_error(500, b"Internal Server Error", ()) == {
        "error": {"message": "internal error in the proxy; see its log", "type": "server_error", "param": None,
                  "code": "500"}
    }


def test_fastapi_detail_becomes_the_message():
    assert normalise_error(404, b'{"detail": "Not Found"}', ())["error"] == {
        "message": "Not Found", "type": "not_found_error", "param": None, "code": "404"
    }


def test_litellm_error_keeps_status_type_and_real_param():
    raw = json.dumps({"error": {"message": "bad", "type": "auth_error", "param": "None", "code": "401"}}).encode()
    assert normalise_error(401, raw, ())["error"] == {"message": "bad", "type": "auth_error", "param": None, "code": "401"}


def test_stream_error_events_are_cleaned_and_other_events_untouched():
    from adapter.request_checks import normalise_stream_errors

    ok = b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\n'
    assert normalise_stream_errors(ok, ()) is ok
    failed = b'data: {"error": {"message": "litellm.BadGatewayError: X-llmException - it broke", "type": null, "code": "502"}}\n\n'
    cleaned = normalise_stream_errors(failed, ())
    assert cleaned.startswith(b"data: ") and cleaned.endswith(b"\n\n")
    assert json.loads(cleaned[6:].strip())["error"] == {
        "message": "it broke", "type": "server_error", "param": None, "code": "502"
    }


@pytest.mark.parametrize(
    "field, value",
    [("tools", 5), ("tools", {}), ("temperature", "hot"), ("temperature", True), ("max_tokens", 1.5), ("n", "2"),
     ("stop", 7), ("tool_choice", 3), ("stream_options", []), ("params", "name=Kim"), ("user", 42)],
)
def test_parameters_litellm_reads_itself_must_have_the_right_type(field, value):
    raw = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}], field: value}).encode()
    with pytest.raises(RequestProblem) as caught:
        parse_chat_body(raw)
    assert caught.value.param == field


def test_null_parameters_are_absent_parameters():
    raw = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": None}).encode()
    assert parse_chat_body(raw)["tools"] is None


@pytest.mark.parametrize("status, raw", [
    # LiteLLM 1.106.2's own words on the admin routes when the proxy has no database
    (400, b'{"detail": "DB not connected. This endpoint needs a database; set DATABASE_URL to ..."}'),
    (500, b'{"error": {"message": "/spend/logs ErrorDatabase not connected. Connect a database to your proxy"}}'),
    (500, b'{"error": {"message": "{\'error\': \'No db connected\'}", "type": "internal_error"}}'),
    (400, b'{"error": {"message": "No connected db.", "type": "auth_error"}}'),
])
def test_endpoints_needing_litellms_database_are_501(status, raw):
    error = normalise_error(status, raw, ())["error"]
    assert error["code"] == "501"
    assert "needs LiteLLM's database" in error["message"]


def test_other_messages_about_databases_keep_their_status():
    raw = b'{"error": {"message": "the dbx notes were not connected to anything"}}'
    assert normalise_error(500, raw, ())["error"]["code"] == "500"
