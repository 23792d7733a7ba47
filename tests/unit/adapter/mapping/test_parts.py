"""Which content parts a backend file sends, found by probing it; parts it would drop are refused, never dropped."""

import pytest

from adapter.upstream.errors import AdapterError
from adapter.mapping.load import load_file
from adapter.mapping.parts import AUDIO, DATA_IMAGE, FILE, URL_IMAGE, kind_of, refuse_unsent, sent_kinds


def mapping(tmp_path, request: str):
    path = tmp_path / "b.yaml"
    path.write_text(f"url: http://b\nrequest: >-\n  {request}\nresponse: {{content: answer}}\n")
    return load_file(path, {})


@pytest.mark.parametrize("request_expression, kinds", [
    ("{q: last_user_text, h: history[].text}", set()),
    ("{messages: messages}", {DATA_IMAGE, URL_IMAGE, FILE, AUDIO}),
    ("{m: conversation[].{r: role, c: content}}", {DATA_IMAGE, URL_IMAGE, FILE, AUDIO}),
    # Ollama-style: bare base64 of data: URL images only, cut at the comma with split()
    ("{m: messages[].{c: text, images: content[?type=='image_url' && starts_with(image_url.url, 'data:')]"
     ".split(image_url.url, ',')[1]}}", {DATA_IMAGE}),
    ("{m: messages[-1].content[?type=='image_url'].image_url.url}", {DATA_IMAGE, URL_IMAGE}),
])
def test_the_kinds_a_file_sends_are_found_by_probing(tmp_path, request_expression, kinds):
    assert sent_kinds(mapping(tmp_path, request_expression)) == kinds


@pytest.mark.parametrize("part, kind", [
    ({"type": "text", "text": "x"}, None),
    ({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}, DATA_IMAGE),
    ({"type": "image_url", "image_url": {"url": "https://x/y.png"}}, URL_IMAGE),
    ({"type": "file", "file": {"file_data": "data:application/pdf;base64,AAAA"}}, FILE),
    ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}, AUDIO),
    ({"type": "refusal", "refusal": "no"}, "'refusal'"),
])
def test_kind_of(part, kind):
    assert kind_of(part) == kind


def test_a_part_the_file_does_not_send_is_a_400_naming_it_and_what_the_backend_takes():
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes"},
                {"role": "user", "content": [{"type": "text", "text": "see"},
                                             {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]
    refuse_unsent(messages, frozenset({URL_IMAGE}), "the b backend")  # sent: no error
    with pytest.raises(AdapterError) as caught:
        refuse_unsent(messages, frozenset({DATA_IMAGE}), "the b backend")
    assert caught.value.status_code == 400
    assert caught.value.param == "messages[2].content[1]"
    assert caught.value.message == ("'messages[2].content[1]' is an image (http(s) URL) part, but the b backend takes "
                                    "text and image (data: URL) parts")
