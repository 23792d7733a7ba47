"""adapter.transform_business: literal OpenAI payloads in, literal business payloads out."""

import pytest

from adapter.errors import AdapterError
from adapter.transform_business import transform_request, transform_response


def test_system_prompt_and_history_reach_the_backend_in_order():
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What is 2+2?"},
    ]
    params = {"temperature": 0.2, "max_tokens": 64, "top_p": 0.9, "stop": "END", "stream": False, "max_retries": 0}
    assert transform_request("my-custom-model", messages, params) == {
        "query": "What is 2+2?",
        "model_info": {"name": "my-custom-model", "temperature": 0.2, "max_tokens": 64, "top_p": 0.9, "stop": ["END"]},
        "history": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
        ],
    }


def test_text_parts_are_joined_and_developer_is_system():
    messages = [
        {"role": "developer", "content": "rules"},
        {"role": "user", "content": [{"type": "text", "text": "line 1"}, {"type": "text", "text": "line 2"}]},
    ]
    body = transform_request("m", messages, {})
    assert body["query"] == "line 1\nline 2"
    assert body["history"] == [{"role": "system", "content": "rules"}]


def test_max_completion_tokens_is_max_tokens():
    body = transform_request("m", [{"role": "user", "content": "x"}], {"max_completion_tokens": 9})
    assert body["model_info"] == {"name": "m", "max_tokens": 9}


@pytest.mark.parametrize(
    "messages, fragment",
    [
        ([], "non-empty"),
        ("hello", "non-empty"),
        ([{"role": "assistant", "content": "x"}], "last message must come from the user"),
        ([{"role": "tool", "content": "x"}], "tool_call_id"),
        ([{"role": "function", "name": "f", "content": "x"}], "legacy function messages"),
        ([{"role": "user", "content": "x"}, {"role": "assistant", "content": None, "tool_calls": [{}]}], "tool"),
        ([{"role": "wizard", "content": "x"}], "role"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}], "text only"),
        ([{"role": "user", "content": 42}], "string or a list"),
        (["not a message"], "must be an object"),
    ],
)
def test_unusable_messages_are_400(messages, fragment):
    with pytest.raises(AdapterError) as caught:
        transform_request("m", messages, {})
    assert caught.value.status_code == 400
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"presence_penalty": 2.5}, "presence_penalty"),
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
        ({"logprobs": True}, "logprobs"),
        ({"verbosity": "low"}, "verbosity"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"seed": 1.5}, "seed"),
        ({"functions": [{"name": "f"}]}, "send 'tools'"),
        ({"temperature": 5}, "temperature"),
        ({"temperature": "warm"}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"n": 2}, "'n'=2 is not supported"),
        ({"hash": "client-hash"}, "set by the server"),
        ({"api_key": "sk-x"}, "set by the server"),
    ],
)
def test_bad_or_unknown_params_are_400(params, fragment):
    with pytest.raises(AdapterError) as caught:
        transform_request("m", [{"role": "user", "content": "x"}], params)
    assert caught.value.status_code == 400
    assert fragment in caught.value.message


def test_unknown_params_are_dropped_under_drop_params():
    body = transform_request("m", [{"role": "user", "content": "x"}], {"verbosity": "low", "seed": 3}, True)
    assert body["model_info"] == {"name": "m", "seed": 3}


def test_answer_changing_params_are_forwarded_in_model_info():
    sent = {"presence_penalty": 0.5, "frequency_penalty": -1, "seed": 7, "user": "u-1", "reasoning_effort": "low",
            "max_completion_tokens": 9, "stop": "###"}
    body = transform_request("m", [{"role": "user", "content": "x"}], sent)
    assert body["model_info"] == {"name": "m", "presence_penalty": 0.5, "frequency_penalty": -1, "seed": 7,
                                  "user": "u-1", "reasoning_effort": "low", "max_tokens": 9, "stop": ["###"]}


@pytest.mark.parametrize("name, value", [
    ("n", 1), ("logprobs", False), ("store", False), ("store", True), ("metadata", {"a": "b"}),
    ("service_tier", "auto"), ("stream_options", {"include_usage": True}), ("response_format", {"type": "text"}),
    ("logit_bias", {}), ("modalities", ["text"]), ("presence_penalty", 0), ("frequency_penalty", 0),
])
def test_harmless_defaults_are_accepted_and_not_sent(name, value):
    body = transform_request("m", [{"role": "user", "content": "x"}], {name: value})
    sent = {**body["model_info"], **body}
    assert name not in sent or sent[name] == value
    assert not {"n", "logprobs", "store", "metadata", "service_tier", "stream_options", "response_format",
                "logit_bias", "modalities"} & set(sent)


def test_server_owned_params_are_refused_even_under_drop_params():
    with pytest.raises(AdapterError):
        transform_request("m", [{"role": "user", "content": "x"}], {"hash": "x"}, True)


def test_response_becomes_a_chat_completion():
    answer = {
        "request_id": "req_1",
        "created": 1700000000,
        "answer": "Mock answer from m: hi",
        "finish_reason": "length",
        "usage": {"prompt_tokens": 3, "completion_tokens": 6, "total_tokens": 9},
    }
    assert transform_response(answer, "my-custom-model", 1) == {
        "id": "chatcmpl-req_1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "my-custom-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Mock answer from m: hi"},
                     "finish_reason": "length"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 6, "total_tokens": 9},
    }


def test_unknown_finish_reason_becomes_stop_and_total_is_recomputed():
    answer = {"answer": "x", "finish_reason": "weird", "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 99}}
    result = transform_response(answer, "m", 5)
    assert result["choices"][0]["finish_reason"] == "stop"
    assert result["usage"]["total_tokens"] == 3
    assert result["created"] == 5


@pytest.mark.parametrize(
    "answer",
    [None, [], "text", {"usage": {"prompt_tokens": 1, "completion_tokens": 1}}, {"answer": 5, "usage": {}},
     {"answer": "x"}, {"answer": "x", "usage": {"prompt_tokens": -1, "completion_tokens": 1}}],
)
def test_unusable_answers_are_502(answer):
    with pytest.raises(AdapterError) as caught:
        transform_response(answer, "m", 0)
    assert caught.value.status_code == 502


def test_stream_request_asks_the_backend_to_stream():
    body = transform_request("m", [{"role": "user", "content": "x"}], {"stream": True}, stream=True)
    assert body["stream"] is True


def test_stream_events_become_chunks():
    from adapter.transform_business import transform_stream_event

    assert transform_stream_event('{"request_id": "r", "delta": "Hel"}')["text"] == "Hel"
    last = transform_stream_event(
        '{"delta": "", "finish_reason": "stop", "usage": {"prompt_tokens": 1, "completion_tokens": 2}}'
    )
    assert last["is_finished"] and last["finish_reason"] == "stop"
    assert last["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    assert transform_stream_event("[DONE]") is None


@pytest.mark.parametrize(
    "data, fragment",
    [('{"error": {"message": "boom"}}', "boom"), ("not json", "not JSON"), ("[1]", "not a JSON object"),
     ('{"delta": 5}', "'delta'"), ('{"delta": "", "finish_reason": "stop"}', "usage")],
)
def test_bad_stream_events_are_502(data, fragment):
    from adapter.transform_business import transform_stream_event

    with pytest.raises(AdapterError) as caught:
        transform_stream_event(data)
    assert caught.value.status_code == 502
    assert fragment in caught.value.message
