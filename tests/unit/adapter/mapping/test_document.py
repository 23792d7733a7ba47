"""The request document built from real OpenAI chat and embedding requests."""

import pytest

from adapter.upstream.errors import AdapterError
from adapter.mapping.document import chat_document, embedding_document

CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}
CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "developer", "content": [{"type": "text", "text": "Answer in English."},
                                      {"type": "text", "text": "No emoji."}]},
    {"role": "user", "content": "Weather in Oslo?"},
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "call_1", "content": "{\"celsius\": 4}"},
    {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"},
                                 {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


def document(messages=CONVERSATION, **params):
    return chat_document("my-model", "llama3.2:1b", messages, params, stream=False)


def test_a_tool_conversation_becomes_the_document():
    doc = chat_document("my-model", "llama3.2:1b", CONVERSATION,
                        {"temperature": 0.2, "stop": "END", "tools": TOOLS, "tool_choice": "auto", "top_k": 5}, True)
    assert doc["model"] == "my-model" and doc["backend_model"] == "llama3.2:1b" and doc["stream"] is True
    assert [m["role"] for m in doc["messages"]] == ["system", "system", "user", "assistant", "tool", "user"]
    assert doc["system"] == "You are terse.\n\nAnswer in English.\nNo emoji."
    assert [m["role"] for m in doc["conversation"]] == ["user", "assistant", "tool", "user"]
    assert doc["last_user_text"] == "And tomorrow?"  # the image part stays in content, out of the text
    assert doc["messages"][5]["content"] == CONVERSATION[5]["content"]
    assert doc["history"] == [
        {"role": "user", "text": "Weather in Oslo?", "tool_calls": None, "tool_call_id": None},
        {"role": "assistant", "text": "", "tool_calls": [CALL], "tool_call_id": None},
        {"role": "tool", "text": "{\"celsius\": 4}", "tool_calls": None, "tool_call_id": "call_1"},
    ]
    assert doc["tools"] == TOOLS and doc["tool_choice"] == "auto"
    assert doc["params"]["temperature"] == 0.2 and doc["params"]["stop"] == ["END"]
    assert doc["params"]["top_k"] == 5 and doc["params"]["max_tokens"] is None
    assert "tools" not in doc["params"] and "tool_choice" not in doc["params"]


def test_no_system_message_gives_null_system():
    doc = document([{"role": "user", "content": "hi"}])
    assert doc["system"] is None and doc["history"] == [] and doc["last_user_text"] == "hi"
    assert doc["tools"] is None and doc["params"]["stop"] is None


def test_a_conversation_ending_in_a_tool_result_is_all_history():
    doc = document(CONVERSATION[:5])
    assert doc["last_user_text"] is None
    assert [turn["role"] for turn in doc["history"]] == ["user", "assistant", "tool"]


def test_stop_list_is_kept():
    assert document([{"role": "user", "content": "x"}], stop=["a", "b"])["params"]["stop"] == ["a", "b"]


@pytest.mark.parametrize("messages, param", [
    ([], "messages"),
    ("hello", "messages"),
    (["hello"], "messages[0]"),
    ([{"role": "robot", "content": "x"}], "messages[0].role"),
    ([{"role": "user", "content": 5}], "messages[0].content"),
    ([{"role": "user", "content": [{"type": "text", "text": 5}]}], "messages[0].content[0].text"),
    ([{"role": "user", "content": ["plain"]}], "messages[0].content[0]"),
    ([{"role": "assistant", "content": "x", "tool_calls": {"id": "c"}}], "messages[0].tool_calls"),
])
def test_malformed_messages_are_refused_naming_the_param(messages, param):
    with pytest.raises(AdapterError) as caught:
        document(messages)
    assert caught.value.status_code == 400 and caught.value.param == param


def test_embedding_input_is_always_a_list():
    assert embedding_document("e", "one", None) == {"model": "e", "input": ["one"], "dimensions": None}
    assert embedding_document("e", ["a", "b"], 8)["input"] == ["a", "b"]


@pytest.mark.parametrize("value", [[], [1, 2], 7, None, ["a", None]])
def test_embedding_input_that_is_not_text_is_refused(value):
    with pytest.raises(AdapterError) as caught:
        embedding_document("e", value, None)
    assert caught.value.param == "input"
