"""Mapping expressions compiled to functions give exactly what JMESPath's interpreter gives, on any JSON."""

from pathlib import Path

import jmespath
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.mapping.fastpath import FastPath, fast
from adapter.mapping.functions import OPTIONS

BACKENDS = Path(__file__).resolve().parents[4] / "src" / "backends"
# Every node type JMESPath has, and the corners of its semantics: a field of a non-object, negative and missing
# indexes, slices with steps, JMESPath's truth (0 is true, empty things are false), ordering of non-numbers,
# `!0`, functions with and without expression references, errors raised by functions.
EXPRESSIONS = [
    "delta", "usage.prompt_tokens", "error.message || error", "a.b.c", "message.content || `\"\"`",
    "a || b || `null`", "`{\"x\": 1}`", "[0].generated_text", "outputs[?name=='x'].data[0] | [0]",
    "merge(@, {stream: `true`})", "a && b", "length(a)", "a.{x: b}", "@", "a[*].b", "a[].b", "a[][]", "*.a",
    "a.*", "a[1]", "a[-1]", "a[5]", "a[::-1]", "a[1:]", "a[:-1]", "a[::2].b", "[a, b]", "{x: a, y: [b, c]}",
    "a[?b]", "a[?b == `1`]", "a[?b != a]", "a[?b < `2`]", "a[?b <= c]", "a[?b > `\"x\"`]", "a[?b >= `0`]",
    "a == `true`", "a == `0`", "b != `false`", "!a", "!`0`", "!`[]`", "!b.c", "a || `0`", "a && `0`", "a | b",
    "a.b | [0]", "sort_by(a, &b)", "max_by(a, &b)", "map(&b, a)", "keys(@)", "values(a)", "to_string(a)",
    "not_null(a, b, `1`)", "from_json(a)", "split(a, `\",\"`)", "contains(a, `1`)", "abs(a)", "a.b[?c].x",
    "(a || b).c", "a[?!b]", "a[?b && c]", "length(@)", "type(a)", "join(`\",\"`, a)",
]
json_values = st.recursive(st.none() | st.booleans() | st.integers(-2, 3) | st.floats(allow_nan=False)
                           | st.text(alphabet="x,1{}\"", max_size=3),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from("abcx"), inner, max_size=3), max_leaves=8)
documents = st.dictionaries(st.sampled_from(["delta", "usage", "error", "a", "b", "message", "prompt_tokens",
                                             "content", "c", "outputs", "name", "data"]), json_values | st.dictionaries(
    st.sampled_from(["prompt_tokens", "message", "b", "c", "content", "name", "data"]), json_values, max_size=3),
    max_size=4)


def outcome(search, document):
    """The result, or the error raised (its type and text): a function's type error is the interpreter's too."""
    try:
        return "ok", search(document)
    except Exception as error:  # noqa: BLE001
        return type(error), str(error)


def agree(text: str, document) -> None:
    compiled = jmespath.compile(text)
    expected = outcome(lambda value: compiled.search(value, options=OPTIONS), document)
    assert outcome(fast(compiled).search, document) == expected, text


def test_every_expression_is_compiled():
    assert all(isinstance(fast(jmespath.compile(text)), FastPath) for text in EXPRESSIONS)


@settings(max_examples=400, deadline=None)
@given(document=documents | json_values)
def test_compiled_expressions_agree_with_jmespath(document):
    for text in EXPRESSIONS:
        agree(text, document)


def file_expressions(node) -> list[str]:
    """The JMESPath expressions of a backend file: every string value outside the URL and header fields."""
    if isinstance(node, dict):
        return [text for key, value in node.items() if key not in ("url", "headers", "format", "done", "timeout")
                for text in file_expressions(value)]
    return [node] if isinstance(node, str) else []


messages = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant", "tool"]),
                                           "text": st.none() | st.text(max_size=3)},
                                          optional={"tool_call_id": st.text(max_size=2), "tool_calls": st.lists(
                                              st.fixed_dictionaries({"id": st.text(max_size=2), "function": st.fixed_dictionaries(
                                                  {"name": st.text(max_size=2), "arguments": st.text(max_size=4)})}),
                                              max_size=2)}), max_size=4)
chat_documents = st.fixed_dictionaries({"model": st.text(max_size=3), "messages": messages,
                                        "last_user_text": st.none() | st.text(max_size=3),
                                        "params": st.dictionaries(st.sampled_from(["temperature", "max_tokens", "stop",
                                                                                   "user", "parallel_tool_calls"]),
                                                                  json_values, max_size=3)},
                                       optional={"tools": st.lists(st.fixed_dictionaries(
                                           {"function": st.fixed_dictionaries({"name": st.text(max_size=2)})}),
                                           max_size=2), "tool_choice": json_values | st.fixed_dictionaries(
                                           {"function": st.fixed_dictionaries({"name": st.text(max_size=2)})})})


@pytest.mark.parametrize("path", sorted(BACKENDS.glob("*.yaml")), ids=lambda path: path.name)
@settings(max_examples=100, deadline=None)
@given(document=chat_documents | documents)
def test_the_shipped_backend_files_expressions_agree_with_jmespath(path, document):
    for text in file_expressions(yaml.safe_load(path.read_text())):
        agree(text, document)


def test_the_expression_text_and_tree_stay_readable():
    compiled = fast(jmespath.compile("usage.prompt_tokens"))
    assert compiled.expression == "usage.prompt_tokens" and compiled.parsed["type"] == "subexpression"
