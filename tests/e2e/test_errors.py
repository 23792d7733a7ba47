"""Errors through the real proxy: client mistakes are 4xx, backend trouble is 5xx, always OpenAI JSON."""

import json

import openai
import pytest

from .test_auth import raw_request


def ask(stack, text, model="my-custom-model"):
    return stack.client().chat.completions.create(model=model, messages=[{"role": "user", "content": text}])


def assert_openai_error(body: bytes, status: int):
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == str(status)
    assert "Traceback" not in error["message"] and 'File "' not in error["message"]
    return error


def test_unknown_model_is_400(stack):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().chat.completions.create(model="gpt-nope", messages=[{"role": "user", "content": "x"}])
    assert "gpt-nope" in caught.value.body["message"]


def test_empty_messages_is_400(stack):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().chat.completions.create(model="claude-3.5-sonnet", messages=[])
    assert caught.value.body["param"] == "messages"


def test_unsupported_parameter_is_400_naming_it(stack):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().chat.completions.create(
            model="my-custom-model", messages=[{"role": "user", "content": "x"}], extra_body={"verbosity": "low"}
        )
    assert "verbosity" in caught.value.body["message"]
    assert caught.value.body["param"] == "verbosity"


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[1,2]", b'{"model": "my-custom-model", "messages": "hi"}',
     b'{"model": "my-custom-model", "messages": [{"role": "user", "content": {"a": 1}}]}', b"\xff\xfe"],
)
def test_malformed_bodies_are_400_json(stack, body):
    status, content_type, payload = raw_request(
        f"{stack.proxy_url}/v1/chat/completions", body,
        {"Content-Type": "application/json", "Authorization": f"Bearer {stack.master_key}"},
    )
    assert status == 400
    assert content_type == "application/json"
    assert_openai_error(payload, 400)


@pytest.mark.parametrize("model", ["my-custom-model", "claude-3.5-sonnet"])
@pytest.mark.parametrize(
    "directive, exception, status",
    [
        ("[mock:status=400]", openai.BadRequestError, 400),
        ("[mock:status=401]", openai.InternalServerError, 502),
        ("[mock:status=403]", openai.InternalServerError, 502),
        ("[mock:status=500]", openai.InternalServerError, 502),
        ("[mock:status=503]", openai.InternalServerError, 503),  # retried twice first
        ("[mock:garbage]", openai.InternalServerError, 502),
    ],
)
def test_backend_failures_map_to_client_statuses(stack, model, directive, exception, status):
    with pytest.raises(exception) as caught:
        ask(stack, f"please fail {directive}", model)
    assert caught.value.status_code == status
    assert "Traceback" not in caught.value.body["message"]


def test_backend_credential_rejection_says_so(stack):
    with pytest.raises(openai.InternalServerError) as caught:
        ask(stack, "[mock:status=401]", "claude-4-sonnet")
    assert "credentials" in caught.value.body["message"]


def test_backend_rate_limit_is_429_with_retry_after(stack):
    with pytest.raises(openai.RateLimitError) as caught:
        ask(stack, "[mock:status=429]")
    assert caught.value.status_code == 429
    assert caught.value.response.headers.get("retry-after") == "1"


def test_backend_error_does_not_poison_the_next_request(stack):
    with pytest.raises(openai.InternalServerError):
        ask(stack, "[mock:status=500]")
    assert ask(stack, "fine again").choices[0].message.content == "Mock answer from my-custom-model: fine again"


@pytest.mark.parametrize("method, path", [
    # LiteLLM's error handler crashes on these (it imports `prisma`): without our layer, a plain-text 500
    ("POST", "/key/generate"), ("GET", "/key/info"), ("POST", "/user/new"),
    # LiteLLM answers these itself, with a 400 or a 500
    ("GET", "/team/list"), ("GET", "/spend/logs"), ("GET", "/global/spend"),
])
def test_routes_needing_litellms_database_are_501_json(stack, method, path):
    status, content_type, payload = raw_request(
        f"{stack.proxy_url}{path}", b"{}" if method == "POST" else None,
        {"Content-Type": "application/json", "Authorization": f"Bearer {stack.master_key}"}, method=method,
    )
    assert (status, content_type) == (501, "application/json")
    assert "needs LiteLLM's database" in assert_openai_error(payload, 501)["message"]


def test_unknown_route_is_404_json(stack):
    status, content_type, payload = raw_request(
        f"{stack.proxy_url}/v1/nothing-here", headers={"Authorization": f"Bearer {stack.master_key}"}
    )
    assert status == 404
    assert_openai_error(payload, 404)


def test_body_over_the_limit_is_413_and_the_proxy_stays_up(stack):
    limit = int(stack.settings.max_request_body_mb * 1024 * 1024)
    status, _, payload = raw_request(
        f"{stack.proxy_url}/v1/chat/completions", b"x" * (limit + 1),
        {"Content-Type": "application/json", "Authorization": f"Bearer {stack.master_key}"},
    )
    assert status == 413
    assert_openai_error(payload, 413)
    assert ask(stack, "still here").choices[0].message.content.endswith("still here")



@pytest.mark.parametrize("stream", [False, True])
def test_a_503_is_server_error_streaming_or_not(stack, stream):
    with pytest.raises(openai.InternalServerError) as caught:
        result = stack.client().chat.completions.create(
            model="my-custom-model", messages=[{"role": "user", "content": "[mock:status=503]"}], stream=stream
        )
        list(result) if stream else None
    assert caught.value.status_code == 503
    assert (caught.value.body["type"], caught.value.body["code"]) == ("server_error", "503")


@pytest.mark.parametrize("directive, status, kind", [
    ("[mock:status=400]", 400, "invalid_request_error"), ("[mock:status=429]", 429, "rate_limit_error"),
    ("[mock:status=500]", 502, "server_error"), ("[mock:status=504]", 502, "server_error"),
])
def test_the_type_is_the_one_of_the_status(stack, directive, status, kind):
    status_seen, content_type, payload = raw_request(
        f"{stack.proxy_url}/v1/chat/completions",
        {"model": "my-custom-model", "messages": [{"role": "user", "content": directive}]},
        {"Content-Type": "application/json", "Authorization": f"Bearer {stack.master_key}"},
    )
    assert status_seen == status
    assert assert_openai_error(payload, status)["type"] == kind


def test_a_user_part_of_an_unknown_type_is_400_not_500(stack):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().chat.completions.create(
            model="my-custom-model", messages=[{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]
        )
    assert caught.value.body["param"] == "messages[0].content[0].type"
