"""The shipped example mappings (src/backends/ollama.yaml, tgi.yaml) against the request and answer shapes that
Ollama's docs/api.md and TGI's docs/openapi.json and router source document."""

import json
from pathlib import Path

import pytest

from adapter.upstream.errors import AdapterError
from adapter.mapping.events import EventReader
from adapter.mapping.apply import (completion, error_message, request_body, stream_body,
                                   stream_chunks)
from adapter.mapping.document import chat_document
from adapter.mapping.load import MappingError, load_file
from adapter.mapping.parts import DATA_IMAGE
from adapter.mapping.registry import backend_for

BACKENDS = Path(__file__).resolve().parents[3] / "src" / "backends"
VARIABLES = {"OLLAMA_API_BASE": "http://127.0.0.1:11434", "TGI_API_BASE": "http://127.0.0.1:8080"}
OLLAMA = load_file(BACKENDS / "ollama.yaml", VARIABLES)
TGI = load_file(BACKENDS / "tgi.yaml", VARIABLES)
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the weather in a given city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def document(messages, backend_model=None, stream=False, **params):
    return chat_document("client-model", backend_model, messages, params, stream)


def events(mapping, text: str) -> list:
    reader = EventReader(mapping.stream.format, mapping.stream.done)
    return reader.feed(text.encode()) + reader.close()


def chunks(mapping, text: str) -> list[dict]:
    return [chunk for event in events(mapping, text) for chunk in stream_chunks(mapping.stream.fields, event)]


# --- loading -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, variable", [("ollama", "OLLAMA_API_BASE"), ("tgi", "TGI_API_BASE")])
def test_each_example_loads_and_names_its_variable_when_unset(name, variable):
    mapping = load_file(BACKENDS / f"{name}.yaml", VARIABLES)
    assert mapping.name == name and mapping.url.startswith(VARIABLES[variable])
    with pytest.raises(MappingError, match=rf"{name}.yaml: url: \$\{{{variable}\}} is not set"):
        load_file(BACKENDS / f"{name}.yaml", {})


@pytest.mark.parametrize("mapping, forwarded", [
    (OLLAMA, {"temperature", "top_p", "seed", "stop", "max_tokens", "presence_penalty", "frequency_penalty",
              "response_format", "tools"}),
    (TGI, {"temperature", "top_p", "seed", "stop", "max_tokens", "frequency_penalty", "response_format"})])
def test_each_example_lets_through_exactly_the_parameters_its_comments_list(mapping, forwarded):
    backend = backend_for(mapping)
    assert set(backend.policy.forward) == forwarded
    # What a file does not send is refused, never dropped: TGI builds a text prompt; Ollama takes base64 images.
    assert backend.sent_parts == ({DATA_IMAGE} if mapping is OLLAMA else frozenset())


# --- Ollama: POST /api/chat ------------------------------------------------------------------------------------

def test_ollama_body_is_the_documented_chat_request():
    body = request_body(OLLAMA, document(
        [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "why is the sky blue?"}],
        backend_model="llama3.2:1b", temperature=0, seed=101, max_tokens=40, stop="\n\n", top_p=0.9))
    assert body == {
        "model": "llama3.2:1b", "stream": False,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "why is the sky blue?"}],
        "options": {"temperature": 0, "top_p": 0.9, "seed": 101, "stop": ["\n\n"], "num_predict": 40}}
    assert stream_body(OLLAMA, body) == {**body, "stream": True}


def test_ollama_body_carries_tools_history_and_structured_output():
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}
    messages = [{"role": "user", "content": "what is the weather in Toronto?"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": '{"city": "Toronto"}'}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "11 degrees celsius"}]
    body = request_body(OLLAMA, document(messages, "llama3.2:1b", tools=[WEATHER],
                                         response_format={"type": "json_schema",
                                                          "json_schema": {"name": "a", "schema": schema}}))
    assert body["tools"] == [WEATHER] and body["format"] == schema
    assert body["messages"][1:] == [
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_1", "function": {"name": "get_weather", "arguments": {"city": "Toronto"}}}]},
        {"role": "tool", "content": "11 degrees celsius", "tool_call_id": "call_1"}]
    plain = request_body(OLLAMA, document(messages[:1], "x", response_format={"type": "json_object"}))
    assert plain["format"] == "json"
    assert "format" not in request_body(OLLAMA, document(messages[:1], "x", response_format={"type": "text"}))


def test_the_documented_ollama_answer_maps_to_a_completion_with_its_counts():
    answer = {"model": "llama3.2", "created_at": "2023-12-12T14:13:43.416799Z",
              "message": {"role": "assistant", "content": "Hello! How are you today?"}, "done": True,
              "total_duration": 5191566416, "load_duration": 2154458, "prompt_eval_count": 26,
              "prompt_eval_duration": 383809000, "eval_count": 298, "eval_duration": 4799921000}
    result = completion(OLLAMA, answer, "ollama-llama", 1)
    assert result["choices"][0]["message"] == {"role": "assistant", "content": "Hello! How are you today?"}
    assert result["choices"][0]["finish_reason"] == "stop"
    assert result["usage"] == {"prompt_tokens": 26, "completion_tokens": 298, "total_tokens": 324}
    assert completion(OLLAMA, {**answer, "done_reason": "length"}, "m", 1)["choices"][0]["finish_reason"] == "length"


def test_the_documented_ollama_tool_call_answer_maps_to_an_openai_tool_call():
    answer = {"model": "llama3.2", "created_at": "2024-07-22T20:33:28.123648Z", "message": {
        "role": "assistant", "content": "", "tool_calls": [{"function": {
            "name": "get_current_weather", "arguments": {"format": "celsius", "location": "Paris, FR"}}}]},
        "done_reason": "stop", "done": True, "prompt_eval_count": 122, "eval_count": 33}
    result = completion(OLLAMA, answer, "m", 1)
    [call] = result["choices"][0]["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"] == {"name": "get_current_weather",
                                "arguments": '{"format":"celsius","location":"Paris, FR"}'}
    assert result["choices"][0]["finish_reason"] == "tool_calls"
    with_id = json.loads(json.dumps(answer))
    with_id["message"]["tool_calls"][0]["id"] = "call_abc"  # current Ollama gives ids (server/routes.go)
    assert completion(OLLAMA, with_id, "m", 1)["choices"][0]["message"]["tool_calls"][0]["id"] == "call_abc"


def ndjson(*objects) -> str:
    return "".join(json.dumps(value) + "\n" for value in objects)


def test_the_documented_ollama_ndjson_stream_maps_to_text_chunks_and_usage():
    piece = {"model": "llama3.2", "created_at": "2023-08-04T08:52:19.385406455-07:00", "done": False}
    stream = ndjson(*[{**piece, "message": {"role": "assistant", "content": text, "images": None}}
                      for text in ("The", " sky", " is blue.")],
                    {"model": "llama3.2", "created_at": "2023-08-04T19:22:45.499127Z",
                     "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
                     "total_duration": 4883583458, "prompt_eval_count": 26, "eval_count": 282})
    found = chunks(OLLAMA, stream)
    assert [chunk["text"] for chunk in found] == ["The", " sky", " is blue.", ""]
    assert [chunk["is_finished"] for chunk in found] == [False, False, False, True]
    assert found[-1]["finish_reason"] == "stop"
    assert found[-1]["usage"] == {"prompt_tokens": 26, "completion_tokens": 282, "total_tokens": 308}


def test_ollama_streamed_tool_calls_keep_their_index_and_id():
    stream = ndjson(*[{"model": "llama3.2", "created_at": "2025-07-07T20:22:19.184789Z", "done": False, "message": {
        "role": "assistant", "content": "", "tool_calls": [{"id": f"call_{index}", "function": {
            "index": index, "name": "get_weather", "arguments": {"city": city}}}]}}
        for index, city in enumerate(("Tokyo", "Paris"))])
    uses = [chunk["tool_use"] for chunk in chunks(OLLAMA, stream)]
    assert [(use["index"], use["id"], use["function"]["arguments"]) for use in uses] == [
        (0, "call_0", '{"city":"Tokyo"}'), (1, "call_1", '{"city":"Paris"}')]


def test_ollama_errors_give_their_message_and_a_mid_stream_error_line_ends_the_stream():
    assert error_message(OLLAMA.response, {"error": "model 'llama9' not found"}) == "model 'llama9' not found"
    stream = ndjson({"model": "gemma4", "created_at": "2025-10-26T17:21:21.196249Z",
                     "message": {"role": "assistant", "content": " Yes"}, "done": False},
                    {"error": "an error was encountered while running the model"})
    first, failing = events(OLLAMA, stream)
    assert stream_chunks(OLLAMA.stream.fields, first)[0]["text"] == " Yes"
    with pytest.raises(AdapterError, match="an error was encountered while running the model") as caught:
        stream_chunks(OLLAMA.stream.fields, failing)
    assert caught.value.status_code == 502


# --- TGI: POST /generate and /generate_stream ---------------------------------------------------------------------

CHAT = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is Deep Learning?"},
        {"role": "assistant", "content": "A kind of ML."}, {"role": "user", "content": "Say more."}]


def test_tgi_body_is_a_zephyr_prompt_with_generate_parameters():
    body = request_body(TGI, document(CHAT, max_tokens=20, stop=["\n\n"], seed=42, temperature=0.5, top_p=0.9))
    assert body == {
        "inputs": "<|system|>\nYou are terse.</s>\n<|user|>\nWhat is Deep Learning?</s>\n"
                  "<|assistant|>\nA kind of ML.</s>\n<|user|>\nSay more.</s>\n<|assistant|>\n",
        "parameters": {"max_new_tokens": 20, "stop": ["\n\n"], "seed": 42, "temperature": 0.5, "top_p": 0.9,
                       "return_full_text": False, "details": True, "decoder_input_details": True}}
    assert (TGI.url, TGI.stream.url) == ("http://127.0.0.1:8080/generate", "http://127.0.0.1:8080/generate_stream")
    streamed = stream_body(TGI, body)
    assert streamed["inputs"] == body["inputs"] and streamed["parameters"]["decoder_input_details"] is False
    assert {k: v for k, v in streamed["parameters"].items() if k != "decoder_input_details"} == {
        k: v for k, v in body["parameters"].items() if k != "decoder_input_details"}


def test_tgi_body_leaves_out_the_values_tgi_refuses_but_means_by_default():
    # validation.rs: temperature must be > 0 and top_p < 1; unset they are greedy decoding and 1.0.
    parameters = request_body(TGI, document(CHAT[1:2], temperature=0, top_p=1))["parameters"]
    assert "temperature" not in parameters and "top_p" not in parameters
    assert request_body(TGI, document(CHAT[1:2]))["inputs"] == "<|user|>\nWhat is Deep Learning?</s>\n<|assistant|>\n"


def test_tgi_structured_output_becomes_a_json_grammar():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    found = request_body(TGI, document(CHAT[1:2], response_format={
        "type": "json_schema", "json_schema": {"name": "x", "schema": schema}}))["parameters"]["grammar"]
    assert found == {"type": "json", "value": schema}
    found = request_body(TGI, document(CHAT[1:2], response_format={"type": "json_object"}))["parameters"]["grammar"]
    assert found == {"type": "json", "value": {"type": "object"}}


def tgi_answer(finish_reason: str) -> dict:
    """/generate's answer, a GenerateResponse (with decoder_input_details)."""
    return {"generated_text": " Deep learning is a subset",
             "details": {"finish_reason": finish_reason, "generated_tokens": 5, "seed": None,
                         "prefill": [{"id": 1, "text": "<s>", "logprob": None},
                                     {"id": 1724, "text": "What", "logprob": -7.6}],
                         "tokens": [{"id": 13, "text": " Deep", "logprob": -0.2, "special": False}]}}


@pytest.mark.parametrize("raw, finish", [("length", "length"), ("eos_token", "stop"), ("stop_sequence", "stop")])
def test_a_tgi_answer_maps_with_its_finish_reason_and_token_counts(raw, finish):
    result = completion(TGI, tgi_answer(raw), "tgi", 1)
    assert result["choices"][0]["message"]["content"] == " Deep learning is a subset"
    assert result["choices"][0]["finish_reason"] == finish
    assert result["usage"] == {"prompt_tokens": 2, "completion_tokens": 5, "total_tokens": 7}


def test_a_tgi_answer_without_prefill_leaves_usage_to_litellm():
    answer = tgi_answer("length")
    answer["details"]["prefill"] = []
    assert completion(TGI, answer, "tgi", 1)["usage"] is None


def test_the_documented_tgi_sse_stream_maps_to_text_chunks_and_usage():
    # The event shape of docs/source/basic_tutorials/visual_language_models.md; `</s>` is special, not text.
    stream = "".join("data:" + json.dumps(event) + "\n\n" for event in [
        {"index": 1, "token": {"id": 851, "text": "This", "logprob": -0.1, "special": False},
         "generated_text": None, "details": None},
        {"index": 2, "token": {"id": 28723, "text": " rabbit.", "logprob": -0.6, "special": False},
         "generated_text": None, "details": None},
        {"index": 3, "token": {"id": 2, "text": "</s>", "logprob": -0.01, "special": True},
         "generated_text": "This rabbit.",
         "details": {"finish_reason": "eos_token", "generated_tokens": 3, "seed": None, "input_length": 11}}])
    found = chunks(TGI, stream)
    assert "".join(chunk["text"] for chunk in found) == "This rabbit."
    assert [chunk["is_finished"] for chunk in found] == [False, False, True]
    assert found[-1]["finish_reason"] == "stop"
    assert found[-1]["usage"] == {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}


def test_tgi_errors_give_their_message_in_an_answer_and_in_a_stream():
    body = {"error": "Input validation error: `temperature` must be strictly positive", "error_type": "validation"}
    assert error_message(TGI.response, body) == body["error"]
    [event] = events(TGI, "data:" + json.dumps({"error": "Request failed during generation: Server error: OOM",
                                                 "error_type": "generation"}) + "\n\n")
    with pytest.raises(AdapterError, match="Request failed during generation") as caught:
        stream_chunks(TGI.stream.fields, event)
    assert caught.value.status_code == 502



def test_ollama_gets_data_url_images_as_bare_base64():
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    body = request_body(OLLAMA, document([{"role": "user", "content": [{"type": "text", "text": "what?"}, image]}],
                                         "llava"))
    assert body["messages"] == [{"role": "user", "content": "what?", "images": ["iVBORw0KGgo="]}]
