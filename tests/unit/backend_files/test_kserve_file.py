"""src/backends/kserve.yaml through the real loader: the V2 `inputs` it builds, and KServe's answers and errors read."""

from pathlib import Path

import pytest

from adapter.upstream.errors import AdapterError
from adapter.mapping.apply import completion, error_message, request_body
from adapter.mapping.document import chat_document
from adapter.mapping.load import MappingError, load_file

FILE = Path(__file__).resolve().parents[3] / "src" / "backends" / "kserve.yaml"
VARIABLES = {"KSERVE_API_BASE": "http://127.0.0.1:8080", "KSERVE_MODEL": "echo"}

# Bodies as KServe 0.21's ModelServer answered them (tests/fake_servers/kserve_echo.py, captured with curl).
ANSWER = {"model_name": "echo", "model_version": None, "id": "4f1c", "parameters": None,
          "outputs": [{"name": "text_output", "shape": [1], "datatype": "BYTES", "parameters": None,
                       "data": ["user: Hi\nassistant:"]}]}
ERROR = {"error": "bad prompt"}  # InvalidInput → 400, InferenceError → 500, unknown model → 404
VALIDATION_ERROR = {"detail": [{"type": "missing", "loc": ["body", "InferenceRequest", "inputs"],
                                "msg": "Field required"}]}  # FastAPI's 422 for a body that is not a V2 request


@pytest.fixture(scope="module")
def mapping():
    return load_file(FILE, VARIABLES)


def body(mapping, messages, **params):
    return request_body(mapping, chat_document("kserve-echo", None, messages, params, stream=False))


def prompt_of(sent: dict) -> str:
    (tensor,) = sent["inputs"]
    assert {k: v for k, v in tensor.items() if k != "data"} == {"name": "text_input", "shape": [1],
                                                                  "datatype": "BYTES"}
    (text,) = tensor["data"]
    return text


def test_the_file_loads_with_the_model_in_the_url_and_no_stream_or_embeddings(mapping):
    assert mapping.name == "kserve"
    assert mapping.url == "http://127.0.0.1:8080/v2/models/echo/infer"
    assert mapping.stream is None and mapping.embeddings is None
    assert mapping.headers == {} and mapping.timeout is None


def test_an_unset_model_variable_stops_the_load_naming_the_url():
    with pytest.raises(MappingError, match=r"kserve\.yaml: url: \$\{KSERVE_MODEL\} is not set"):
        load_file(FILE, {"KSERVE_API_BASE": "http://127.0.0.1:8080"})


def test_the_whole_conversation_becomes_one_text_prompt(mapping):
    sent = body(mapping, [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "assistant", "content": None, "tool_calls": []},  # no text: left out
        {"role": "system", "content": [{"type": "text", "text": "Answer in English."}]},
        {"role": "user", "content": [{"type": "text", "text": "How"}, {"type": "text", "text": "are you?"}]},
    ], temperature=0.2, max_tokens=30, top_p=0.9)
    assert prompt_of(sent) == ("system: Be brief.\n\nAnswer in English.\nuser: Hi\nassistant: Hello!\n"
                               "user: How\nare you?\nassistant:")
    assert sent["parameters"] == {"temperature": 0.2, "top_p": 0.9, "max_tokens": 30}


def test_a_single_question_without_parameters(mapping):
    sent = body(mapping, [{"role": "user", "content": "Hi"}])
    assert sent == {"parameters": {}, "inputs": [{"name": "text_input", "shape": [1], "datatype": "BYTES",
                                                   "data": ["user: Hi\nassistant:"]}]}


def test_a_conversation_ending_with_a_tool_result_has_no_user_line(mapping):
    sent = body(mapping, [{"role": "user", "content": "Weather?"},
                          {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}])
    assert prompt_of(sent) == "user: Weather?\ntool: sunny\nassistant:"


def test_kserves_answer_maps_to_a_completion_without_usage(mapping):
    result = completion(mapping, ANSWER, "kserve-echo", 1700000000)
    assert result["choices"] == [{"index": 0, "message": {"role": "assistant", "content": "user: Hi\nassistant:"},
                                  "finish_reason": "stop"}]
    assert result["usage"] is None  # V2 reports none: LiteLLM counts the tokens
    assert result["model"] == "kserve-echo" and result["object"] == "chat.completion"


def test_text_output_is_found_among_other_outputs(mapping):
    answer = {**ANSWER, "outputs": [{"name": "num_tokens", "shape": [1], "datatype": "INT32", "data": [3]},
                                    *ANSWER["outputs"]]}
    assert completion(mapping, answer, "m", 0)["choices"][0]["message"]["content"] == "user: Hi\nassistant:"


def test_an_answer_without_text_output_is_a_bad_answer(mapping):
    answer = {**ANSWER, "outputs": [{"name": "other", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}
    with pytest.raises(AdapterError) as raised:
        completion(mapping, answer, "m", 0)
    assert raised.value.status_code == 502
    assert "the kserve backend" in raised.value.message and "response.content" in raised.value.message


def test_kserves_error_body_gives_the_message_and_fastapis_gives_none(mapping):
    assert error_message(mapping.response, ERROR) == "bad prompt"
    assert error_message(mapping.response, VALIDATION_ERROR) is None  # the proxy then shows the body's text
