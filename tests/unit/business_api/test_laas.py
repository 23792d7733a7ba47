"""POST /api/preset/v2/chat/completions (the LaaS imitation) through Flask's test client."""

import json

import pytest

from business_api.mock import REDACTED
from tests.support import media

from .conftest import LAAS, PRESET_HASH

URL = "/api/preset/v2/chat/completions"


def post(client, body, headers=LAAS):
    return client.post(URL, json=body, headers=headers)


def laas_body(text="Hello", **extra):
    return {"hash": PRESET_HASH, "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}], **extra}


def test_answer_is_openai_shaped(client):
    response = post(client, laas_body("Hello LaaS"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] and isinstance(body["created"], int)
    assert body["choices"][0]["message"]["content"] == "Mock answer from laas-preset: Hello LaaS"
    assert body["choices"][0]["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_latest_user_text_is_answered(client):
    body = {
        "hash": PRESET_HASH,
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [{"type": "text", "text": "reply"}]},
            {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "part"}]},
        ],
    }
    assert post(client, body).get_json()["choices"][0]["message"]["content"] == "Mock answer from laas-preset: second\npart"


def test_image_and_document_parts_are_accepted(client):
    body = laas_body()
    body["messages"][0]["content"] += [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        media.image_part(media.png_url()),
        media.document_part(media.pdf_url(2)),
    ]
    assert post(client, body).status_code == 200


def test_echo_hides_the_hash_and_shows_params(client):
    body = laas_body("[mock:echo]", params={"name": "Kim"})
    echoed = json.loads(post(client, body).get_json()["choices"][0]["message"]["content"])
    assert echoed["hash"] == REDACTED
    assert echoed["params"] == {"name": "Kim"}
    assert PRESET_HASH not in json.dumps(echoed)


@pytest.mark.parametrize(
    "headers", [{}, {"project": LAAS["project"]}, {"apiKey": LAAS["apiKey"]}, {**LAAS, "apiKey": "wrong"},
                {**LAAS, "project": "other"}]
)
def test_missing_or_wrong_credentials_are_401(client, headers):
    assert post(client, laas_body(), headers=headers).status_code == 401


def test_unknown_hash_is_404(client):
    response = post(client, {**laas_body(), "hash": "not-the-preset"})
    assert response.status_code == 404
    assert response.get_json()["error"]["param"] == "hash"


@pytest.mark.parametrize(
    "body, param",
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "hash"),
        ({"hash": PRESET_HASH}, "messages"),
        ({"hash": PRESET_HASH, "messages": []}, "messages"),
        ({"hash": PRESET_HASH, "messages": [{"role": "tool", "content": "x"}]}, "messages[0].role"),
        ({"hash": PRESET_HASH, "messages": [{"role": "user", "content": [{"type": "audio"}]}]},
         "messages[0].content[0].type"),
        ({"hash": PRESET_HASH, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
         "messages[0].content[0].image_url.url"),
        ({"hash": PRESET_HASH, "messages": [{"role": "user", "content": "x"}], "params": [1]}, "params"),
        ({"hash": PRESET_HASH, "messages": [{"role": "system", "content": "x"}]}, "messages"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(client, body, param):
    response = post(client, body)
    assert response.status_code == 400
    assert response.get_json()["error"]["param"] == param


def test_directives_work_on_laas_too(client):
    assert post(client, laas_body("[mock:status=503]")).status_code == 503
    assert post(client, laas_body("[mock:garbage]")).content_type.startswith("text/html")


def test_answer_directive_scripts_the_laas_answer(client):
    body = post(client, laas_body('edit [mock:answer="a.sh\\n```\\nexit 1\\n```\\n"]')).get_json()
    assert body["choices"][0]["message"]["content"] == "a.sh\n```\nexit 1\n```\n"


@pytest.mark.parametrize(
    "part, fragment",
    [
        (media.image_part(media.gif_url()), "JPEG or PNG"),
        (media.image_part(media.oversize_png_url()), "4.0 MB"),
        (media.image_part("data:image/png;base64,not base64!"), "not valid base64"),
        (media.document_part(media.pdf_url(21)), "21 pages"),
        (media.document_part("https://example.com/a.pdf"), "base64 data URLs"),
    ],
)
def test_the_mock_enforces_laas_limits_like_the_real_service(client, part, fragment):
    body = laas_body()
    body["messages"][0]["content"].append(part)
    response = post(client, body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert fragment in error["message"]
    assert error["param"] == "messages[0].content[1]"


def test_the_mock_refuses_a_fourth_image(client):
    body = laas_body()
    body["messages"][0]["content"] += [media.image_part(media.png_url())] * 4
    response = post(client, body)
    assert response.status_code == 400
    assert "at most 3 images" in response.get_json()["error"]["message"]
