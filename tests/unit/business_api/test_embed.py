"""POST /api/embed through Flask's test client: deterministic unit vectors, dimensions, usage, faults."""

import math

import pytest

from business_api import mock

from .conftest import API_KEY

HEADERS = {"X-API-Key": API_KEY}


def embed(client, body, headers=HEADERS):
    return client.post("/api/embed", json=body, headers=headers)


def vectors(client, texts, **extra):
    response = embed(client, {"model": "my-embedding-model", "texts": texts, **extra})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def norm(vector):
    return math.sqrt(sum(value * value for value in vector))


def test_one_unit_vector_per_text_with_the_default_dimensions(client):
    body = vectors(client, ["hello world", "second text"])
    assert body["model"] == "my-embedding-model"
    assert [len(vector) for vector in body["embeddings"]] == [1536, 1536]
    for vector in body["embeddings"]:
        assert norm(vector) == pytest.approx(1.0, abs=1e-9)
        assert all(isinstance(value, float) for value in vector)
    assert body["embeddings"][0] != body["embeddings"][1]


def test_same_text_same_vector_whatever_its_neighbours(client):
    alone = vectors(client, ["same"])["embeddings"][0]
    among = vectors(client, ["other", "same"])["embeddings"][1]
    assert alone == among


def test_the_model_changes_the_vector(client):
    first = vectors(client, ["text"])["embeddings"][0]
    other = embed(client, {"model": "other-model", "texts": ["text"]}).get_json()["embeddings"][0]
    assert first != other


@pytest.mark.parametrize("dimensions", [1, 3, 256, 1536])
def test_dimensions_cut_the_full_vector_and_renormalise(client, dimensions):
    full = vectors(client, ["cut me"])["embeddings"][0]
    short = vectors(client, ["cut me"], dimensions=dimensions)["embeddings"][0]
    assert len(short) == dimensions
    assert norm(short) == pytest.approx(1.0, abs=1e-9)
    scale = norm(full[:dimensions])
    assert short == pytest.approx([value / scale for value in full[:dimensions]])


def test_usage_counts_the_tokens_of_every_text(client):
    texts = ["Hello, world!", "a b c"]
    usage = vectors(client, texts)["usage"]
    expected = sum(mock.count_tokens(text) for text in texts)
    assert usage == {"prompt_tokens": expected, "total_tokens": expected}
    assert expected == 7


def test_many_texts_are_accepted(client):
    body = vectors(client, [f"text {index}" for index in range(2048)], dimensions=4)
    assert len(body["embeddings"]) == 2048


@pytest.mark.parametrize(
    "body, param",
    [
        ({"texts": ["x"]}, "model"),
        ({"model": "", "texts": ["x"]}, "model"),
        ({"model": "m"}, "texts"),
        ({"model": "m", "texts": "x"}, "texts"),
        ({"model": "m", "texts": []}, "texts"),
        ({"model": "m", "texts": ["x"] * 2049}, "texts"),
        ({"model": "m", "texts": ["x", 5]}, "texts[1]"),
        ({"model": "m", "texts": ["x", ""]}, "texts[1]"),
        ({"model": "m", "texts": [[1, 2, 3]]}, "texts[0]"),
        ({"model": "m", "texts": ["x"], "dimensions": 0}, "dimensions"),
        ({"model": "m", "texts": ["x"], "dimensions": 1537}, "dimensions"),
        ({"model": "m", "texts": ["x"], "dimensions": "8"}, "dimensions"),
        ({"model": "m", "texts": ["x"], "dimensions": 8.0}, "dimensions"),
        ({"model": "m", "texts": ["x"], "dimensions": True}, "dimensions"),
    ],
)
def test_bad_fields_are_400_naming_the_field(client, body, param):
    response = embed(client, body)
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == param


def test_empty_text_message_says_so(client):
    error = embed(client, {"model": "m", "texts": ["a", ""]}).get_json()["error"]
    assert error["message"] == "'texts[1]' must not be empty"


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}])
def test_the_key_is_required(client, headers):
    response = embed(client, {"model": "m", "texts": ["x"]}, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["type"] == "authentication_error"


def test_status_directive_in_the_first_text_injects_the_failure(client):
    response = embed(client, {"model": "m", "texts": ["[mock:status=503]", "fine"]})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert embed(client, {"model": "m", "texts": ["fine", "[mock:status=503]"]}).status_code == 200


def test_bad_directive_is_400_naming_the_first_text(client):
    response = embed(client, {"model": "m", "texts": ["[mock:status=42]"]})
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == "texts[0]"


def test_get_is_405_json(client):
    assert client.get("/api/embed").get_json()["error"]["code"] == "405"
