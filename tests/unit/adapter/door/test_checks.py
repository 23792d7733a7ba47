"""adapter.door.checks: the proxy door's body checks, one set per served POST route."""

import json

import pytest

from adapter.door.checks import RequestProblem, client_side_credentials, parse_body


def test_user_parts_of_known_types_pass():
    parts = [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}},
             {"type": "file", "file": {"file_data": "x"}}]
    raw = json.dumps({"model": "m", "messages": [{"role": "user", "content": parts}]}).encode()
    assert parse_body("chat", raw)["messages"][0]["content"] == parts


def test_plausible_body_is_returned():
    raw = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": False}).encode()
    assert parse_body("chat", raw)["model"] == "m"


@pytest.mark.parametrize(
    "raw, param",
    [
        (b"", None),
        (b"{not json", None),
        (b"\xff\xfe\x00", None),
        (b"[1, 2]", None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": 5, "messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": "m"}', "messages"),
        (b'{"model": "m", "messages": []}', "messages"),
        (b'{"model": "m", "messages": "hi"}', "messages"),
        (b'{"model": "m", "messages": [1]}', "messages[0]"),
        (b'{"model": "m", "messages": [{"content": "x"}]}', "messages[0]"),
        (b'{"model": "m", "messages": [{"role": "user", "content": 7}]}', "messages[0].content"),
        (b'{"model": "m", "messages": [{"role": "user", "content": ["hi"]}]}', "messages[0].content[0]"),
        (b'{"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "x"}]}]}',
         "messages[0].content[1].type"),
        (b'{"model": "m", "messages": [{"role": "user", "content": [{"text": "a"}]}]}', "messages[0].content[0].type"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{}, 5]}', "tools[1]"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}', "stream"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "hash": "h"}', "hash"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "api_base": "http://evil"}', "api_base"),
    ],
)
def test_implausible_bodies_are_problems(raw, param):
    with pytest.raises(RequestProblem) as caught:
        parse_body("chat", raw)
    assert caught.value.param == param
    assert caught.value.message


@pytest.mark.parametrize(
    "field, value",
    [("tools", 5), ("tools", {}), ("temperature", "hot"), ("temperature", True), ("max_tokens", 1.5), ("n", "2"),
     ("stop", 7), ("tool_choice", 3), ("stream_options", []), ("params", "name=Kim"), ("user", 42)],
)
def test_parameters_litellm_reads_itself_must_have_the_right_type(field, value):
    raw = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}], field: value}).encode()
    with pytest.raises(RequestProblem) as caught:
        parse_body("chat", raw)
    assert caught.value.param == field


def test_null_parameters_are_absent_parameters():
    raw = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": None}).encode()
    assert parse_body("chat", raw)["tools"] is None


def problem(kind, body):
    with pytest.raises(RequestProblem) as caught:
        parse_body(kind, json.dumps(body).encode())
    assert caught.value.message
    return caught.value


COMPLETION = {"model": "m", "prompt": "Say hi"}


@pytest.mark.parametrize("extra", [
    {}, {"prompt": ["one prompt"]}, {"n": 1}, {"best_of": 1}, {"echo": False}, {"suffix": None}, {"suffix": ""},
    {"logprobs": None}, {"logprobs": 0}, {"logprobs": False}, {"temperature": 0.2, "max_tokens": 5, "stream": True},
])
def test_completions_with_one_text_prompt_and_one_answer_pass(extra):
    assert parse_body("completions", json.dumps({**COMPLETION, **extra}).encode())["model"] == "m"


@pytest.mark.parametrize("extra, param, words", [
    ({"prompt": ["a", "b"]}, "prompt", "one prompt per request"),
    ({"prompt": [1, 2, 3]}, "prompt", "token ids"),
    ({"prompt": [[1, 2, 3]]}, "prompt", "token ids"),
    ({"prompt": [[1, 2], [3]]}, "prompt", "token ids"),
    ({"prompt": None}, "prompt", "required"),
    ({"prompt": []}, "prompt", "required"),
    ({"prompt": {"text": "x"}}, "prompt", "string"),
    ({"prompt": ["a", 1]}, "prompt", "string"),
    ({"n": 2}, "n", "must be 1"),
    ({"n": "2"}, "n", "integer"),
    ({"best_of": 3}, "best_of", "must be 1"),
    ({"echo": True}, "echo", "not supported"),
    ({"echo": "yes"}, "echo", "true or false"),
    ({"suffix": "}"}, "suffix", "not supported"),
    ({"logprobs": 2}, "logprobs", "not supported"),
    ({"logprobs": True}, "logprobs", "not supported"),
    ({"temperature": "hot"}, "temperature", "number"),
    ({"api_base": "http://evil"}, "api_base", "server configuration"),
])
def test_completions_that_would_change_the_answer_are_refused(extra, param, words):
    refused = problem("completions", {**COMPLETION, **extra})
    assert refused.param == param
    assert words in refused.message


def test_completions_without_a_model_are_refused():
    assert problem("completions", {"prompt": "x"}).param == "model"


RESPONSE = {"model": "m", "input": "hi"}


@pytest.mark.parametrize("extra", [
    {}, {"input": [{"role": "user", "content": "hi"}]}, {"store": False}, {"previous_response_id": None},
    {"background": False}, {"instructions": "be brief", "temperature": 0.1},
    {"max_output_tokens": 5, "reasoning": {"effort": "low", "summary": "auto"}},
    {"input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
               {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
               {"type": "function_call_output", "call_id": "c1", "output": "42"},
               {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]}]},
])
def test_responses_carrying_their_whole_conversation_pass(extra):
    assert parse_body("responses", json.dumps({**RESPONSE, **extra}).encode())["input"]


@pytest.mark.parametrize("extra, param, words", [
    ({"previous_response_id": "resp_123"}, "previous_response_id", "send the earlier turns in 'input'"),
    ({"conversation": "conv_1"}, "conversation", "send the earlier turns in 'input'"),
    ({"conversation": {"id": "conv_1"}}, "conversation", "stores no responses"),
    ({"prompt": {"id": "pmpt_1"}}, "prompt", "templates"),
    ({"background": True}, "background", "GET /v1/responses/{id}"),
    ({"input": None}, "input", "required"),
    ({"input": []}, "input", "required"),
    ({"input": 5}, "input", "required"),
    ({"tools": {}}, "tools", "list"),
    ({"input": ["hi"]}, "input[0]", "object"),
    ({"input": [{"role": "user", "content": {}}]}, "input[0].content", "string or a list"),
    ({"input": [{"role": "user", "content": ["hi"]}]}, "input[0].content[0]", "'type'"),
    ({"stream": "yes"}, "stream", "true or false"),
    ({"input": [{"type": "weird"}]}, "input[0].type", "function_call_output"),
    ({"input": [{"content": "no role"}]}, "input[0].type", "got None"),
    ({"input": [{"role": "user", "content": [{"type": "input_weird", "text": "hi"}]}]}, "input[0].content[0].type",
     "input_text"),
    ({"max_output_tokens": 0}, "max_output_tokens", "positive integer"),
    ({"max_output_tokens": True}, "max_output_tokens", "positive integer"),
    ({"reasoning": "high"}, "reasoning", "object"),
    ({"reasoning": {"effort": "extreme"}}, "reasoning.effort", "minimal"),
])
def test_responses_needing_stored_state_or_malformed_are_refused(extra, param, words):
    refused = problem("responses", {**RESPONSE, **extra})
    assert refused.param == param
    assert words in refused.message


EMBEDDING = {"model": "m", "input": "hello"}


@pytest.mark.parametrize("extra", [
    {}, {"input": ["a", "b"]}, {"input": [1, 2, 3]}, {"input": [[1, 2], [3]]}, {"encoding_format": "float"},
    {"encoding_format": "base64"}, {"dimensions": 256}, {"user": "u"}, {"input": ["x"] * 2048},
])
def test_embedding_requests_pass(extra):
    assert parse_body("embeddings", json.dumps({**EMBEDDING, **extra}).encode())["model"] == "m"


@pytest.mark.parametrize("extra, param", [
    ({"input": ""}, "input"), ({"input": []}, "input"), ({"input": None}, "input"), ({"input": 5}, "input"),
    ({"input": ["a", ""]}, "input"), ({"input": ["a", 1]}, "input"), ({"input": [[1], []]}, "input"),
    ({"input": [True, False]}, "input"), ({"input": ["x"] * 2049}, "input"), ({"input": [{"text": "a"}]}, "input"),
    ({"encoding_format": "int8"}, "encoding_format"), ({"dimensions": 0}, "dimensions"),
    ({"dimensions": "256"}, "dimensions"), ({"dimensions": True}, "dimensions"), ({"user": 1}, "user"),
    ({"model": ""}, "model"), ({"api_key": "sk-x"}, "api_key"), ({"stream": True}, "stream"),
    ({"tools": 1.5}, "tools"), ({"tools": [[]]}, "tools[0]"),
])
def test_malformed_embedding_requests_are_refused(extra, param):
    assert problem("embeddings", {**EMBEDDING, **extra}).param == param


IMAGE = {"model": "m", "prompt": "a red bicycle"}


@pytest.mark.parametrize("extra", [
    {}, {"n": 1}, {"n": 10}, {"size": "512x512"}, {"response_format": "url"}, {"response_format": "b64_json"},
])
def test_image_requests_pass(extra):
    assert parse_body("images", json.dumps({**IMAGE, **extra}).encode())["prompt"] == "a red bicycle"


@pytest.mark.parametrize("extra, param", [
    ({"prompt": ""}, "prompt"), ({"prompt": "   "}, "prompt"), ({"prompt": None}, "prompt"), ({"prompt": 3}, "prompt"),
    ({"n": 0}, "n"), ({"n": 11}, "n"), ({"n": "2"}, "n"), ({"n": True}, "n"), ({"size": 512}, "size"),
    ({"response_format": "png"}, "response_format"), ({"response_format": {"type": "url"}}, "response_format"),
    ({"model": None}, "model"), ({"stream": True}, "stream"), ({"tools": [[]]}, "tools[0]"), ({"tools": "x"}, "tools"),
])
def test_malformed_image_requests_are_refused(extra, param):
    assert problem("images", {**IMAGE, **extra}).param == param


@pytest.mark.parametrize("kind", ["chat", "completions", "responses", "embeddings", "images"])
@pytest.mark.parametrize("raw", [b"", b"[]", b"null", b"{", b"\xff"])
def test_every_kind_refuses_what_is_not_a_json_object(kind, raw):
    with pytest.raises(RequestProblem):
        parse_body(kind, raw)


@pytest.mark.parametrize("message, param", [
    ("Rejected Request: user_config is not allowed in request body. Clientside passthrough requires explicit admin "
     "opt-in via either `general_settings.allow_client_side_credentials = true`", "user_config"),
    ("Rejected Request: model_list is not allowed in the request body.", "model_list"),
])
def test_litellms_credential_refusal_names_the_param_without_operator_advice(message, param):
    problem = client_side_credentials(message)
    assert problem.param == param
    assert "allow_client_side_credentials" not in problem.message and param in problem.message


def test_other_litellm_refusals_keep_their_words():
    problem = client_side_credentials("Rejected Request: fallback nesting exceeds the allowed validation depth.")
    assert (problem.param, problem.message) == (None, "Rejected Request: fallback nesting exceeds the allowed "
                                                      "validation depth.")
