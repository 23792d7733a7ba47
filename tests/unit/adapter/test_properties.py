"""Property-based tests: whatever JSON-like input arrives, the translations answer with a request or a 4xx."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.door.checks import RequestProblem, parse_body
from adapter.mapping.chat import chat_request
from adapter.providers import laas as transform_laas
from adapter.upstream.errors import AdapterError
from tests.unit.backend_files.test_business_file import BUSINESS

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
roles = st.sampled_from(["system", "user", "assistant", "developer", "tool", "function", "wizard", ""]) | json_values
parts = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image_url", "document", "input_audio"]) | json_values},
    optional={"text": json_values, "image_url": json_values, "document_url": json_values},
)
contents = st.text(max_size=30) | st.lists(parts | json_values, max_size=4) | json_values
messages = st.lists(
    st.fixed_dictionaries({"role": roles}, optional={"content": contents, "tool_calls": json_values}) | json_values,
    max_size=5,
) | json_values
param_names = st.sampled_from(
    ["temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "n", "stream", "params", "hash",
     "api_key", "tools", "seed", "user", "presence_penalty"]
) | st.text(max_size=12)
params = st.dictionaries(param_names, json_values, max_size=5)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_request_or_4xx(call):
    try:
        result = call()
    except AdapterError as error:
        assert 400 <= error.status_code < 500, error.message
        assert error.message
        return None
    json.dumps(result)  # a real backend request is plain JSON
    return result


@SETTINGS
@given(messages=messages, params=params, drop=st.booleans())
def test_business_translation_is_total(messages, params, drop):
    body = assert_request_or_4xx(lambda: chat_request(BUSINESS, "m", None, messages, params, False, drop))
    if body is not None:
        assert isinstance(body.get("query", ""), str)
        assert body["model_info"]["name"] == "m"
        assert all(turn["role"] in ("system", "user", "assistant", "tool") for turn in body["history"])
        assert "hash" not in body and "api_key" not in body["model_info"]


@SETTINGS
@given(messages=messages, params=params, drop=st.booleans())
def test_laas_translation_is_total(messages, params, drop):
    body = assert_request_or_4xx(lambda: transform_laas.transform_request(messages, params, "server-hash", drop))
    if body is not None:
        assert body["hash"] == "server-hash"
        assert isinstance(body["params"], dict)
        assert all(isinstance(part, dict) for message in body["messages"] for part in message["content"])


@SETTINGS
@given(body=json_values | st.fixed_dictionaries({"model": json_values, "messages": messages}, optional={
    "stream": json_values, "hash": json_values}))
def test_proxy_door_accepts_or_names_a_problem(body):
    try:
        parsed = parse_body("chat", json.dumps(body).encode())
    except RequestProblem as problem:
        assert problem.message
        return
    assert isinstance(parsed["model"], str) and parsed["messages"]


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_proxy_door_never_crashes_on_bytes(raw):
    try:
        parse_body("chat", raw)
    except RequestProblem:
        pass
