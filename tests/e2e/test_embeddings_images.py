"""my-embedding-model and my-image-model through the real proxy and mock, with the openai SDK."""

import base64
import io
import json
import math
import struct
import urllib.request

import litellm.litellm_core_utils.default_encoding as litellm_encoding
import openai
import pytest
import tiktoken
from PIL import Image

from .test_auth import raw_request


def norm(vector):
    return math.sqrt(sum(x * x for x in vector))


def test_sdk_default_base64_and_float_give_the_same_unit_vectors(stack):
    client = stack.client()
    default = client.embeddings.create(model="my-embedding-model", input=["alpha", "beta"])  # SDK asks for base64
    floats = client.embeddings.create(model="my-embedding-model", input=["alpha", "beta"], encoding_format="float")
    for a, b in zip(default.data, floats.data):
        assert a.embedding == pytest.approx(b.embedding, abs=1e-6)
        assert norm(b.embedding) == pytest.approx(1.0, abs=1e-6)
    assert default.data[0].embedding != default.data[1].embedding
    assert floats.usage.prompt_tokens > 0


def test_explicit_base64_is_little_endian_float32(stack):
    status, _, body = raw_request(
        f"{stack.proxy_url}/v1/embeddings",
        {"model": "my-embedding-model", "input": "alpha", "encoding_format": "base64"},
        {"Content-Type": "application/json", "Authorization": f"Bearer {stack.master_key}"})
    assert status == 200
    encoded = json.loads(body)["data"][0]["embedding"]
    raw = base64.b64decode(encoded)
    vector = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_dimensions_are_honoured(stack):
    reply = stack.client().embeddings.create(model="my-embedding-model", input="alpha", dimensions=64)
    assert len(reply.data[0].embedding) == 64
    assert norm(reply.data[0].embedding) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("tokens", ["one array", "list of arrays"])
def test_token_id_input_is_decoded_to_the_same_text(stack, tokens):
    assert litellm_encoding  # importing it points TIKTOKEN_CACHE_DIR at LiteLLM's cl100k_base (CI has no network)
    encoding = tiktoken.get_encoding("cl100k_base")
    ids = encoding.encode("hello world")
    client = stack.client()
    text = client.embeddings.create(model="my-embedding-model", input="hello world", encoding_format="float")
    sent = ids if tokens == "one array" else [ids]
    by_tokens = client.embeddings.create(model="my-embedding-model", input=sent, encoding_format="float")
    assert by_tokens.data[0].embedding == pytest.approx(text.data[0].embedding)


def test_chat_models_refuse_embeddings_and_the_embedding_model_refuses_chat(stack):
    client = stack.client()
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="my-custom-model", input="x")
    assert "chat model" in caught.value.body["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="my-embedding-model", messages=[{"role": "user", "content": "x"}])
    assert "embedding model" in caught.value.body["message"]


@pytest.mark.parametrize("size", ["256x256", "1024x1792"])
def test_images_come_back_as_pngs_of_the_requested_size(stack, size):
    reply = stack.client().images.generate(model="my-image-model", prompt="a red bicycle", size=size, n=2,
                                           response_format="b64_json")
    assert len(reply.data) == 2
    images = [Image.open(io.BytesIO(base64.b64decode(item.b64_json))) for item in reply.data]
    assert all(image.format == "PNG" and f"{image.width}x{image.height}" == size for image in images)
    assert reply.data[0].b64_json != reply.data[1].b64_json


def test_image_urls_can_be_fetched(stack):
    reply = stack.client().images.generate(model="my-image-model", prompt="a cat", size="256x256", response_format="url")
    with urllib.request.urlopen(reply.data[0].url, timeout=10) as response:
        image = Image.open(io.BytesIO(response.read()))
    assert (image.format, image.size) == ("PNG", (256, 256))


def test_same_prompt_same_image(stack):
    client = stack.client()
    first, second = (client.images.generate(model="my-image-model", prompt="same", size="256x256",
                                            response_format="b64_json") for _ in range(2))
    assert first.data[0].b64_json == second.data[0].b64_json


def test_bad_image_requests_are_400_naming_the_param(stack):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().images.generate(model="my-image-model", prompt="x", size="999x999")
    assert "999x999" in caught.value.body["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().images.generate(model="my-custom-model", prompt="x")
    assert "chat model" in caught.value.body["message"]


@pytest.mark.parametrize("path, body, kind", [
    ("/v1/embeddings", {"model": "my-image-model", "input": "x", "encoding_format": "base64"}, "an image model"),
    ("/v1/images/generations", {"model": "claude-3.5-sonnet", "prompt": "x"}, "a chat model"),
    ("/v1/completions", {"model": "my-embedding-model", "prompt": "x"}, "an embedding model"),
    ("/v1/responses", {"model": "my-image-model", "input": "x"}, "an image model"),
    ("/v1/chat/completions", {"model": "my-embedding-model", "messages": [{"role": "user", "content": "x"}],
                              "stream": True}, "an embedding model"),
])
def test_every_route_refuses_a_model_of_another_kind(stack, path, body, kind):
    status, _, raw = raw_request(f"{stack.proxy_url}{path}", body, {
        "Content-Type": "application/json", "Authorization": f"Bearer {stack.master_key}", "Accept-Encoding": "gzip"})
    error = json.loads(raw)["error"]
    assert (status, error["param"], error["type"]) == (400, "model", "invalid_request_error")
    assert f"'{body['model']}' is {kind}" in error["message"]
