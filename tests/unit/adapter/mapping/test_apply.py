"""Mappings applied to real answer shapes: the mock business API (served for real), Ollama's and TGI's documented."""

import json

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stack_settings
from adapter.upstream.errors import AdapterError
from adapter.mapping.events import EventReader
from adapter.mapping.apply import (completion, embeddings, error_message, request_body, stream_body,
                                   stream_chunks, without_nulls)
from adapter.mapping.document import chat_document, embedding_document
from adapter.mapping.spec import EmbeddingsSpec, Fields, Mapping, StreamSpec
from business_api import create_app

API_KEY = "mapping-test-key"
FIELD_NAMES = ("content", "finish_reason", "prompt_tokens", "completion_tokens", "tool_calls", "error")


def fields(**expressions) -> Fields:
    """Fields as the loader compiles them from a file's response:/stream: keys."""
    unknown = set(expressions) - set(FIELD_NAMES)
    assert not unknown, unknown
    return Fields(**{name: jmespath.compile(expressions[name]) if name in expressions else None
                     for name in FIELD_NAMES})


def mapping(request, response, stream=None, embeddings=None, name="test") -> Mapping:
    return Mapping(name=name, path=f"src/backends/{name}.yaml", url="http://backend", headers={}, timeout=None,
                   request=jmespath.compile(request), response=response, stream=stream, embeddings=embeddings)


def sse_stream(format="sse", request=None, done=None, **expressions) -> StreamSpec:
    return StreamSpec(format=format, request=jmespath.compile(request) if request else None, done=done,
                      fields=fields(**expressions))


# The issue's example file, as the loader would compile it.
BUSINESS_USAGE = {"prompt_tokens": "usage.prompt_tokens", "completion_tokens": "usage.completion_tokens"}
EXAMPLE = mapping(
    "{query: last_user_text, history: history, model_info: {name: model, temperature: params.temperature}}",
    fields(content="answer", finish_reason="finish_reason", tool_calls="tool_calls", error="error.message",
           **BUSINESS_USAGE),
    stream=sse_stream(request="merge(@, {stream: `true`})", done="[DONE]", content="delta",
                      finish_reason="finish_reason", tool_calls="tool_call", error="error.message", **BUSINESS_USAGE),
    embeddings=EmbeddingsSpec(url="http://backend/api/embed",
                              request=jmespath.compile("{model: model, texts: input, dimensions: dimensions}"),
                              vectors=jmespath.compile("embeddings"),
                              prompt_tokens=jmespath.compile("usage.prompt_tokens")),
    name="business",
)


def _business(path):
    """The real mock business API (Flask test client): post(path, body) -> response."""
    settings_ = stack_settings.load({"ENV_FILE": str(path / "none.env"), "BUSINESS_API_KEY": API_KEY})
    client = create_app({"SETTINGS": settings_, "TESTING": True}).test_client()
    return lambda url, body: client.post(url, json=body, headers={"X-API-Key": API_KEY})


@pytest.fixture()
def business(tmp_path):
    return _business(tmp_path)


def cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


def read_all(reader: EventReader, pieces: list[bytes]) -> list:
    events = []
    for piece in pieces:
        events += reader.feed(piece)
    return events + reader.close()


def chunks_of(fields_, events) -> list[dict]:
    return [chunk for event in events for chunk in stream_chunks(fields_, event)]


# --- request bodies ---------------------------------------------------------------------------------------------

def test_nulls_are_removed_at_every_depth_and_inside_lists_of_objects():
    value = {"a": None, "b": {"c": None, "d": 1, "e": {"f": None}}, "g": [{"h": None, "i": 2}, None, 3], "j": []}
    assert without_nulls(value) == {"b": {"d": 1, "e": {}}, "g": [{"i": 2}, None, 3], "j": []}


def test_request_body_is_the_expression_over_the_document_without_nulls():
    document = chat_document("my-model", None, [{"role": "user", "content": "hi"}], {}, False)
    assert request_body(EXAMPLE, document) == {"query": "hi", "history": [], "model_info": {"name": "my-model"}}
    history = chat_document("m", None, [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                        {"role": "user", "content": "c"}], {"temperature": 0.5}, False)
    body = request_body(EXAMPLE, history)
    assert body["history"] == [{"role": "user", "text": "a"}, {"role": "assistant", "text": "b"}]
    assert body["model_info"] == {"name": "m", "temperature": 0.5}


def test_stream_body_applies_stream_request_or_keeps_the_body():
    body = {"query": "q"}
    assert stream_body(EXAMPLE, body) == {"query": "q", "stream": True}
    assert stream_body(mapping("@", fields(content="a"), stream=sse_stream(content="a")), body) is body
    assert stream_body(mapping("@", fields(content="a")), body) is body


def test_a_request_expression_that_fails_is_a_server_error_naming_the_file():
    broken = mapping("merge(model, `{}`)", fields(content="a"))
    with pytest.raises(AdapterError) as caught:
        request_body(broken, {"model": "m"})
    assert caught.value.status_code == 500 and "test.yaml: request" in caught.value.message


# --- the business API through the issue's example mapping ----------------------------------------------------------

def test_the_example_mapping_gets_a_completion_from_the_real_mock(business):
    document = chat_document("my-custom-model", None, [{"role": "system", "content": "Be brief."},
                                                       {"role": "user", "content": "What is JMESPath?"}],
                             {"temperature": 0.3}, False)
    response = business("/api/process", request_body(EXAMPLE, document))
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    result = completion(EXAMPLE, answer, "my-custom-model", 1700000000)
    [choice] = result["choices"]
    assert choice["message"] == {"role": "assistant", "content": answer["answer"]} and answer["answer"]
    assert choice["finish_reason"] == "stop" and result["model"] == "my-custom-model"
    usage = answer["usage"]
    assert result["usage"] == {"prompt_tokens": usage["prompt_tokens"], "completion_tokens": usage["completion_tokens"],
                               "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0), max_size=30))
def test_the_example_mapping_streams_the_same_answer_from_the_real_mock(tmp_path_factory, cuts):
    ask = _business(tmp_path_factory.mktemp("s"))  # hypothesis reruns the test; function fixtures would be shared
    question = [{"role": "user", "content": "Tell me about ünïcode 🌍 please"}]
    document = chat_document("my-custom-model", None, question, {}, True)
    body = request_body(EXAMPLE, document)
    whole = ask("/api/process", body).get_json()
    streamed = ask("/api/process", stream_body(EXAMPLE, body))
    reader = EventReader("sse", "[DONE]")
    events = read_all(reader, cut(streamed.get_data(), cuts))
    assert reader.done
    chunks = chunks_of(EXAMPLE.stream.fields, events)
    assert "".join(chunk["text"] for chunk in chunks) == whole["answer"]
    assert [chunk["is_finished"] for chunk in chunks] == [False] * (len(chunks) - 1) + [True]
    assert chunks[-1]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] == whole["usage"]["completion_tokens"]



WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
TOOLS_MAPPING = mapping(
    "{query: last_user_text, history: history[].{role: role, content: text}, model_info: {name: model},"
    " tools: tools[].function, tool_choice: tool_choice}",
    EXAMPLE.response, stream=EXAMPLE.stream)


def test_tool_calls_come_back_as_openai_tool_calls(business):
    document = chat_document("m", None, [{"role": "user", "content": "Weather?"}],
                             {"tools": [WEATHER], "tool_choice": "required"}, False)
    answer = business("/api/process", request_body(TOOLS_MAPPING, document)).get_json()
    message = completion(TOOLS_MAPPING, answer, "m", 0)["choices"][0]
    [call] = message["message"]["tool_calls"]
    assert message["finish_reason"] == "tool_calls" and message["message"]["content"] is None
    assert call == {"id": answer["tool_calls"][0]["id"], "type": "function",
                    "function": {"name": "get_weather", "arguments": answer["tool_calls"][0]["arguments"]}}


def test_streamed_tool_calls_become_litellm_tool_use_fragments(business):
    document = chat_document("m", None, [{"role": "user", "content": "Weather?"}],
                             {"tools": [WEATHER], "tool_choice": "required"}, True)
    body = stream_body(TOOLS_MAPPING, request_body(TOOLS_MAPPING, document))
    reader = EventReader("sse", "[DONE]")
    chunks = chunks_of(TOOLS_MAPPING.stream.fields, read_all(reader, [business("/api/process", body).get_data()]))
    uses = [chunk["tool_use"] for chunk in chunks if chunk["tool_use"]]
    assert len(uses) == 2 and uses[0]["function"]["name"] == "get_weather" and uses[0]["id"].startswith("call_")
    assert uses[1]["id"] is None and uses[1]["function"]["name"] is None
    assert {use["index"] for use in uses} == {0} and {use["type"] for use in uses} == {"function"}
    assert json.loads("".join(use["function"]["arguments"] for use in uses)) == {"city": "string"}
    assert chunks[-1]["is_finished"] and chunks[-1]["finish_reason"] == "tool_calls"


def test_a_mid_stream_error_event_raises_with_its_message(business):
    document = chat_document("m", None, [{"role": "user", "content": "hello there [mock:fail_after=1]"}], {}, True)
    body = stream_body(EXAMPLE, request_body(EXAMPLE, document))
    events = read_all(EventReader("sse", "[DONE]"), [business("/api/process", body).get_data()])
    with pytest.raises(AdapterError) as caught:
        chunks_of(EXAMPLE.stream.fields, events)
    assert caught.value.status_code == 502 and "mock failure mid-stream" in caught.value.message


def test_the_error_message_of_a_real_error_answer(business):
    document = chat_document("m", None, [{"role": "user", "content": "[mock:status=429]"}], {}, False)
    response = business("/api/process", request_body(EXAMPLE, document))
    assert response.status_code == 429
    message = error_message(EXAMPLE.response, response.get_json())
    assert message and message == response.get_json()["error"]["message"]


def test_embeddings_through_the_mapping_from_the_real_mock(business):
    spec = EXAMPLE.embeddings
    body = without_nulls(spec.request.search(embedding_document("emb", ["one", "two words"], 8)))
    answer = business("/api/embed", body).get_json()
    vectors, tokens = embeddings(spec, answer)
    assert len(vectors) == 2 and all(len(vector) == 8 for vector in vectors)
    assert tokens == answer["usage"]["prompt_tokens"]


# --- Ollama's native /api/chat (shapes from its API documentation) -------------------------------------------------

OLLAMA = mapping(
    "{model: backend_model, messages: messages[].{role: role, content: text}, stream: stream,"
    " options: {temperature: params.temperature, num_predict: params.max_tokens, stop: params.stop}}",
    fields(content="message.content", finish_reason="done_reason", prompt_tokens="prompt_eval_count",
           completion_tokens="eval_count", error="error",
           tool_calls="message.tool_calls[].{name: function.name, arguments: function.arguments}"),
    stream=sse_stream(format="ndjson", content="message.content", finish_reason="done_reason",
                      prompt_tokens="prompt_eval_count", completion_tokens="eval_count", error="error",
                      tool_calls="message.tool_calls[].{name: function.name, arguments: function.arguments}"),
    name="ollama")
OLLAMA_PIECES = ["The", " sky", " is", " blue — ", "ça", " va 🌍", "."]
OLLAMA_STREAM = "".join(
    json.dumps({"model": "llama3.2", "created_at": "2023-08-04T08:52:19.385406455-07:00",
                "message": {"role": "assistant", "content": piece}, "done": False}, ensure_ascii=False) + "\n"
    for piece in OLLAMA_PIECES
) + json.dumps({"model": "llama3.2", "created_at": "2023-08-04T19:22:45.499127Z",
                "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
                "total_duration": 4883583458, "load_duration": 1334875, "prompt_eval_count": 26,
                "prompt_eval_duration": 342546000, "eval_count": 282, "eval_duration": 4535599000}) + "\n"


def test_ollama_request_body_uses_the_backend_model_and_drops_unset_options():
    document = chat_document("local", "llama3.2:1b", [{"role": "developer", "content": "Be kind."},
                                                      {"role": "user", "content": "Why is the sky blue?"}],
                             {"max_tokens": 50}, True)
    assert request_body(OLLAMA, document) == {
        "model": "llama3.2:1b", "stream": True, "options": {"num_predict": 50},
        "messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Why is the sky blue?"}]}


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0), max_size=40))
def test_an_ollama_ndjson_stream_cut_anywhere_reads_the_same(cuts):
    reader = EventReader("ndjson")
    events = read_all(reader, cut(OLLAMA_STREAM.encode(), cuts))
    assert events == [json.loads(line) for line in OLLAMA_STREAM.splitlines()]
    chunks = chunks_of(OLLAMA.stream.fields, events)
    assert [chunk["text"] for chunk in chunks] == OLLAMA_PIECES + [""]
    assert chunks[-1]["is_finished"] and chunks[-1]["finish_reason"] == "stop"
    assert chunks[-1]["usage"] == {"prompt_tokens": 26, "completion_tokens": 282, "total_tokens": 308}
    assert not any(chunk["is_finished"] for chunk in chunks[:-1])


def test_an_ollama_stream_without_its_last_newline_is_read_at_close():
    reader = EventReader("ndjson")
    assert reader.feed(OLLAMA_STREAM.rstrip("\n").encode()) and reader.close()[-1]["done"] is True


def test_an_ollama_answer_with_tool_calls_gets_ids_and_json_arguments():
    answer = {"model": "llama3.2", "created_at": "2024-07-22T20:33:28.123648Z",
              "message": {"role": "assistant", "content": "", "tool_calls": [
                  {"function": {"name": "get_current_weather",
                                "arguments": {"format": "celsius", "location": "Paris, FR"}}}]},
              "done_reason": "stop", "done": True, "prompt_eval_count": 217, "eval_count": 22}
    result = completion(OLLAMA, answer, "local", 5)
    [call] = result["choices"][0]["message"]["tool_calls"]
    assert call["id"].startswith("call_") and call["function"]["name"] == "get_current_weather"
    assert call["function"]["arguments"] == '{"format":"celsius","location":"Paris, FR"}'
    assert result["choices"][0]["finish_reason"] == "tool_calls" and result["created"] == 5
    assert result["usage"]["total_tokens"] == 239


def test_ollama_streamed_whole_tool_calls_take_their_position_as_index():
    event = {"message": {"role": "assistant", "content": "", "tool_calls": [
        {"function": {"name": "a", "arguments": {}}}, {"function": {"name": "b", "arguments": {"x": 1}}}]},
        "done": False}
    uses = [chunk["tool_use"] for chunk in stream_chunks(OLLAMA.stream.fields, event)]
    assert [(u["index"], u["function"]["name"], u["function"]["arguments"]) for u in uses] == [
        (0, "a", "{}"), (1, "b", '{"x":1}')]
    assert all(u["id"].startswith("call_") for u in uses) and uses[0]["id"] != uses[1]["id"]


def test_an_ollama_error_answer_gives_its_message():
    assert error_message(OLLAMA.response, {"error": "model 'llama9' not found"}) == "model 'llama9' not found"
    with pytest.raises(AdapterError) as caught:
        stream_chunks(OLLAMA.stream.fields, {"error": "out of memory"})
    assert caught.value.status_code == 502 and "out of memory" in caught.value.message


# --- Hugging Face TGI /generate and /generate_stream (shapes from its documentation) ------------------------------

TGI_FIELDS = {"finish_reason": "details.finish_reason", "completion_tokens": "details.generated_tokens",
              "error": "error"}
TGI = mapping(
    "{inputs: last_user_text, parameters: {max_new_tokens: params.max_tokens, temperature: params.temperature,"
    " stop: params.stop, details: `true`}}",
    fields(content="generated_text", **TGI_FIELDS),
    # A special token (</s>) ends the answer but is not text.
    stream=sse_stream(content="[token][?!special].text | [0]", **TGI_FIELDS),
    name="tgi")
TGI_TOKENS = [(" Deep", False), (" learning", False), (" is", False), (" ∂eep", False), ("</s>", True)]
TGI_STREAM = "".join(
    "data:" + json.dumps({"index": i + 1, "token": {"id": 100 + i, "text": text, "logprob": -0.5, "special": special},
                          "top_tokens": None,
                          "generated_text": None if i < len(TGI_TOKENS) - 1 else "Deep learning is ∂eep",
                          "details": None if i < len(TGI_TOKENS) - 1 else
                          {"finish_reason": "eos_token", "generated_tokens": len(TGI_TOKENS), "seed": None}},
                         ensure_ascii=False) + "\n\n"
    for i, (text, special) in enumerate(TGI_TOKENS))


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0), max_size=40))
def test_a_tgi_sse_stream_cut_anywhere_reads_the_same(cuts):
    reader = EventReader("sse")
    events = read_all(reader, cut(TGI_STREAM.encode(), cuts))
    assert len(events) == len(TGI_TOKENS) and not reader.done
    chunks = chunks_of(TGI.stream.fields, events)
    assert "".join(chunk["text"] for chunk in chunks) == " Deep learning is ∂eep"
    assert chunks[-1]["is_finished"] and chunks[-1]["finish_reason"] == "stop"
    assert chunks[-1]["usage"] is None  # TGI gives no prompt token count: LiteLLM counts
    assert sum(chunk["is_finished"] for chunk in chunks) == 1


def test_a_tgi_length_finish_is_kept_and_its_answer_read():
    answer = {"generated_text": "Deep learning is", "details": {"finish_reason": "length", "generated_tokens": 3}}
    result = completion(TGI, answer, "tgi-model", 0)
    assert result["choices"][0] == {"index": 0, "message": {"role": "assistant", "content": "Deep learning is"},
                                    "finish_reason": "length"}
    assert result["usage"] is None


def test_a_tgi_error_event_raises():
    events = EventReader("sse").feed(b'data:{"error":"Input validation error: inputs must have less than 1024 tokens",'
                                     b'"error_type":"validation"}\n\n')
    with pytest.raises(AdapterError, match="less than 1024 tokens"):
        stream_chunks(TGI.stream.fields, events[0])


# --- EventReader details ------------------------------------------------------------------------------------------

def test_sse_stops_at_the_done_sentinel_and_ignores_later_bytes():
    reader = EventReader("sse", "[DONE]")
    events = reader.feed(b': keep-alive\n\nevent: message\ndata: {"a": 1}\r\n\r\ndata: [DONE]\n\ndata: {"a": 2}\n\n')
    assert events == [{"a": 1}] and reader.done
    assert reader.feed(b'data: {"a": 3}\n\n') == [] and reader.close() == []


def test_sse_data_lines_of_one_event_are_joined():
    assert EventReader("sse").feed(b'data: {"a":\ndata: 1}\n\n') == [{"a": 1}]


def test_a_stream_line_that_is_not_json_is_a_bad_answer():
    with pytest.raises(AdapterError) as caught:
        EventReader("ndjson", backend="the backend of x.yaml").feed(b"<html>oops</html>\n")
    assert caught.value.status_code == 502 and "x.yaml" in caught.value.message


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError):
        EventReader("xml")


# --- answers the adapter cannot use -------------------------------------------------------------------------------

SIMPLE = mapping("@", fields(content="text", finish_reason="why", tool_calls="calls", error="problem",
                             prompt_tokens="p", completion_tokens="c"))


@pytest.mark.parametrize("answer, why", [
    ({"text": 5}, "found int"),
    ({}, "found NoneType"),
    ({"problem": "quota exceeded"}, "reports an error: quota exceeded"),
    ({"text": "x", "calls": "nope"}, "'tool_calls'"),
    ({"text": "x", "calls": [{"arguments": "{}"}]}, "'tool_calls[0].name'"),
    ({"text": "x", "calls": [{"name": "f", "arguments": 3}]}, "arguments"),
])
def test_unusable_answers_are_bad_gateway(answer, why):
    with pytest.raises(AdapterError) as caught:
        completion(SIMPLE, answer, "m", 0)
    assert caught.value.status_code == 502 and why in caught.value.message
    assert caught.value.message.startswith("the test backend sent an answer")


@pytest.mark.parametrize("raw, expected", [("length", "length"), ("content_filter", "content_filter"),
                                           ("eos_token", "stop"), (None, "stop"), (7, "stop")])
def test_finish_reasons_outside_openais_become_stop(raw, expected):
    assert completion(SIMPLE, {"text": "x", "why": raw}, "m", 0)["choices"][0]["finish_reason"] == expected


@pytest.mark.parametrize("p, c", [(1, None), (-1, 2), (1.5, 2), (True, 2), ("3", 4)])
def test_usage_needs_both_counts_as_non_negative_integers(p, c):
    assert completion(SIMPLE, {"text": "x", "p": p, "c": c}, "m", 0)["usage"] is None


def test_error_message_variants():
    assert error_message(SIMPLE.response, {"problem": {"code": 7}}) == '{"code":7}'
    assert error_message(SIMPLE.response, {"problem": ""}) is None
    assert error_message(SIMPLE.response, "not json at all") is None
    assert error_message(fields(content="a"), {"problem": "x"}) is None
    assert error_message(fields(content="a", error="abs(problem)"), {"problem": "x"}) is None  # search fails quietly


def test_embeddings_that_are_not_number_lists_are_bad_gateway():
    spec = EmbeddingsSpec(url="u", request=jmespath.compile("@"), vectors=jmespath.compile("v"), prompt_tokens=None)
    assert embeddings(spec, {"v": [[0.1, 2]]}) == ([[0.1, 2]], None)
    for bad in ({"v": []}, {"v": [[]]}, {"v": [["a"]]}, {"v": [[True]]}, {}):
        with pytest.raises(AdapterError):
            embeddings(spec, bad)


def test_an_event_with_text_a_tool_call_and_a_finish_ends_on_its_last_chunk():
    stream = fields(content="t", tool_calls="calls", finish_reason="why")
    event = {"t": "Let me check.", "calls": [{"index": 0, "id": "c1", "name": "f", "arguments": "{}"}], "why": "stop"}
    chunks = stream_chunks(stream, event)
    assert [chunk["text"] for chunk in chunks] == ["Let me check.", ""]
    assert [chunk["is_finished"] for chunk in chunks] == [False, True]
    assert chunks[1]["tool_use"]["id"] == "c1" and chunks[1]["finish_reason"] == "tool_calls"
    assert stream_chunks(stream, {"t": ""}) == []  # an empty event is no chunk at all


def test_the_issue_example_file_as_the_loader_compiles_it_serves_the_real_mock(tmp_path, business):
    from adapter.mapping.load import load_file

    from .test_load import EXAMPLE as EXAMPLE_FILE, VARIABLES
    path = tmp_path / "business.yaml"
    path.write_text(EXAMPLE_FILE, encoding="utf-8")
    loaded = load_file(path, VARIABLES)
    document = chat_document("my-custom-model", None, [{"role": "user", "content": "Hello"}], {"temperature": 1}, True)
    body = request_body(loaded, document)
    answer = business("/api/process", body).get_json()
    assert completion(loaded, answer, "my-custom-model", 0)["choices"][0]["message"]["content"] == answer["answer"]
    reader = EventReader(loaded.stream.format, loaded.stream.done)
    streamed = business("/api/process", stream_body(loaded, body)).get_data()
    chunks = chunks_of(loaded.stream.fields, read_all(reader, [streamed]))
    assert reader.done and "".join(chunk["text"] for chunk in chunks) == answer["answer"]
    assert chunks[-1]["usage"]["prompt_tokens"] == answer["usage"]["prompt_tokens"]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(events=st.lists(st.dictionaries(st.text(max_size=5), JSON, max_size=3), max_size=5),
       format=st.sampled_from(["sse", "ndjson"]), cuts=st.lists(st.integers(min_value=0), max_size=20))
def test_any_events_cut_anywhere_come_back_whole(events, format, cuts):
    lines = [json.dumps(event, ensure_ascii=False) for event in events]
    wire = "".join(f"data: {line}\n\n" if format == "sse" else f"{line}\n" for line in lines).encode()
    assert read_all(EventReader(format), cut(wire, cuts)) == events


def _has_null_key(value) -> bool:
    if isinstance(value, dict):
        return any(item is None or _has_null_key(item) for item in value.values())
    return isinstance(value, list) and any(_has_null_key(item) for item in value)


@given(value=JSON)
def test_without_nulls_leaves_no_null_valued_key_and_keeps_the_rest(value):
    cleaned = without_nulls(value)
    assert not _has_null_key(cleaned) and without_nulls(cleaned) == cleaned
