"""adapter.providers.image (the translation): the request as the proxy received it → /api/image, and the answer back."""

import pytest

from adapter.upstream.errors import AdapterError
from adapter.providers.image import transform_request, transform_response


def test_defaults_are_one_square_image_in_base64():
    assert transform_request("img", "a cat", {"model": "img", "prompt": "a cat"}) == {
        "model": "img", "prompt": "a cat", "n": 1, "size": "1024x1024", "response_format": "b64_json"}


def test_size_n_and_format_are_honoured():
    body = transform_request("img", "a cat", {"n": 3, "size": "256x256", "response_format": "url", "user": "u"})
    assert (body["n"], body["size"], body["response_format"]) == (3, "256x256", "url")


@pytest.mark.parametrize("prompt, request_body, param", [
    ("", {}, "prompt"), (None, {}, "prompt"),
    ("x", {"n": 0}, "n"), ("x", {"n": 11}, "n"), ("x", {"n": True}, "n"),
    ("x", {"size": 256}, "size"), ("x", {"response_format": "png"}, "response_format"),
    ("x", {"style": "vivid"}, "style"), ("x", {"quality": "hd"}, "quality"),
])
def test_bad_or_unsupported_values_are_400(prompt, request_body, param):
    with pytest.raises(AdapterError) as caught:
        transform_request("img", prompt, request_body)
    assert caught.value.status_code == 400 and caught.value.param == param


def test_harmless_defaults_pass_and_unknown_ones_drop_under_drop_params():
    assert transform_request("img", "x", {"quality": "auto", "output_format": "png", "litellm_call_id": "c"})["n"] == 1
    assert transform_request("img", "x", {"style": "vivid"}, drop_unknown=True)["n"] == 1


def test_answer_becomes_openai_images():
    answer = {"created": 7, "images": [{"b64_json": "AAA"}, {"b64_json": "BBB"}]}
    assert transform_response(answer, 2, "b64_json", 0) == {"created": 7, "data": [{"b64_json": "AAA"}, {"b64_json": "BBB"}]}


@pytest.mark.parametrize("answer", [{}, {"images": [{"b64_json": "A"}]}, {"images": [{"url": "u"}, {"url": "v"}]}])
def test_unusable_answers_are_502(answer):
    with pytest.raises(AdapterError) as caught:
        transform_response(answer, 2, "b64_json", 0)
    assert caught.value.status_code == 502
