"""business_api.directives: the [mock:...] directives, including JSON values that contain ']'."""

import pytest

from business_api.directives import MAX_SLEEP_MS, DirectiveError, Directives, parse_directives


def test_no_directives():
    assert parse_directives("just a question") == Directives()


def test_all_directives_are_read():
    d = parse_directives("[mock:echo] [mock:sleep=250] [mock:status=503] [mock:garbage] [mock:chunk_delay=20]")
    assert d == Directives(echo=True, garbage=True, sleep_ms=250, status=503, chunk_delay_ms=20)


def test_sleep_is_capped():
    assert parse_directives("[mock:sleep=99999999]").sleep_ms == MAX_SLEEP_MS


@pytest.mark.parametrize("text", ["[mock:status=200]", "[mock:status=abc]", "[mock:sleep=-5]", "[mock:sleep]", "[mock:ecko]"])
def test_malformed_directives_are_errors(text):
    with pytest.raises(DirectiveError):
        parse_directives(text)


def test_fail_after_directive():
    assert parse_directives("[mock:fail_after=3]").fail_after == 3
    with pytest.raises(DirectiveError):
        parse_directives("[mock:fail_after=x]")


def test_flaky_directive():
    assert parse_directives("[mock:flaky=3]").flaky_every == 3
    assert parse_directives("[mock:flaky=3]").flaky_status == 503
    assert parse_directives("[mock:flaky=4:500]").flaky_status == 500
    for bad in ("[mock:flaky=1]", "[mock:flaky=x]", "[mock:flaky=3:200]", "[mock:flaky]"):
        with pytest.raises(DirectiveError):
            parse_directives(bad)


def test_tool_directive_reads_one_or_several_names_in_order():
    assert parse_directives("call [mock:tool=get_weather]").tools == ("get_weather",)
    assert parse_directives("[mock:tool=b_tool, a-tool]").tools == ("b_tool", "a-tool")


@pytest.mark.parametrize("text", ["[mock:tool=]", "[mock:tool]", "[mock:tool=a,,b]", "[mock:tool=has space]"])
def test_tool_directive_needs_names(text):
    with pytest.raises(DirectiveError, match=r"\[mock:tool=NAME\]"):
        parse_directives(text)


def test_args_directive_json_may_contain_brackets():
    text = 'go [mock:args={"items": [1, [2]], "note": "a ] b"}] [mock:echo] after'
    d = parse_directives(text)
    assert d.args == {"items": [1, [2]], "note": "a ] b"}
    assert d.echo is True


def test_json_directive_takes_any_json_value_and_tracks_presence():
    assert parse_directives('[mock:json={"a": [1]}]').json == {"a": [1]}
    assert parse_directives("[mock:json=[1, 2]]").json == [1, 2]
    null = parse_directives("[mock:json=null]")
    assert null.json is None and null.has_json is True
    assert parse_directives("no json").has_json is False


def test_answer_directive_is_a_json_string_that_may_hold_brackets_and_newlines():
    d = parse_directives('write it [mock:answer="a.sh\\n```\\necho [x]\\n```\\n"] [mock:echo]')
    assert d.answer == "a.sh\n```\necho [x]\n```\n"
    assert d.echo is True
    assert parse_directives("no answer").answer is None
    assert parse_directives('[mock:answer=""]').answer == ""


def test_answer_directive_in_a_json_quoted_prompt():
    assert parse_directives('[mock:answer=\\"hi\\"]').answer == "hi"


@pytest.mark.parametrize(
    "text, name",
    [
        ("[mock:args={bad json}]", "args"),
        ('[mock:args={"a": 1}', "args"),  # no closing ']'
        ('[mock:args={"a": 1} ]', "args"),  # something between the JSON and ']'
        ("[mock:args=[1, 2]]", "args"),  # arguments must be an object
        ("[mock:args]", "args"),
        ("[mock:json=]", "json"),
        ("[mock:json={'single': 'quotes'}]", "json"),
        ("[mock:answer=42]", "answer"),  # the answer is text
        ("[mock:answer]", "answer"),
        ('[mock:answer="unclosed]', "answer"),
    ],
)
def test_bad_json_directives_name_the_directive(text, name):
    with pytest.raises(DirectiveError, match=rf"\[mock:{name}="):
        parse_directives(text)


def test_unknown_directive_lists_the_new_names():
    with pytest.raises(DirectiveError) as error:
        parse_directives("[mock:tools=x]")
    for name in ("tool", "args", "json", "answer", "echo", "flaky"):
        assert name in str(error.value)


def test_text_that_only_looks_like_a_directive_is_left_alone():
    assert parse_directives("[mock:] [mock:Echo] [mock: x] [mock:echo") == Directives()
