"""Chat through the real proxy with the official openai SDK, both model families, sync and async."""

import asyncio
import json
import urllib.request

import openai
import pytest

LAAS_MODELS = ["claude-3.5-sonnet", "claude-3.7-sonnet", "claude-4-sonnet"]
ALL_MODELS = ["my-custom-model", *LAAS_MODELS]


def assert_consistent_usage(usage):
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_liveliness_needs_no_key(stack):
    with urllib.request.urlopen(f"{stack.proxy_url}/health/liveliness", timeout=5) as response:
        assert response.status == 200


def test_models_lists_every_configured_model(stack):
    listed = sorted(model.id for model in stack.client().models.list())
    assert listed == sorted([*ALL_MODELS, "my-embedding-model", "my-image-model"])


def test_business_model_answers(stack):
    response = stack.client().chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": "Hello, adapter!"}]
    )
    assert response.object == "chat.completion"
    assert response.model == "my-custom-model"
    assert response.choices[0].message.role == "assistant"
    assert response.choices[0].message.content == "Mock answer from my-custom-model: Hello, adapter!"
    assert response.choices[0].finish_reason == "stop"
    assert_consistent_usage(response.usage)


@pytest.mark.parametrize("model", LAAS_MODELS)
def test_laas_models_answer(stack, model):
    response = stack.client().chat.completions.create(model=model, messages=[{"role": "user", "content": "안녕하세요"}])
    assert response.model == model
    assert response.choices[0].message.content == "Mock answer from laas-preset: 안녕하세요"
    assert response.choices[0].finish_reason == "stop"
    assert_consistent_usage(response.usage)


def test_async_client_on_both_families(stack):
    async def ask_all():
        client = stack.async_client()
        try:
            return await asyncio.gather(
                *[client.chat.completions.create(model=m, messages=[{"role": "user", "content": f"to {m}"}])
                  for m in ALL_MODELS]
            )
        finally:
            await client.close()

    responses = asyncio.run(ask_all())
    for model, response in zip(ALL_MODELS, responses):
        assert response.model == model
        assert response.choices[0].message.content.endswith(f": to {model}")


def test_route_without_v1_prefix(stack):
    client = openai.OpenAI(base_url=stack.proxy_url, api_key=stack.master_key, max_retries=0)
    response = client.chat.completions.create(model="my-custom-model", messages=[{"role": "user", "content": "no v1"}])
    assert response.choices[0].message.content == "Mock answer from my-custom-model: no v1"


def test_business_mapping_keeps_system_prompt_history_and_params(stack):
    messages = [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Ahoy!"},
        {"role": "user", "content": [{"type": "text", "text": "Show me"}, {"type": "text", "text": "[mock:echo]"}]},
    ]
    response = stack.client().chat.completions.create(
        model="my-custom-model", messages=messages, temperature=0.3, top_p=0.8, max_tokens=500, stop=["###"]
    )
    received = json.loads(response.choices[0].message.content)
    assert received == {
        "query": "Show me\n[mock:echo]",
        "model_info": {"name": "my-custom-model", "temperature": 0.3, "top_p": 0.8, "max_tokens": 500, "stop": ["###"]},
        "history": [
            {"role": "system", "content": "You are a pirate."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Ahoy!"},
        ],
    }


def test_laas_mapping_sends_typed_parts_params_and_the_configured_hash(stack):
    messages = [{"role": "system", "content": "Greet {name}."}, {"role": "user", "content": "[mock:echo]"}]
    response = stack.client().chat.completions.create(
        model="claude-3.5-sonnet", messages=messages, temperature=0.5, extra_body={"params": {"name": "Kim"}}
    )
    received = json.loads(response.choices[0].message.content)
    assert received == {
        "hash": "<redacted>",  # the mock masks it in echoes; it answered, so the configured hash matched
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Greet {name}."}]},
            {"role": "user", "content": [{"type": "text", "text": "[mock:echo]"}]},
        ],
        "params": {"name": "Kim"},
        "temperature": 0.5,
    }


@pytest.mark.parametrize("field", ["hash", "project", "api_key", "api_base", "headers"])
def test_client_cannot_set_server_owned_fields(stack, field):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().chat.completions.create(
            model="claude-3.5-sonnet", messages=[{"role": "user", "content": "x"}], extra_body={field: "evil"}
        )
    assert caught.value.status_code == 400
    assert field in caught.value.body["message"]


def test_max_tokens_truncates_with_length_finish_reason(stack):
    response = stack.client().chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": "one two three four"}], max_tokens=3
    )
    assert response.choices[0].message.content == "Mock answer from"
    assert response.choices[0].finish_reason == "length"
    assert response.usage.completion_tokens == 3


def test_client_headers_cannot_replace_backend_credentials(stack):
    # The handlers build backend headers from server settings only; these never reach the backend.
    response = stack.client().chat.completions.create(
        model="claude-3.5-sonnet",
        messages=[{"role": "user", "content": "[mock:echo]"}],
        extra_headers={"apiKey": "evil", "project": "evil", "X-API-Key": "evil"},
    )
    assert json.loads(response.choices[0].message.content)["hash"] == "<redacted>"  # the mock accepted our own


# Every parameter business.yaml maps into model_info, each at a value other than its default.
FORWARDED = {"temperature": 0.3, "top_p": 0.8, "max_tokens": 500, "stop": ["###"], "presence_penalty": 0.5,
             "frequency_penalty": -0.5, "seed": 7, "user": "end-user-42", "reasoning_effort": "low"}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_every_mapped_parameter_reaches_the_business_api(stack, stream):
    # `user` is the one LiteLLM drops for custom providers (its OpenAI-like mapping supports it only for OpenAI's
    # own models); the others guard the same path.
    reply = stack.client().chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": "[mock:echo]"}], stream=stream, **FORWARDED
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in reply if chunk.choices) if stream else \
        reply.choices[0].message.content
    received = json.loads(text)["model_info"]
    assert received == {"name": "my-custom-model", **FORWARDED}


def test_laas_ignores_reasoning_effort(stack):
    # LaaS has no reasoning control (params.LAAS); config.yaml opens LiteLLM's own check with allowed_openai_params.
    reply = stack.client().chat.completions.create(
        model="claude-3.5-sonnet", messages=[{"role": "user", "content": "[mock:echo]"}], reasoning_effort="high")
    assert "reasoning" not in reply.choices[0].message.content
