"""business_api.mock: token counts, stop/max_tokens handling, echo."""

import json

import pytest

from business_api import mock


def test_token_count_is_words_and_punctuation():
    assert mock.count_tokens("Hello, world!") == 4
    assert mock.count_tokens("") == 0


def test_prompt_tokens_are_positive_even_for_empty_text():
    assert mock.prompt_tokens([""]) == mock.MESSAGE_OVERHEAD_TOKENS
    assert mock.prompt_tokens(["a b", "c"]) == 3 + 2 * mock.MESSAGE_OVERHEAD_TOKENS


def test_usage_total_is_the_sum():
    assert mock.usage(7, 5) == {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}


def test_default_answer_quotes_the_text_verbatim():
    assert mock.default_answer("m1", "Hi there [x]") == "Mock answer from m1: Hi there [x]"


def test_echo_masks_server_owned_fields_and_is_compact():
    body = {"hash": "secret-hash", "messages": [{"role": "user", "content": "é"}]}
    text = mock.echo_answer(body, redact=("hash",))
    assert " " not in text.replace("é", "")
    assert json.loads(text) == {"hash": mock.REDACTED, "messages": [{"role": "user", "content": "é"}]}


def test_max_tokens_truncates_and_reports_length():
    assert mock.limit_answer("one two three four", 2, []) == ("one two", "length")


def test_answer_within_max_tokens_is_untouched():
    assert mock.limit_answer("one two", 5, []) == ("one two", "stop")


def test_stop_sequence_cuts_before_it():
    assert mock.limit_answer("Mock answer from m: a STOP b", None, ["STOP"]) == ("Mock answer from m: a ", "stop")


@pytest.mark.parametrize("answer", ["", "a", "Mock answer from m: a  b\nc ", " lead"])
def test_split_pieces_rejoin_to_the_answer(answer):
    assert "".join(mock.split_pieces(answer)) == answer
