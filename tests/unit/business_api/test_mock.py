"""business_api.mock: directives, token counts, stop/max_tokens handling."""

import json

import pytest

from business_api import mock


def test_no_directives():
    assert mock.parse_directives("just a question") == mock.Directives()


def test_all_directives_are_read():
    d = mock.parse_directives("[mock:echo] [mock:sleep=250] [mock:status=503] [mock:garbage] [mock:chunk_delay=20]")
    assert d == mock.Directives(echo=True, garbage=True, sleep_ms=250, status=503, chunk_delay_ms=20)


def test_sleep_is_capped():
    assert mock.parse_directives("[mock:sleep=99999999]").sleep_ms == mock.MAX_SLEEP_MS


@pytest.mark.parametrize("text", ["[mock:status=200]", "[mock:status=abc]", "[mock:sleep=-5]", "[mock:sleep]", "[mock:ecko]"])
def test_malformed_directives_are_errors(text):
    with pytest.raises(mock.DirectiveError):
        mock.parse_directives(text)


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


def test_fail_after_directive():
    assert mock.parse_directives("[mock:fail_after=3]").fail_after == 3
    with pytest.raises(mock.DirectiveError):
        mock.parse_directives("[mock:fail_after=x]")


@pytest.mark.parametrize("answer", ["", "a", "Mock answer from m: a  b\nc ", " lead"])
def test_split_pieces_rejoin_to_the_answer(answer):
    assert "".join(mock.split_pieces(answer)) == answer


def test_flaky_directive():
    assert mock.parse_directives("[mock:flaky=3]").flaky_every == 3
    assert mock.parse_directives("[mock:flaky=3]").flaky_status == 503
    assert mock.parse_directives("[mock:flaky=4:500]").flaky_status == 500
    for bad in ("[mock:flaky=1]", "[mock:flaky=x]", "[mock:flaky=3:200]", "[mock:flaky]"):
        with pytest.raises(mock.DirectiveError):
            mock.parse_directives(bad)
