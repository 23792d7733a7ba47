"""adapter.openai.embeddings: inputs, options and the float/base64 encodings."""

import base64
import struct

import pytest

from adapter.upstream.errors import AdapterError
from adapter.openai.embeddings import embedding_list, encode_base64, options_of, texts_of


def fake_decode(tokens):
    return "|".join(str(t) for t in tokens)


@pytest.mark.parametrize("value, texts", [
    ("hello", ["hello"]),
    (["a", "b"], ["a", "b"]),
    ([1, 2, 3], ["1|2|3"]),
    ([[1, 2], [3]], ["1|2", "3"]),
    (["a", [4, 5]], ["a", "4|5"]),
])
def test_every_openai_input_shape_becomes_texts(value, texts):
    assert texts_of(value, fake_decode) == texts


@pytest.mark.parametrize("value", [[], None, 5, [[]], [None], [True, 1], [["a"]]])
def test_other_inputs_are_400(value):
    with pytest.raises(AdapterError) as caught:
        texts_of(value, fake_decode)
    assert caught.value.status_code == 400 and caught.value.param.startswith("input")


def test_options_default_to_float_and_are_checked():
    assert options_of({}) == ("float", None)
    assert options_of({"encoding_format": "base64", "dimensions": 8}) == ("base64", 8)
    for bad in ({"encoding_format": "hex"}, {"dimensions": 0}, {"dimensions": "8"}, {"dimensions": True}):
        with pytest.raises(AdapterError):
            options_of(bad)


VECTORS = [[0.6, 0.8], [1.0, 0.0]]


def test_float_and_base64_encode_the_same_vectors():
    floats = embedding_list(VECTORS, "e", 3, "float")
    encoded = embedding_list(VECTORS, "e", 3, "base64")
    assert floats["data"][0] == {"object": "embedding", "index": 0, "embedding": [0.6, 0.8]}
    decoded = [x for item in encoded["data"] for x in struct.unpack("<2f", base64.b64decode(item["embedding"]))]
    assert decoded == pytest.approx([0.6, 0.8, 1.0, 0.0], abs=1e-7)
    assert floats["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert (floats["object"], floats["model"]) == ("list", "e")


def test_base64_is_little_endian_float32():
    assert base64.b64decode(encode_base64([1.0])) == b"\x00\x00\x80\x3f"
