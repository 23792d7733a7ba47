"""POST /api/image and GET /api/image/files/<name>.png: PNGs that decode (checked with Pillow) at the right size."""

import base64
import io
import time

import pytest
from PIL import Image

from business_api import png
from business_api.image import SIZES, picture

from .conftest import API_KEY

HEADERS = {"X-API-Key": API_KEY}


def generate(client, body, headers=HEADERS):
    return client.post("/api/image", json=body, headers=headers)


def images(client, **extra):
    response = generate(client, {"model": "my-image-model", "prompt": "a red bicycle", **extra})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def decode(data: bytes) -> Image.Image:
    picture_ = Image.open(io.BytesIO(data))
    picture_.load()  # reads every scanline, so a broken IDAT or CRC fails here
    return picture_


def test_default_is_one_b64_png_of_1024_square(client):
    body = images(client)
    assert abs(body["created"] - time.time()) < 60
    [image] = body["images"]
    assert set(image) == {"b64_json"}
    decoded = decode(base64.b64decode(image["b64_json"]))
    assert decoded.format == "PNG" and decoded.size == (1024, 1024) and decoded.mode == "RGB"


@pytest.mark.parametrize("size", SIZES)
def test_every_size_decodes_at_exactly_that_size(client, size):
    [image] = images(client, size=size)["images"]
    width, height = (int(side) for side in size.split("x"))
    assert decode(base64.b64decode(image["b64_json"])).size == (width, height)


def test_n_images_differ_and_are_deterministic(client):
    first = [image["b64_json"] for image in images(client, n=3, size="256x256")["images"]]
    again = [image["b64_json"] for image in images(client, n=3, size="256x256")["images"]]
    assert len(first) == 3 and len(set(first)) == 3
    assert first == again


def test_the_prompt_changes_the_picture(client):
    one = images(client, size="256x256")["images"][0]["b64_json"]
    other = images(client, size="256x256", prompt="a blue car")["images"][0]["b64_json"]
    assert one != other


def test_the_picture_has_two_colours_in_a_checkerboard(client):
    decoded = decode(base64.b64decode(images(client, size="512x512")["images"][0]["b64_json"]))
    colours = decoded.getcolors()
    assert colours is not None and len(colours) == 2


def test_url_format_points_at_the_mock_which_serves_the_same_png(client):
    body = images(client, n=2, size="512x512", response_format="url")
    urls = [image["url"] for image in body["images"]]
    assert all(url.startswith("http://localhost/api/image/files/") and url.endswith(".png") for url in urls)
    assert len(set(urls)) == 2
    b64 = images(client, n=2, size="512x512")["images"]
    for url, same in zip(urls, b64):
        response = client.get(url.removeprefix("http://localhost"))  # no key needed
        assert response.status_code == 200 and response.content_type == "image/png"
        assert response.data == base64.b64decode(same["b64_json"])
        assert decode(response.data).size == (512, 512)


@pytest.mark.parametrize(
    "name",
    ["nothing", "0" * 32 + "_100x100", "0" * 31 + "_256x256", "G" * 32 + "_256x256", "0" * 32 + "_256x256x"],
)
def test_bad_file_names_are_404_json(client, name):
    response = client.get(f"/api/image/files/{name}.png")
    assert response.status_code == 404
    assert response.get_json()["error"]["type"] == "not_found_error"


def test_a_file_without_png_suffix_is_404_json(client):
    assert client.get("/api/image/files/" + "0" * 32 + "_256x256").get_json()["error"]["code"] == "404"


@pytest.mark.parametrize(
    "body, param",
    [
        ({"prompt": "p"}, "model"),
        ({"model": "m"}, "prompt"),
        ({"model": "m", "prompt": ""}, "prompt"),
        ({"model": "m", "prompt": ["p"]}, "prompt"),
        ({"model": "m", "prompt": "p", "n": 0}, "n"),
        ({"model": "m", "prompt": "p", "n": 11}, "n"),
        ({"model": "m", "prompt": "p", "n": "2"}, "n"),
        ({"model": "m", "prompt": "p", "size": "100x100"}, "size"),
        ({"model": "m", "prompt": "p", "size": 256}, "size"),
        ({"model": "m", "prompt": "p", "response_format": "png"}, "response_format"),
    ],
)
def test_bad_fields_are_400_naming_the_field(client, body, param):
    response = generate(client, body)
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == param


def test_nulls_take_the_defaults(client):
    [image] = images(client, n=None, size=None, response_format=None)["images"]
    assert decode(base64.b64decode(image["b64_json"])).size == (1024, 1024)


def test_the_key_is_required(client):
    response = generate(client, {"model": "m", "prompt": "p"}, headers={"X-API-Key": "wrong"})
    assert response.status_code == 401


def test_directives_in_the_prompt_inject_faults(client):
    assert generate(client, {"model": "m", "prompt": "[mock:status=429]"}).status_code == 429
    response = generate(client, {"model": "m", "prompt": "[mock:nope]"})
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "prompt"


def test_the_largest_image_is_fast():
    started = time.perf_counter()
    for index in range(10):
        picture(bytes([index] * 16), "1792x1024")
    assert time.perf_counter() - started < 2.0  # ten of them; a per-pixel loop takes seconds for one


def test_png_encoder_rejects_rows_of_the_wrong_length():
    with pytest.raises(ValueError):
        png.encode_rgb(2, [b"\x00" * 6, b"\x00" * 5])
    with pytest.raises(ValueError):
        png.encode_rgb(2, [])


def test_png_encoder_pixels_round_trip():
    rows = [bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]), bytes([1, 2, 3, 4, 5, 6, 7, 8, 9])]
    decoded = decode(png.encode_rgb(3, rows))
    assert decoded.size == (3, 2)
    assert list(decoded.getdata()) == [(255, 0, 0), (0, 255, 0), (0, 0, 255), (1, 2, 3), (4, 5, 6), (7, 8, 9)]
