"""The example mappings end to end: Ollama and TGI stand-ins (real processes speaking the documented protocols),
the real proxy with src/backends/ollama.yaml and tgi.yaml, and the openai SDK."""

import json
import os
import sys

import openai
import pytest
from huggingface_hub import InferenceClient
from huggingface_hub.errors import GenerationError, ValidationError

from tests.fake_servers import pieces

from ..conftest import ROOT, extra_proxy, free_ports, start, wait_healthy

CHAT = {"mode": "chat"}
MODELS = [
    {"model_name": "ollama-llama", "litellm_params": {"model": "mapped/ollama/llama3.2:1b"}, "model_info": CHAT},
    {"model_name": "ollama-unpulled", "litellm_params": {"model": "mapped/ollama/llama9:70b"}, "model_info": CHAT},
    {"model_name": "tgi-zephyr", "litellm_params": {"model": "mapped/tgi"}, "model_info": CHAT},
]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the weather in a given city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
QUESTION = "Why is the sky blue over the sea?"


@pytest.fixture(scope="module")
def backends(tmp_path_factory):
    """The two stand-in servers on free ports; yields (tmp dir, {VARIABLE: base URL})."""
    tmp = tmp_path_factory.mktemp("mapped_examples")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ports = dict(zip(("ollama_server", "tgi_server"), free_ports(2)))
    services = []
    try:
        for module, health in (("ollama_server", "/"), ("tgi_server", "/health")):
            url = f"http://127.0.0.1:{ports[module]}"
            command = [sys.executable, "-m", f"tests.fake_servers.{module}", "--port", str(ports[module])]
            services.append(start(module, command, env, tmp / "logs"))
            wait_healthy(services[-1], url + health)
        yield tmp, {"OLLAMA_API_BASE": f"http://127.0.0.1:{ports['ollama_server']}",
                    "TGI_API_BASE": f"http://127.0.0.1:{ports['tgi_server']}"}
    finally:
        for service in services:
            service.stop()


@pytest.fixture(scope="module")
def client(backends) -> openai.OpenAI:
    tmp, urls = backends
    with extra_proxy(tmp / "proxy", models=MODELS, **urls) as proxy_client:
        yield proxy_client


def collect(stream) -> tuple[list[str], list[str], list, dict]:
    """(non-empty text pieces, finish reasons, usage objects, tool calls by index) of a stream."""
    texts, finishes, usages, calls = [], [], [], {}
    for chunk in stream:
        if chunk.usage is not None:
            usages.append(chunk.usage)
        for choice in chunk.choices:
            if choice.delta.content:
                texts.append(choice.delta.content)
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": None, "name": "", "arguments": ""})
                call["id"] = delta.id or call["id"]
                call["name"] += delta.function.name or ""
                call["arguments"] += delta.function.arguments or ""
    return texts, finishes, usages, calls


def user(text: str, system: str | None = None) -> list[dict]:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]


# --- Ollama --------------------------------------------------------------------------------------------------

def ollama_prompt_tokens(messages: list[dict]) -> int:
    """The stand-in's prompt_eval_count: a token per word and one per message (LiteLLM would count otherwise)."""
    return sum(len(pieces(message["content"])) + 1 for message in messages)


def test_ollama_chat_answers_with_the_backends_finish_reason_and_token_counts(client):
    messages = user(QUESTION, system="Be brief.")
    answer = client.chat.completions.create(model="ollama-llama", messages=messages, temperature=0.2, seed=7)
    assert answer.choices[0].message.content == QUESTION
    assert answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (ollama_prompt_tokens(messages), 8)


def test_ollama_max_tokens_is_num_predict_and_ends_with_length(client):
    answer = client.chat.completions.create(model="ollama-llama", messages=user(QUESTION), max_tokens=3)
    assert answer.choices[0].message.content == "Why is the"
    assert answer.choices[0].finish_reason == "length" and answer.usage.completion_tokens == 3


def test_ollama_ndjson_stream_arrives_in_pieces_with_usage(client):
    messages = user(QUESTION, system="Be brief.")
    texts, finishes, usages, _ = collect(client.chat.completions.create(
        model="ollama-llama", messages=messages, stream=True, stream_options={"include_usage": True}))
    assert "".join(texts) == QUESTION and len(texts) > 3
    assert finishes == ["stop"]
    assert [(u.prompt_tokens, u.completion_tokens) for u in usages] == [(ollama_prompt_tokens(messages), 8)]


def test_ollama_json_mode_sends_format_json(client):
    answer = client.chat.completions.create(model="ollama-llama", messages=user("hello there"),
                                            response_format={"type": "json_object"})
    assert json.loads(answer.choices[0].message.content) == {"echo": "hello there"}


def test_ollama_tool_call_comes_back_openai_shaped_and_its_result_goes_back(client):
    messages = user("Use get_weather for Paris")
    answer = client.chat.completions.create(model="ollama-llama", messages=messages, tools=[WEATHER])
    [call] = answer.choices[0].message.tool_calls
    assert call.type == "function" and call.id and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert answer.choices[0].finish_reason == "tool_calls"
    follow_up = messages + [answer.choices[0].message.model_dump(exclude_none=True),
                            {"role": "tool", "tool_call_id": call.id, "content": "11 degrees celsius"}]
    final = client.chat.completions.create(model="ollama-llama", messages=follow_up, tools=[WEATHER])
    assert final.choices[0].message.content == "The tool said: 11 degrees celsius"


def test_ollama_streamed_tool_call_is_reassembled_by_the_sdk(client):
    _, finishes, _, calls = collect(client.chat.completions.create(
        model="ollama-llama", messages=user("Use get_weather for Tokyo"), tools=[WEATHER], stream=True))
    assert list(calls) == [0] and calls[0]["name"] == "get_weather" and calls[0]["id"]
    assert json.loads(calls[0]["arguments"]) == {"city": "Tokyo"}
    assert finishes == ["tool_calls"]


def test_ollama_model_not_pulled_is_a_502_naming_the_backend(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="ollama-unpulled", messages=user("hi"))
    assert caught.value.status_code == 502
    assert "model 'llama9:70b' not found" in caught.value.message and "ollama backend" in caught.value.message


@pytest.mark.parametrize("model, marker, status, words", [
    ("ollama-llama", "[fail:500]", 502, "the model failed to generate a response"),
    ("ollama-llama", "[fail:429]", 429, "too many requests"),
    ("ollama-llama", "[fail:400]", 400, "invalid request"),
    ("tgi-zephyr", "[fail:500]", 502, "Incomplete generation"),
    ("tgi-zephyr", "[fail:424]", 502, "Request failed during generation"),  # the backend's failure, not the client's
    ("tgi-zephyr", "[fail:429]", 429, "Model is overloaded"),
])
def test_error_statuses_map_like_the_business_apis(client, model, marker, status, words):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=model, messages=user(f"hi {marker}"))
    assert caught.value.status_code == status and words in caught.value.message


@pytest.mark.parametrize("model, words", [("ollama-llama", "an error was encountered while running the model"),
                                          ("tgi-zephyr", "Request failed during generation")])
def test_an_error_mid_stream_ends_the_stream_with_its_message(client, model, words):
    stream = client.chat.completions.create(model=model, messages=user("one two three [fail:stream]"), stream=True)
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received += [choice.delta.content or "" for choice in chunk.choices]
    assert "".join(received) == "one two"
    assert words in str(caught.value.message)


def test_ollama_refuses_a_parameter_its_file_does_not_read(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="ollama-llama", messages=user("hi"), logit_bias={"50256": -100})
    assert caught.value.param == "logit_bias" and "not supported by the ollama backend" in caught.value.message


def test_ollama_takes_a_data_url_image_and_refuses_a_url_image_rather_than_drop_it(client):
    def ask(url: str):
        image = {"type": "image_url", "image_url": {"url": url}}
        return client.chat.completions.create(model="ollama-llama", messages=[
            {"role": "user", "content": [{"type": "text", "text": "what is this?"}, image]}])

    # The stand-in decodes `images` as Ollama does (base64): the data: URL prefix must be gone.
    assert ask("data:image/png;base64,iVBORw0KGgo=").choices[0].message.content == "what is this?"
    with pytest.raises(openai.BadRequestError) as caught:
        ask("https://example.com/cat.png")
    assert caught.value.param == "messages[0].content[1]"
    assert "image (http(s) URL) part, but the ollama backend takes text and image (data: URL) parts" in \
        caught.value.message


# --- TGI -----------------------------------------------------------------------------------------------------

def zephyr(system: str, text: str) -> str:
    return f"<|system|>\n{system}</s>\n<|user|>\n{text}</s>\n<|assistant|>\n"


def test_tgi_chat_answers_with_its_finish_reason_and_token_counts(client):
    answer = client.chat.completions.create(model="tgi-zephyr", messages=user(QUESTION, system="Be brief."))
    assert answer.choices[0].message.content == QUESTION
    assert answer.choices[0].finish_reason == "stop"  # TGI's eos_token
    # completion: 8 words and the end-of-sequence token; prompt: details.prefill, the stand-in's token per word
    # of the prompt the file's chat template built.
    assert answer.usage.completion_tokens == 9
    assert answer.usage.prompt_tokens == len(pieces(zephyr("Be brief.", QUESTION)))


def test_tgi_max_tokens_and_stop_end_the_answer(client):
    answer = client.chat.completions.create(model="tgi-zephyr", messages=user(QUESTION), max_tokens=2)
    assert (answer.choices[0].message.content, answer.choices[0].finish_reason) == ("Why is", "length")
    answer = client.chat.completions.create(model="tgi-zephyr", messages=user(QUESTION), stop=["blue"])
    assert (answer.choices[0].message.content, answer.choices[0].finish_reason) == ("Why is the sky blue", "stop")


def test_tgi_sse_stream_arrives_in_pieces_with_usage(client):
    texts, finishes, usages, _ = collect(client.chat.completions.create(
        model="tgi-zephyr", messages=user(QUESTION, system="Be brief."), stream=True,
        stream_options={"include_usage": True}, temperature=0))
    assert "".join(texts) == QUESTION and len(texts) > 3
    assert finishes == ["stop"]
    assert [(u.prompt_tokens, u.completion_tokens) for u in usages] == [
        (len(pieces(zephyr("Be brief.", QUESTION))), 9)]


def test_tgi_validation_error_is_a_400_with_its_message(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="tgi-zephyr", messages=user("hi"), top_p=0)
    assert "`top_p` must be > 0.0 and < 1.0" in caught.value.message


def test_tgi_validation_error_in_a_stream_arrives_as_its_error_event(client):
    # TGI answers a stream's validation error with 200 and an error event: the client still gets its message.
    with pytest.raises(openai.APIError) as caught:
        collect(client.chat.completions.create(model="tgi-zephyr", messages=user("hi"), top_p=0, stream=True))
    assert "`top_p` must be > 0.0 and < 1.0" in str(caught.value.message)


@pytest.mark.parametrize("options, name", [({"presence_penalty": 0.5}, "presence_penalty"),
                                           ({"tools": [WEATHER]}, "tools")])
def test_tgi_refuses_what_its_file_does_not_read(client, options, name):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="tgi-zephyr", messages=user("hi"), **options)
    assert caught.value.param == name and "not supported by the tgi backend" in caught.value.message


# --- the TGI stand-in, read by Hugging Face's own client -------------------------------------------------------

def test_huggingface_client_reads_the_tgi_stand_in(backends):
    """huggingface_hub's InferenceClient (TGI's official Python client) posts to `/` as tgi.yaml does, and parses
    the stand-in's answers, stream events and errors into its own types."""
    hub = InferenceClient(model=backends[1]["TGI_API_BASE"], timeout=10)
    output = hub.text_generation(zephyr("Be brief.", "a b c"), details=True, decoder_input_details=True,
                                 return_full_text=False, max_new_tokens=2)
    assert output.generated_text == "a b" and output.details.finish_reason == "length"
    assert len(output.details.prefill) == len(pieces(zephyr("Be brief.", "a b c")))
    events = list(hub.text_generation("a b c", stream=True, details=True))
    assert [event.token.text for event in events] == ["a", " b", " c", "</s>"] and events[-1].token.special
    assert events[-1].details.finish_reason == "eos_token" and events[-1].details.input_length == 3
    with pytest.raises(ValidationError, match="strictly positive"):
        hub.text_generation("a", temperature=0.0)
    with pytest.raises(GenerationError, match="Request failed during generation"):
        list(hub.text_generation("a b c [fail:stream]", stream=True))
