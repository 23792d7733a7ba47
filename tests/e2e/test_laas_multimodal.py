"""Images and PDFs to the LaaS models through the real proxy, with LaaS's limits enforced by the handler."""

import json

import openai
import pytest

from tests.support import media


def ask(stack, parts, model="claude-3.5-sonnet"):
    return stack.client().chat.completions.create(
        model=model, messages=[{"role": "user", "content": [{"type": "text", "text": "Describe [mock:echo]"}, *parts]}]
    )


def refused(stack, parts, model="claude-3.5-sonnet") -> dict:
    with pytest.raises(openai.BadRequestError) as caught:
        ask(stack, parts, model)
    return caught.value.body


@pytest.mark.parametrize(
    "part",
    [media.image_part(media.png_url()), media.image_part(media.jpeg_url()),
     media.image_part("https://static.example.com/cat.jpg"), media.document_part(media.pdf_url(2))],
    ids=["png", "jpeg", "https-image", "2-page-pdf"],
)
def test_accepted_parts_reach_laas_in_laas_form(stack, part):
    received = json.loads(ask(stack, [part]).choices[0].message.content)
    assert received["messages"][0]["content"][1] == part


def test_three_images_and_a_pdf_in_one_message(stack):
    parts = [media.image_part(media.png_url())] * 3 + [media.document_part(media.pdf_url(20))]
    received = json.loads(ask(stack, parts).choices[0].message.content)
    assert [p["type"] for p in received["messages"][0]["content"]] == ["text"] + ["image_url"] * 3 + ["document"]


@pytest.mark.parametrize(
    "parts, fragment, bad_index",
    [
        ([media.image_part(media.gif_url())], "images must be JPEG or PNG; the bytes are GIF", 1),
        ([media.image_part(media.oversize_png_url())], "larger than the 4.0 MB limit", 1),
        ([media.image_part(media.png_url())] * 4, "at most 3 images per message", 4),
        ([media.document_part(media.pdf_url(21))], "the PDF has 21 pages, more than the 20-page limit", 1),
        ([media.image_part("data:image/png;base64,this is not base64!")], "not valid base64", 1),
        ([media.document_part("data:application/pdf;base64,@@@")], "not valid base64", 1),
    ],
    ids=["gif", "oversize-image", "four-images", "21-page-pdf", "bad-base64-image", "bad-base64-pdf"],
)
def test_limits_are_enforced_before_calling_laas(stack, parts, fragment, bad_index):
    body = refused(stack, parts)
    assert fragment in body["message"]
    assert f"messages[0].content[{bad_index}]" in body["message"]


def test_business_model_takes_text_only(stack):
    body = refused(stack, [media.image_part(media.png_url())], model="my-custom-model")
    assert "is an image (data: URL) part, but the business backend takes text only" in body["message"]
    assert body["param"] == "messages[0].content[1]"


# The shipped LaaS models emulate tools (config.yaml, model_info.tool_emulation); a LaaS model without the switch
# still refuses them (tests/e2e/test_laas_tools.py).
def test_tools_on_a_shipped_laas_model_are_emulated(stack):
    reply = stack.client().chat.completions.create(
        model="claude-3.5-sonnet", messages=[{"role": "user", "content": "x [mock:tool=f]"}],
        tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
    )
    [call] = reply.choices[0].message.tool_calls
    assert (call.function.name, call.function.arguments) == ("f", "{}")


def test_a_tool_turn_reaches_laas_as_text(stack):
    messages = [{"role": "user", "content": "x"}, {"role": "tool", "content": "42", "tool_call_id": "call_1"}]
    reply = stack.client().chat.completions.create(model="claude-4-sonnet", messages=messages)
    assert reply.choices[0].message.content == "Mock answer from laas-preset: the tool returned 42"
