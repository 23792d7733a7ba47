"""adapter.door.errors: one OpenAI error shape, one `type` per status, LiteLLM's errors (gzipped or not) rewritten."""

import gzip
import json
import zlib

import pytest

from adapter.door.errors import (
    clean_message,
    decoded,
    error_body,
    error_type,
    normalise_error,
    normalise_stream_errors,
)


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


def test_litellm_error_keeps_status_and_real_param_and_gets_the_type_of_its_status():
    raw = json.dumps({"error": {"message": "bad", "type": "auth_error", "param": "None", "code": "401"}}).encode()
    assert normalise_error(401, raw, ())["error"] == {
        "message": "bad", "type": "authentication_error", "param": None, "code": "401"
    }
    raw = json.dumps({"error": {"message": "no", "type": None, "param": "tools", "code": "400"}}).encode()
    assert normalise_error(400, raw, ())["error"]["param"] == "tools"


def test_stream_error_events_are_cleaned_and_other_events_untouched():
    ok = b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\n'
    assert normalise_stream_errors(ok, ()) is ok
    failed = b'data: {"error": {"message": "litellm.BadGatewayError: X-llmException - it broke", "type": null, "code": "502"}}\n\n'
    cleaned = normalise_stream_errors(failed, ())
    assert cleaned.startswith(b"data: ") and cleaned.endswith(b"\n\n")
    assert json.loads(cleaned[6:].strip())["error"] == {
        "message": "it broke", "type": "server_error", "param": None, "code": "502"
    }


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



@pytest.mark.parametrize("status, kind", [
    (400, "invalid_request_error"), (401, "authentication_error"), (403, "permission_error"),
    (404, "not_found_error"), (409, "conflict_error"), (413, "request_too_large"),
    (422, "unprocessable_entity_error"), (429, "rate_limit_error"), (405, "invalid_request_error"),
    (500, "server_error"), (501, "server_error"), (502, "server_error"), (503, "server_error"),
    (504, "server_error"),
])
def test_type_is_a_function_of_the_status(status, kind):
    assert error_type(status) == kind
    assert error_body(status, "m")["error"]["type"] == kind


def test_a_503_has_the_same_type_in_a_response_and_in_a_stream_event():
    litellm_says = {"error": {"message": "down", "type": "internal_server_error", "param": None, "code": "503"}}
    response = normalise_error(503, json.dumps(litellm_says).encode(), ())["error"]
    event = normalise_stream_errors(b"data: " + json.dumps(litellm_says).encode() + b"\n\n", ())
    assert json.loads(event[6:])["error"] == response
    assert response["type"] == "server_error"


LONG_ERROR = json.dumps({"error": {"message": "bad " + "x" * 600, "type": "invalid_request_error",
                                   "param": "reasoning_effort", "code": "400"}}).encode()


@pytest.mark.parametrize("compress, encoding", [
    (lambda raw: raw, ""),
    (lambda raw: raw, "identity"),
    (gzip.compress, "gzip"),
    (gzip.compress, "x-gzip"),
    (zlib.compress, "deflate"),
    (lambda raw: zlib.compress(raw)[2:-4], "deflate"),  # raw deflate, as some servers send it
])
def test_compressed_error_bodies_are_read_like_plain_ones(compress, encoding):
    assert decoded(compress(LONG_ERROR), encoding) == LONG_ERROR
    error = normalise_error(400, decoded(compress(LONG_ERROR), encoding), ())["error"]
    assert (error["param"], error["message"][:4]) == ("reasoning_effort", "bad ")


@pytest.mark.parametrize("raw, encoding", [(b"not gzip at all", "gzip"), (gzip.compress(b"{}"), "br")])
def test_unreadable_bodies_give_the_generic_message(raw, encoding):
    assert decoded(raw, encoding) == b""
    assert normalise_error(400, decoded(raw, encoding), ())["error"]["message"] == "request failed with HTTP 400"


def test_decoding_is_bounded():
    bomb = gzip.compress(b"{" * (20 * 1024 * 1024))
    assert len(decoded(bomb, "gzip")) <= 1024 * 1024


def test_litellms_unsupported_parameter_error_names_its_param_without_the_operator_advice():
    message = ("litellm.UnsupportedParamsError: my-custom-llm does not support parameters: ['verbosity', 'x'], for "
               "model=my-custom-model. To drop these, set `litellm.drop_params=True` or for proxy:\n\n"
               "`litellm_settings:\n drop_params: true`\n. \n If you want to use these params dynamically send "
               "allowed_openai_params=['verbosity'] in your request.")
    raw = json.dumps({"error": {"message": message, "type": None, "param": None, "code": "400"}}).encode()
    assert normalise_error(400, raw, ())["error"] == {
        "message": "my-custom-llm does not support parameters: ['verbosity', 'x'], for model=my-custom-model.",
        "type": "invalid_request_error", "param": "verbosity", "code": "400",
    }


def test_litellms_unsupported_setting_error_names_its_param_without_the_operator_advice():
    message = ("litellm.UnsupportedParamsError: Setting {'encoding_format': 'base64'} is not supported by "
               "my-custom-llm. To drop it from the call, set `litellm.drop_params = True`.")
    raw = json.dumps({"error": {"message": message, "type": None, "param": None, "code": "400"}}).encode()
    assert normalise_error(400, raw, ())["error"] == {
        "message": "Setting {'encoding_format': 'base64'} is not supported by my-custom-llm.",
        "type": "invalid_request_error", "param": "encoding_format", "code": "400",
    }


def test_litellms_unsupported_setting_in_backticks_names_its_param():
    raw = json.dumps({"error": {"message": "Setting `dimensions` is not supported by my-custom-llm, m. To drop it "
                                           "from the call, set `litellm.drop_params = True`.", "param": None}}).encode()
    assert normalise_error(400, raw, ())["error"]["param"] == "dimensions"


def test_responses_failed_events_keep_their_shape_with_a_clean_message():
    event = (b'event: response.failed\ndata: {"type":"response.failed","response":{"id":"r","error":'
             b'{"code":"server_error","message":"litellm.BadGatewayError: backend broke with s3cret"},'
             b'"status":"failed"},"sequence_number":4}\n\n')
    cleaned = normalise_stream_errors(event, ("s3cret",))
    payload = json.loads(cleaned.split(b"data: ", 1)[1].split(b"\n", 1)[0])
    assert payload["response"]["error"] == {"code": "server_error", "message": "backend broke with <redacted>"}
    assert payload["sequence_number"] == 4 and cleaned.startswith(b"event: response.failed\n")


def test_litellms_metrics_refusal_a_bare_json_string_is_the_message_without_the_operator_advice():
    raw = json.dumps("Unauthorized access to metrics endpoint: GET /metrics needs the master key "
                     "To allow unauthenticated access, set `litellm_settings.require_auth_for_metrics_endpoint: "
                     "false` in your proxy_config.yaml.").encode()
    assert normalise_error(401, raw, ())["error"] == {
        "message": "Unauthorized access to metrics endpoint: GET /metrics needs the master key",
        "type": "authentication_error", "param": None, "code": "401"}
