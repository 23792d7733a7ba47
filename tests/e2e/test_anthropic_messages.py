"""The Anthropic Messages API (/v1/messages, count_tokens) through the real proxy, driven by the real anthropic SDK."""

import json

import anthropic
import pytest

from .test_auth import raw_request

MODELS = ["my-custom-model", "claude-3.5-sonnet"]


@pytest.fixture()
def client(stack):
    return anthropic.Anthropic(base_url=stack.proxy_url, api_key=stack.master_key, max_retries=0, timeout=30)


@pytest.mark.parametrize("model", MODELS)
def test_messages_create_answers_text(client, model):
    message = client.messages.create(model=model, max_tokens=100,
                                     messages=[{"role": "user", "content": "Hello there"}])
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and "Hello there" in message.content[0].text
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_messages_stream_answers_text_in_anthropic_events(client, model):
    with client.messages.stream(model=model, max_tokens=100, system="Be brief.",
                                messages=[{"role": "user", "content": "Stream this"}]) as stream:
        events = [event.type for event in stream]
        text = stream.get_final_text()
        final = stream.get_final_message()
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "content_block_start" in events and "content_block_delta" in events and "message_delta" in events
    assert "Stream this" in text
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_count_tokens(client, model):
    count = client.messages.count_tokens(model=model, messages=[{"role": "user", "content": "Count these words"}])
    assert count.input_tokens > 0


def test_the_beta_query_and_headers_are_accepted(stack):
    headers = {"Content-Type": "application/json", "x-api-key": stack.master_key, "anthropic-version": "2023-06-01",
               "anthropic-beta": "no-such-beta-2099-01-01,prompt-caching-2024-07-31"}
    body = {"model": "my-custom-model", "max_tokens": 50, "messages": [{"role": "user", "content": "beta"}]}
    status, _, answer = raw_request(f"{stack.proxy_url}/v1/messages?beta=true", body, headers)
    assert status == 200, answer
    assert json.loads(answer)["content"][0]["text"].endswith("beta")


def test_the_key_may_be_a_bearer_token(stack):
    client = anthropic.Anthropic(base_url=stack.proxy_url, auth_token=stack.master_key, max_retries=0)
    message = client.messages.create(model="my-custom-model", max_tokens=20,
                                     messages=[{"role": "user", "content": "bearer"}])
    assert message.content[0].text.endswith("bearer")


@pytest.mark.parametrize("call", ["create", "count_tokens"])
def test_a_wrong_key_is_an_authentication_error_in_anthropic_shape(stack, call):
    client = anthropic.Anthropic(base_url=stack.proxy_url, api_key="sk-wrong", max_retries=0)
    body = {"model": "secret-model", "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(anthropic.AuthenticationError) as caught:
        if call == "create":
            client.messages.create(max_tokens=10, **body)
        else:
            client.messages.count_tokens(**body)
    assert caught.value.status_code == 401
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == "authentication_error"
    assert "secret-model" not in caught.value.message


@pytest.mark.parametrize("body, field", [
    ({"messages": [{"role": "user", "content": "hi"}]}, "max_tokens"),
    ({"max_tokens": 10, "messages": []}, "messages"),
    ({"max_tokens": 10, "messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
    ({"max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages.0.content.0.text"),
    ({"max_tokens": 10, "messages": [{"role": "user", "content": 5}]}, "messages.0.content"),
    ({"max_tokens": 10, "system": [{"type": "image"}], "messages": [{"role": "user", "content": "hi"}]},
     "system.0.type"),
    ({"max_tokens": 10, "tools": [{"name": "t"}], "messages": [{"role": "user", "content": "hi"}]},
     "tools.0.input_schema"),
    ({"max_tokens": 10, "tool_choice": {"type": "sometimes"}, "messages": [{"role": "user", "content": "hi"}]},
     "tool_choice.type"),
    ({"max_tokens": 10, "temperature": "hot", "messages": [{"role": "user", "content": "hi"}]}, "temperature"),
])
def test_a_bad_body_is_a_bad_request_naming_the_field(client, body, field):
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.post("/v1/messages", body={"model": "my-custom-model", **body}, cast_to=object)
    error = caught.value.body
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert error["error"]["message"].startswith(f"{field}:"), error


def test_an_unknown_model_is_not_found_as_anthropic_answers_it(client):
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(model="claude-9-opus", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["error"]["type"] == "not_found_error"
    assert "claude-9-opus" in caught.value.message


def test_a_backend_failure_is_an_anthropic_error_without_secrets(stack, client):
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(model="my-custom-model", max_tokens=10,
                               messages=[{"role": "user", "content": "[mock:status=503]"}])
    assert caught.value.status_code == 503
    assert caught.value.body["error"]["type"] == "overloaded_error"
    assert "Traceback" not in caught.value.message and stack.master_key not in caught.value.message


def test_closed_routes_under_messages_answer_in_anthropic_shape(stack):
    status, _, answer = raw_request(f"{stack.proxy_url}/v1/messages/batches", {"requests": []},
                                    {"Content-Type": "application/json", "x-api-key": stack.master_key})
    assert status == 404 and json.loads(answer)["type"] == "error"
    status, _, answer = raw_request(f"{stack.proxy_url}/v1/messages", method="GET")
    assert status == 405 and json.loads(answer)["error"]["type"] == "invalid_request_error"


def test_a_stream_failing_midway_ends_with_an_anthropic_error_event(client, stack):
    received = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        with client.messages.stream(model="my-custom-model", max_tokens=50,
                                    messages=[{"role": "user", "content": "a b c [mock:fail_after=2]"}]) as stream:
            received.extend(stream.text_stream)
    assert "".join(received) == "Mock answer "
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == "api_error"
    message = caught.value.body["error"]["message"]
    assert "fail_after" in message and "Traceback" not in message and "litellm." not in message


def test_a_key_not_allowed_the_model_is_a_permission_error(stack, tmp_path_factory):
    """A keys-file key: 403 in Anthropic's shape before the body is checked, its own model answered."""
    from adapter.keys import hash_key

    from .conftest import extra_proxy
    from .test_keys import keys_file

    tmp = tmp_path_factory.mktemp("anthropic-keys")
    keys_file(tmp / "keys.yaml", {"alias": "team-a", "hash": hash_key("sk-team-a-0123456789"),
                                  "models": ["my-custom-model"]})
    with extra_proxy(tmp, KEYS_FILE=str(tmp / "keys.yaml"), BUSINESS_API_BASE=stack.business_url,
                     BUSINESS_API_KEY=stack.settings.business_api_key) as openai_client:
        client = anthropic.Anthropic(base_url=str(openai_client.base_url).removesuffix("/v1/"),
                                     api_key="sk-team-a-0123456789", max_retries=0)
        with pytest.raises(anthropic.PermissionDeniedError) as caught:
            client.post("/v1/messages", cast_to=object, body={"model": "claude-3.5-sonnet", "messages": "bad"})
        assert caught.value.body["error"]["type"] == "permission_error" and "messages" not in caught.value.message
        answer = client.messages.create(model="my-custom-model", max_tokens=20,
                                        messages=[{"role": "user", "content": "team"}])
        assert answer.content[0].text.endswith("team")


WEATHER = {"name": "get_weather", "description": "The weather in a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def test_a_tool_use_stream_and_its_round_trip(client):
    """tool_use arrives as content_block_start + input_json_delta events; the tool's result reaches the next answer."""
    messages = [{"role": "user", "content": "What's the weather in Paris? [mock:tool=get_weather]"}]
    with client.messages.stream(model="my-custom-model", max_tokens=100, tools=[WEATHER], messages=messages) as stream:
        deltas = [event.delta.type for event in stream if event.type == "content_block_delta"]
        first = stream.get_final_message()
    assert "input_json_delta" in deltas
    assert first.stop_reason == "tool_use"
    call = next(block for block in first.content if block.type == "tool_use")
    assert call.name == "get_weather" and isinstance(call.input["city"], str)
    messages += [{"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id,
                                               "content": "18 C and sunny"}]}]
    final = client.messages.create(model="my-custom-model", max_tokens=100, tools=[WEATHER], messages=messages)
    assert final.stop_reason == "end_turn" and "18 C and sunny" in final.content[0].text


@pytest.mark.parametrize("model", MODELS)
def test_max_tokens_stops_with_stop_reason_max_tokens(client, model):
    message = client.messages.create(model=model, max_tokens=2,
                                     messages=[{"role": "user", "content": "one two three four five six"}])
    assert message.stop_reason == "max_tokens"
    with client.messages.stream(model=model, max_tokens=2,
                                messages=[{"role": "user", "content": "one two three four five six"}]) as stream:
        assert stream.get_final_message().stop_reason == "max_tokens"


def test_the_sdk_lists_models_in_anthropic_shape(client, stack):
    models = client.models.list()
    assert "my-custom-model" in [model.id for model in models.data] and models.data[0].type == "model"
    with pytest.raises(anthropic.AuthenticationError) as caught:
        anthropic.Anthropic(base_url=stack.proxy_url, api_key="sk-wrong", max_retries=0).models.list()
    assert caught.value.body["error"]["type"] == "authentication_error"
    model = client.models.retrieve("claude-3.5-sonnet")
    assert (model.type, model.id, model.display_name) == ("model", "claude-3.5-sonnet", "claude-3.5-sonnet")
    assert model.created_at.year >= 2023
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.models.retrieve("claude-9-opus")
    assert caught.value.body["type"] == "error"
    assert stack.client().models.retrieve("claude-3.5-sonnet").object == "model"
    # without anthropic-version an OpenAI client still gets OpenAI's list and error shapes
    assert stack.client().models.list().data[0].object == "model"
    status, _, answer = raw_request(f"{stack.proxy_url}/v1/models")
    assert status == 401 and "code" in json.loads(answer)["error"]


@pytest.mark.parametrize("model", MODELS)
def test_a_stop_sequence_cuts_the_answer_which_ends_as_end_turn(client, model):
    # The backends report OpenAI's finish_reason "stop" both for a natural end and for a stop sequence, and cut the
    # sequence off: nobody can tell which stopped it, so "stop_sequence" is never claimed (docs/anthropic.md).
    asked = {"model": model, "max_tokens": 100, "stop_sequences": ["four"],
             "messages": [{"role": "user", "content": "one two three four five six"}]}
    message = client.messages.create(**asked)
    assert "three" in message.content[0].text and "four" not in message.content[0].text
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    with client.messages.stream(**asked) as stream:
        final = stream.get_final_message()
    assert "four" not in final.content[0].text and (final.stop_reason, final.stop_sequence) == ("end_turn", None)
