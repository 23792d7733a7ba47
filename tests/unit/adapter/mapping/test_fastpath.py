"""Plain field paths compiled to functions give exactly what JMESPath's interpreter gives, on any JSON."""

import jmespath
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.mapping.fastpath import FastPath, fast

FAST = ["delta", "usage.prompt_tokens", "error.message || error", "a.b.c", "message.content || `\"\"`",
        "a || b || `null`", "`{\"x\": 1}`"]
SLOW = ["[0].generated_text", "outputs[?name=='x'].data[0] | [0]", "merge(@, {stream: `true`})", "a && b",
        "length(a)", "a.{x: b}"]
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=3),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from("abcx"), inner, max_size=3), max_leaves=8)
documents = st.dictionaries(st.sampled_from(["delta", "usage", "error", "a", "b", "message", "prompt_tokens",
                                             "content", "c"]), json_values | st.dictionaries(
    st.sampled_from(["prompt_tokens", "message", "b", "c", "content"]), json_values, max_size=3), max_size=4)


def test_plain_paths_are_fast_and_the_rest_keep_the_interpreter():
    assert all(isinstance(fast(jmespath.compile(text)), FastPath) for text in FAST)
    assert not any(isinstance(fast(jmespath.compile(text)), FastPath) for text in SLOW)


@settings(max_examples=400, deadline=None)
@given(document=documents | json_values)
def test_fast_paths_agree_with_jmespath(document):
    for text in FAST:
        assert fast(jmespath.compile(text)).search(document) == jmespath.search(text, document), text


def test_the_expression_text_and_tree_stay_readable():
    compiled = fast(jmespath.compile("usage.prompt_tokens"))
    assert compiled.expression == "usage.prompt_tokens" and compiled.parsed["type"] == "subexpression"
