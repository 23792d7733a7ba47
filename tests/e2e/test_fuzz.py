"""A bounded fuzz run against the live proxy: malformed requests get a 4xx JSON error, and the proxy stays up."""

import json
import random

import httpx
import pytest

VALID = {"model": "my-custom-model", "messages": [{"role": "user", "content": "hi"}]}
NASTY_VALUES = [None, True, 0, -1, 2**70, 1.5e308, "", "x" * 100_000, "\x00", "\ud800", [], [[]], {}, {"a": {"b": {}}},
                "[mock:nonsense]"]


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


HANDMADE = [
    (b"", "application/json"),
    (b"\x00\x00\x00", "application/json"),
    (b"\xff\xfe\xfd", "application/json"),
    (b'{"model": "\xff", "messages": []}', "application/json"),
    (b"null", "application/json"),
    (b"42", "application/json"),
    (b'"just a string"', "application/json"),
    (b"[]", "application/json"),
    (b"{", "application/json"),
    (b'{"model": "my-custom-model", "messages": ' + deep(50_000).encode() + b"}", "application/json"),
    (json.dumps({"model": "my-custom-model", "messages": [{"role": "user", "content": "x\u0000y"}], "n": 3}).encode(),
     "application/json"),
    (b"model=my-custom-model&messages=hi", "application/x-www-form-urlencoded"),
    (b"<xml>hello</xml>", "text/xml"),
    (json.dumps({**VALID, "model": "x" * 1_000_000}).encode(), "application/json"),
    (json.dumps({**VALID, "messages": [{"role": "user", "content": [{"type": "text"}] * 1000}]}).encode(),
     "application/json"),
]


def mutate(rng: random.Random, value, depth=0):
    """Replace, drop or add something somewhere in a JSON value."""
    if isinstance(value, dict) and value and depth < 4 and rng.random() < 0.7:
        key = rng.choice(list(value))
        copy = dict(value)
        action = rng.random()
        if action < 0.3:
            del copy[key]
        elif action < 0.8:
            copy[key] = mutate(rng, copy[key], depth + 1)
        else:
            copy[rng.choice(["temperature", "stop", "max_tokens", "n", "stream", "params", "tools", "role"])] = \
                rng.choice(NASTY_VALUES)
        return copy
    if isinstance(value, list) and value and depth < 4 and rng.random() < 0.7:
        copy = list(value)
        index = rng.randrange(len(copy))
        copy[index] = mutate(rng, copy[index], depth + 1)
        return copy
    return rng.choice(NASTY_VALUES)


def mutated_bodies(count: int, seed: int = 20261122):
    rng = random.Random(seed)
    for _ in range(count):
        body = mutate(rng, {**VALID, "temperature": 0.5, "stream": False})
        yield json.dumps(body, allow_nan=False).encode("utf-8", "surrogatepass"), "application/json"


@pytest.fixture(scope="module")
def http(stack):
    with httpx.Client(base_url=stack.proxy_url, timeout=30,
                      headers={"Authorization": f"Bearer {stack.master_key}"}) as client:
        yield client


def assert_not_a_server_failure(response: httpx.Response, sent: bytes):
    where = f"for {sent[:120]!r}"
    if response.status_code == 200:  # a mutation can still be a valid request
        return
    assert 400 <= response.status_code < 500, f"{response.status_code} {response.text[:300]} {where}"
    assert response.headers["content-type"] == "application/json", where
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}, where
    assert error["code"] == str(response.status_code)
    assert "Traceback" not in error["message"] and 'File "' not in error["message"], where


@pytest.mark.parametrize("body, content_type", HANDMADE, ids=range(len(HANDMADE)))
def test_handmade_garbage(http, body, content_type):
    response = http.post("/v1/chat/completions", content=body, headers={"Content-Type": content_type})
    assert response.status_code != 200, response.text[:200]
    assert_not_a_server_failure(response, body)


def test_random_mutations_of_a_valid_request(http):
    for body, content_type in mutated_bodies(300):
        response = http.post("/v1/chat/completions", content=body, headers={"Content-Type": content_type})
        assert_not_a_server_failure(response, body)
    assert http.get("/health/liveliness").status_code == 200
    answer = http.post("/v1/chat/completions", json=VALID).json()
    assert answer["choices"][0]["message"]["content"] == "Mock answer from my-custom-model: hi"


OTHER_ROUTES = {
    "/v1/completions": {"model": "my-custom-model", "prompt": "hi", "max_tokens": 5},
    "/v1/embeddings": {"model": "my-embedding-model", "input": ["hi", "there"], "dimensions": 8},
    "/v1/images/generations": {"model": "my-image-model", "prompt": "a dot", "n": 1, "size": "256x256"},
    "/v1/responses": {"model": "my-custom-model", "input": [{"role": "user", "content": "hi"}],
                      "instructions": "be brief"},
}


def mutations_of(valid: dict, count: int, seed: int):
    rng = random.Random(seed)
    for _ in range(count):
        yield json.dumps(mutate(rng, valid), allow_nan=False).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("path", OTHER_ROUTES)
def test_random_mutations_on_the_other_served_routes(http, path):
    valid = OTHER_ROUTES[path]
    for body in mutations_of(valid, 150, seed=hash(path) % 1000):
        response = http.post(path, content=body, headers={"Content-Type": "application/json"})
        assert_not_a_server_failure(response, body)
    assert http.post(path, json=valid).status_code == 200


@pytest.mark.parametrize("path", OTHER_ROUTES)
@pytest.mark.parametrize("body, content_type", HANDMADE[:12], ids=range(12))
def test_handmade_garbage_on_the_other_served_routes(http, path, body, content_type):
    response = http.post(path, content=body, headers={"Content-Type": content_type})
    assert_not_a_server_failure(response, body)
