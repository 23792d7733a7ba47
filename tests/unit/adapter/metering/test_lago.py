"""adapter.metering.lago: whom a call is charged to, and the event LiteLLM's LagoLogger builds for it."""

import asyncio
import logging

# adapter first: importing it hands LiteLLM our environment (no download of its price map at import)
from adapter.metering import lago as metering_lago
from adapter.metering.lago import LagoMeter, _charged_to, _reason, subscription_id

import httpx
import litellm
import pytest

import stack_settings


@pytest.mark.parametrize("metadata, expected", [
    ({"user_api_key_auth_metadata": {"customer_id": "acme"}}, "acme"),
    ({"user_api_key_auth_metadata": {"customer_id": " acme "}}, "acme"),
    ({"user_api_key_auth_metadata": {}}, "unassigned"),  # a key without customer_id
    ({"user_api_key_auth_metadata": {"customer_id": ""}}, "unassigned"),
    ({"user_api_key_auth_metadata": {"customer_id": 42}}, "unassigned"),
    ({"user_api_key_alias": "master"}, "unassigned"),  # the master key has no auth metadata
    ({}, "unassigned"),
])
def test_the_subscription_is_the_keys_customer_else_the_fallback(metadata, expected):
    assert subscription_id(metadata, "unassigned") == expected


def test_what_the_client_sends_never_picks_the_customer():
    metadata = {"user_api_key_end_user_id": "victim", "requester_metadata": {"customer_id": "victim"},
                "user_api_key_auth_metadata": {}}
    assert subscription_id(metadata, "unassigned") == "unassigned"


def test_the_charged_view_leaves_litellms_kwargs_untouched():
    kwargs = {"model": "m", "litellm_params": {"metadata": {"user_api_key_user_id": None, "x": 1}}}
    view = _charged_to(kwargs, "acme")
    assert view["litellm_params"]["metadata"] == {"user_api_key_user_id": "acme", "x": 1}
    assert kwargs == {"model": "m", "litellm_params": {"metadata": {"user_api_key_user_id": None, "x": 1}}}


def test_failure_reasons_carry_no_url_or_body():
    request = httpx.Request("POST", "https://lago.example/api/v1/events?token=secret")
    error = httpx.HTTPStatusError("boom https://lago.example/?token=secret", request=request,
                                  response=httpx.Response(503, request=request, text="secret body"))
    assert _reason(error) == "Lago answered HTTP 503"
    assert _reason(asyncio.TimeoutError()) == f"no answer within {metering_lago.SEND_TIMEOUT:g} s"
    assert _reason(httpx.ConnectError("cannot reach https://lago.example/?token=secret")) == "ConnectError"


@pytest.fixture
def meter(monkeypatch):
    for name, value in {"LAGO_API_BASE": "http://127.0.0.1:9", "LAGO_API_KEY": "k", "LAGO_API_EVENT_CODE": "tokens",
                        "LAGO_API_CHARGE_BY": "user_id"}.items():
        monkeypatch.setenv(name, value)
    return LagoMeter("unassigned")


def call(customer=None) -> tuple[dict, litellm.ModelResponse]:
    """LiteLLM's kwargs and response for a finished chat call, as its proxy hands them to a callback."""
    auth = {"customer_id": customer} if customer else {}
    response = litellm.ModelResponse(usage=litellm.Usage(prompt_tokens=9, completion_tokens=6, total_tokens=15))
    kwargs = {"model": "business/my-custom-model", "litellm_call_id": "call-1", "response_cost": 0.0,
              "litellm_params": {"metadata": {"user_api_key_alias": "team-a"},
                                 "proxy_server_request": {"body": {"user": "someone-else"}}},
              "standard_logging_object": {"model_group": "my-custom-model", "metadata": {
                  "user_api_key_alias": "team-a", "user_api_key_auth_metadata": auth}}}
    return kwargs, response


def test_the_event_is_charged_to_the_customer_with_the_call_id_model_and_tokens(meter):
    kwargs, response = call("acme")
    assert meter._common_logic(kwargs, response) == {"event": {
        "transaction_id": "call-1", "external_subscription_id": "acme", "code": "tokens",
        "properties": {"model": "my-custom-model", "response_cost": 0.0, "prompt_tokens": 9, "completion_tokens": 6,
                       "total_tokens": 15, "key_alias": "team-a"}}}


def test_a_call_without_customer_is_charged_to_the_fallback_not_an_exception(meter):
    kwargs, response = call()
    assert meter._common_logic(kwargs, response)["event"]["external_subscription_id"] == "unassigned"


def test_past_the_in_flight_limit_an_event_is_dropped_with_one_warning(meter, monkeypatch, caplog):
    monkeypatch.setattr(metering_lago, "MAX_IN_FLIGHT", 0)
    kwargs, response = call("acme")
    with caplog.at_level(logging.WARNING, logger="adapter"):
        for _ in range(3):
            asyncio.run(meter.async_log_success_event(kwargs, response, None, None))
    assert [record.getMessage() for record in caplog.records] == [
        "Lago events are not being sent (0 events already on their way); the usage lines still record every "
        "request. Said again when Lago takes events again."]
    assert meter._unsent == 3 and not meter._in_flight


def test_without_lago_settings_nothing_is_registered(tmp_path):
    settings = stack_settings.load({"ENV_FILE": str(tmp_path / "none")})
    before = list(litellm.callbacks)
    assert metering_lago.register(settings) is None and litellm.callbacks == before
