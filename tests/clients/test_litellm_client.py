"""The litellm SDK as a client of the proxy (`litellm_proxy/<model>`, LiteLLM's documented way to call a
LiteLLM proxy, and `openai/<model>` with an api_base) against the real stack."""

import asyncio
import base64
import json
import struct

import jsonschema
import litellm
import openai
import pytest

from .conftest import (CHAT_MODEL, EMBEDDING_MODEL, IMAGE_MODEL, PACED, WEATHER_MINIMAL_ARGS, WEATHER_PARAMETERS,
                       WEATHER_RESULT, assert_close, norm)

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
                                            "parameters": WEATHER_PARAMETERS}}
TIME = {"type": "function", "function": {"name": "get_time", "description": "Current time in a time zone",
                                         "parameters": {"type": "object", "properties": {"tz": {"type": "string"}},
                                                        "required": ["tz"]}}}


@pytest.fixture
def options(base_url, api_key) -> dict:
    return {"api_base": base_url, "api_key": api_key, "num_retries": 0, "timeout": 30}


def chat(options, messages, model=f"litellm_proxy/{CHAT_MODEL}", **more):
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    return litellm.completion(model=model, messages=messages, **options, **more)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


# ---------------------------------------------------------------- chat and streaming


@pytest.mark.parametrize("prefix", ["litellm_proxy/", "openai/"])
def test_completion(options, prefix):
    reply = chat(options, "Hello", model=prefix + CHAT_MODEL)
    assert reply.choices[0].message.content == "Mock answer from my-custom-model: Hello"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0


def test_streaming(options):
    chunks = list(chat(options, "Stream this, please." + PACED, stream=True, stream_options={"include_usage": True}))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) >= 2 and "".join(pieces) == "Mock answer from my-custom-model: Stream this, please." + PACED
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert any(getattr(c, "usage", None) and c.usage.completion_tokens > 0 for c in chunks)


def test_async_completion_and_stream(options):
    async def run():
        reply = await litellm.acompletion(model=f"litellm_proxy/{CHAT_MODEL}",
                                          messages=[{"role": "user", "content": "Async hello"}], **options)
        stream = await litellm.acompletion(model=f"litellm_proxy/{CHAT_MODEL}", stream=True,
                                           messages=[{"role": "user", "content": "Async stream"}], **options)
        pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        return reply.choices[0].message.content, "".join(pieces)

    assert asyncio.run(run()) == ("Mock answer from my-custom-model: Async hello",
                                  "Mock answer from my-custom-model: Async stream")


def test_accepted_defaults(options):
    reply = chat(options, "hi", temperature=0.2, top_p=0.9, max_tokens=64, seed=7, presence_penalty=0,
                 frequency_penalty=0, user="u-1", response_format={"type": "text"})
    assert reply.choices[0].message.content == "Mock answer from my-custom-model: hi"


# ---------------------------------------------------------------- tools


def test_tool_round_trip(options):
    messages = [{"role": "user", "content": "Weather in Paris? [mock:tool=get_weather]"}]
    first = chat(options, messages, tools=[WEATHER])
    assert first.choices[0].finish_reason == "tool_calls"
    [call] = first.choices[0].message.tool_calls
    assert call.function.name == "get_weather" and call.id.startswith("call_")
    assert json.loads(call.function.arguments) == WEATHER_MINIMAL_ARGS
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": WEATHER_RESULT}]
    final = chat(options, messages, tools=[WEATHER])
    assert final.choices[0].message.tool_calls is None
    assert final.choices[0].message.content == f"Mock answer from my-custom-model: the tool returned {WEATHER_RESULT}"


def test_named_and_required_tool_choice(options):
    named = chat(options, "now?", tools=[WEATHER, TIME],
                 tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert [(c.function.name, json.loads(c.function.arguments)) for c in named.choices[0].message.tool_calls] == \
        [("get_time", {"tz": "string"})]
    required = chat(options, "anything", tools=[WEATHER, TIME], tool_choice="required")
    assert [c.function.name for c in required.choices[0].message.tool_calls] == ["get_weather"]


def test_streamed_parallel_tool_calls_rebuild_to_the_non_streamed_ones(options):
    prompt = "Both [mock:tool=get_weather,get_time]" + PACED
    whole = chat(options, prompt, tools=[WEATHER, TIME]).choices[0].message.tool_calls
    chunks = list(chat(options, prompt, tools=[WEATHER, TIME], stream=True))
    deltas = [d for c in chunks if c.choices for d in (c.choices[0].delta.tool_calls or [])]
    for index in (0, 1):
        mine = [d for d in deltas if d.index == index]
        assert mine[0].id and mine[0].function.name, "the first delta of a call carries its id and name"
        assert len([d for d in mine if d.function.arguments]) >= 2, "arguments arrived whole"
    rebuilt = litellm.stream_chunk_builder(chunks)
    assert rebuilt.choices[0].finish_reason == "tool_calls"
    assert [(c.id, c.function.name, c.function.arguments) for c in rebuilt.choices[0].message.tool_calls] == \
        [(c.id, c.function.name, c.function.arguments) for c in whole]
    assert len({c.id for c in whole}) == 2


# ---------------------------------------------------------------- structured output


def test_json_schema_and_json_object(options):
    schema = {"type": "object", "additionalProperties": False, "required": ["n", "when"],
              "properties": {"n": {"type": "integer", "minimum": 3}, "when": {"type": "string", "format": "date-time"}}}
    reply = chat(options, "x", response_format={"type": "json_schema",
                                                "json_schema": {"name": "Count", "schema": schema, "strict": True}})
    document = json.loads(reply.choices[0].message.content)
    jsonschema.validate(document, schema)
    assert document == {"n": 3, "when": "2026-01-01T00:00:00Z"}
    given = chat(options, 'x [mock:json={"ok": true}]', response_format={"type": "json_object"})
    assert json.loads(given.choices[0].message.content) == {"ok": True}


def test_pydantic_response_format(options):
    from pydantic import BaseModel

    class City(BaseModel):
        name: str
        population: int

    reply = chat(options, 'x [mock:json={"name": "Oslo", "population": 700000}]', response_format=City)
    assert City.model_validate_json(reply.choices[0].message.content) == City(name="Oslo", population=700000)


# ---------------------------------------------------------------- embeddings and images


def test_embeddings_float_and_base64_match_the_openai_sdk(options, reference_vectors):
    texts = list(reference_vectors)
    floats = litellm.embedding(model=f"litellm_proxy/{EMBEDDING_MODEL}", input=texts, encoding_format="float",
                               **options)
    for text, item in zip(texts, floats.data):
        assert norm(item["embedding"]) == pytest.approx(1.0, abs=1e-6)
        assert_close(item["embedding"], reference_vectors[text])
    assert floats.usage.prompt_tokens > 0
    encoded = litellm.embedding(model=f"openai/{EMBEDDING_MODEL}", input=["alpha"], encoding_format="base64",
                                **options)
    encoded_vector = encoded.data[0]["embedding"]
    assert isinstance(encoded_vector, str), "asked for base64, got floats"  # the SDK passes base64 through
    raw = base64.b64decode(encoded_vector)
    assert_close(struct.unpack(f"<{len(raw) // 4}f", raw), reference_vectors["alpha"])


def test_embedding_dimensions(options):
    reply = litellm.embedding(model=f"litellm_proxy/{EMBEDDING_MODEL}", input="alpha", dimensions=64, **options)
    vector = reply.data[0]["embedding"]
    assert len(vector) == 64 and norm(vector) == pytest.approx(1.0, abs=1e-6)


def test_image_generation(options):
    # No response_format: the litellm SDK refuses it client-side for a model it does not know (before any
    # request); the proxy's default is b64_json.
    reply = litellm.image_generation(model=f"litellm_proxy/{IMAGE_MODEL}", prompt="a red bicycle", size="256x256",
                                     n=2, **options)
    images = [base64.b64decode(item.b64_json) for item in reply.data]
    assert [png_size(image) for image in images] == [(256, 256), (256, 256)]
    assert images[0] != images[1]


# ---------------------------------------------------------------- errors


def test_unknown_model_error_names_the_model(options):
    with pytest.raises(litellm.BadRequestError) as caught:
        chat(options, "x", model="litellm_proxy/no-such-model-xyz")
    assert "no-such-model-xyz" in str(caught.value)
    assert caught.value.status_code == 400


def test_unknown_model_error_while_streaming(options):
    with pytest.raises(litellm.BadRequestError) as caught:
        list(chat(options, "x", model="litellm_proxy/no-such-model-xyz", stream=True))
    assert "no-such-model-xyz" in str(caught.value)


def test_unsupported_parameter_error_names_it(options):
    with pytest.raises(litellm.BadRequestError) as caught:
        chat(options, "x", logprobs=True)
    assert "logprobs" in str(caught.value)


def test_wrong_key_is_an_authentication_error(options):
    with pytest.raises(litellm.AuthenticationError) as caught:
        chat({**options, "api_key": "sk-wrong-key"}, "x")
    assert caught.value.status_code == 401


def test_mid_stream_failure_names_its_reason(options):
    with pytest.raises(openai.APIError) as caught:  # LiteLLM wraps it in its MidStreamFallbackError
        list(chat(options, "Tell me more [mock:fail_after=2]", stream=True))
    assert "fail_after" in str(caught.value)


def test_backend_rate_limit_is_a_rate_limit_error(options):
    with pytest.raises(litellm.RateLimitError) as caught:
        chat(options, "x [mock:status=429]")
    assert caught.value.status_code == 429 and "rate-limiting" in str(caught.value)
