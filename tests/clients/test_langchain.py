"""LangChain (langchain-openai's ChatOpenAI and OpenAIEmbeddings) against the real stack."""

import asyncio
import datetime
import json
from typing import Literal, Optional

import httpx
import jsonschema
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI, OpenAI, OpenAIEmbeddings
from pydantic import BaseModel, Field

from .conftest import (CHAT_MODEL, EMBEDDING_MODEL, PACED, WEATHER_MINIMAL_ARGS, WEATHER_PARAMETERS, WEATHER_RESULT,
                       assert_close, norm)


class Person(BaseModel):
    """A person."""

    name: str
    age: int = Field(ge=1)
    tags: list[str]


@tool
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"]) -> str:
    """Current weather in a city."""
    return WEATHER_RESULT


@tool
def get_time(tz: str) -> str:
    """Current time in a time zone."""
    return "12:00"


WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
                                                 "parameters": WEATHER_PARAMETERS}}
TOOLS = {"get_weather": get_weather, "get_time": get_time}


@pytest.fixture
def llm(base_url, api_key) -> ChatOpenAI:
    return ChatOpenAI(model=CHAT_MODEL, base_url=base_url, api_key=api_key, max_retries=0, timeout=30)


def merged(chunks):
    """Add up streamed AIMessageChunks the way LangChain's users do."""
    total = None
    for chunk in chunks:
        total = chunk if total is None else total + chunk
    return total


# ---------------------------------------------------------------- chat and streaming


def test_invoke(llm):
    reply = llm.invoke([SystemMessage("Be brief."), HumanMessage("Hello")])
    assert reply.content == "Mock answer from my-custom-model: Hello"
    assert reply.response_metadata["finish_reason"] == "stop"
    assert reply.response_metadata["model_name"] == CHAT_MODEL
    assert reply.usage_metadata["input_tokens"] > 0 and reply.usage_metadata["output_tokens"] > 0


def test_invoke_with_the_parameters_langchain_users_set(base_url, api_key):
    llm = ChatOpenAI(model=CHAT_MODEL, base_url=base_url, api_key=api_key, max_retries=0, timeout=30,
                     temperature=0.2, top_p=0.9, max_tokens=256, presence_penalty=0, frequency_penalty=0, seed=7,
                     stop=["###"])
    assert llm.invoke("Hi").content == "Mock answer from my-custom-model: Hi"


def test_stream(llm):
    chunks = list(llm.stream("Stream this, please." + PACED))
    assert len([c for c in chunks if c.content]) >= 2, [c.content for c in chunks]
    total = merged(chunks)
    assert total.content == "Mock answer from my-custom-model: Stream this, please." + PACED
    assert total.response_metadata.get("finish_reason") == "stop"


def test_stream_usage(base_url, api_key):
    llm = ChatOpenAI(model=CHAT_MODEL, base_url=base_url, api_key=api_key, max_retries=0, timeout=30,
                     stream_usage=True)
    total = merged(llm.stream("Count me"))
    assert total.usage_metadata and total.usage_metadata["output_tokens"] > 0


def test_ainvoke_and_astream(llm):
    async def run():
        reply = await llm.ainvoke("Async hello")
        pieces = [chunk.content async for chunk in llm.astream("Async stream")]
        return reply.content, "".join(pieces)

    assert asyncio.run(run()) == ("Mock answer from my-custom-model: Async hello",
                                  "Mock answer from my-custom-model: Async stream")


def test_batch_answers_each_prompt(llm):
    replies = llm.batch(["one", "two", "three"])
    assert [r.content for r in replies] == [f"Mock answer from my-custom-model: {w}" for w in ("one", "two", "three")]


# ---------------------------------------------------------------- tools


def test_bind_tools_full_round_trip(llm):
    bound = llm.bind_tools([get_weather])
    messages = [SystemMessage("Use tools."), HumanMessage("Weather in Paris? [mock:tool=get_weather]")]
    first = bound.invoke(messages)
    assert first.response_metadata["finish_reason"] == "tool_calls"
    [call] = first.tool_calls
    assert call["name"] == "get_weather" and call["id"].startswith("call_")
    assert call["args"] == WEATHER_MINIMAL_ARGS
    result = get_weather.invoke(call)  # a ToolCall in, a ToolMessage out (with the call's id)
    assert isinstance(result, ToolMessage) and result.tool_call_id == call["id"]
    final = bound.invoke(messages + [first, result])
    assert not final.tool_calls
    assert final.content == f"Mock answer from my-custom-model: the tool returned {WEATHER_RESULT}"


def test_agent_loop_with_parallel_calls(llm):
    """Call tools until the model answers: the way an agent drives a model (bounded)."""
    bound = llm.bind_tools(list(TOOLS.values()))
    messages = [HumanMessage("Weather and time? [mock:tool=get_weather,get_time]")]
    rounds = 0
    while True:
        reply = bound.invoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            break
        rounds += 1
        assert rounds <= 3, "the model keeps calling tools"
        assert len({c["id"] for c in reply.tool_calls}) == len(reply.tool_calls), "parallel calls share an id"
        messages += [TOOLS[call["name"]].invoke(call) for call in reply.tool_calls]
    assert rounds == 1
    assert [c["name"] for c in messages[1].tool_calls] == ["get_weather", "get_time"]
    assert messages[-1].content == f"Mock answer from my-custom-model: the tool returned {WEATHER_RESULT}; 12:00"


def test_parallel_tool_calls_false_gives_one_call(llm):
    prompt = "Both [mock:tool=get_weather,get_time]"
    assert [c["name"] for c in llm.bind_tools([get_weather, get_time]).invoke(prompt).tool_calls] == \
        ["get_weather", "get_time"]
    single = llm.bind_tools([get_weather, get_time], parallel_tool_calls=False).invoke(prompt)
    assert [c["name"] for c in single.tool_calls] == ["get_weather"]


def test_tool_choice_named_and_any(llm):
    named = llm.bind_tools([get_weather, get_time], tool_choice="get_time").invoke("Hello")
    assert [(c["name"], c["args"]) for c in named.tool_calls] == [("get_time", {"tz": "string"})]
    # LangChain's "any" is OpenAI's "required": the mock then calls the first tool.
    required = llm.bind_tools([get_weather, get_time], tool_choice="any").invoke("Hello")
    assert [c["name"] for c in required.tool_calls] == ["get_weather"]
    auto = llm.bind_tools([get_weather, get_time]).invoke("Hello")
    assert auto.tool_calls == [] and auto.content == "Mock answer from my-custom-model: Hello"


def test_tool_given_as_an_openai_dict_with_explicit_arguments(llm):
    args = {"city": "Oslo", "unit": "fahrenheit"}
    reply = llm.bind_tools([WEATHER_TOOL]).invoke(f"[mock:tool=get_weather] [mock:args={json.dumps(args)}]")
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("get_weather", args)]


def test_streamed_tool_calls_reassemble_to_the_non_streamed_ones(llm):
    bound = llm.bind_tools([get_weather, get_time])
    prompt = "Both [mock:tool=get_weather,get_time]" + PACED
    whole = bound.invoke(prompt)
    chunks = list(bound.stream(prompt))
    fragments = [c for chunk in chunks for c in chunk.tool_call_chunks]
    for index in (0, 1):
        mine = [f for f in fragments if f["index"] == index]
        assert len([f for f in mine if f["args"]]) >= 2, f"call {index} arguments came whole: {mine}"
        assert mine[0]["id"] and mine[0]["name"], "the first fragment of a call carries its id and name"
    total = merged(chunks)
    assert total.response_metadata.get("finish_reason") == "tool_calls"
    assert [(c["id"], c["name"], c["args"]) for c in total.tool_calls] == \
        [(c["id"], c["name"], c["args"]) for c in whole.tool_calls]
    assert len({c["id"] for c in total.tool_calls}) == 2


def test_streamed_round_trip(llm):
    bound = llm.bind_tools([get_weather])
    messages = [HumanMessage("Weather? [mock:tool=get_weather]")]
    first = merged(bound.stream(messages))
    assert [c["args"] for c in first.tool_calls] == [WEATHER_MINIMAL_ARGS]
    ai = AIMessage(content=first.content, tool_calls=first.tool_calls)
    messages += [ai, get_weather.invoke(first.tool_calls[0])]
    final = merged(bound.stream(messages))
    assert final.content == f"Mock answer from my-custom-model: the tool returned {WEATHER_RESULT}"


# ---------------------------------------------------------------- structured output


def test_with_structured_output_default_method_is_json_schema(llm):
    structured = llm.with_structured_output(Person, include_raw=True)
    out = structured.invoke("Describe a person")
    assert out["parsing_error"] is None
    # json_schema: the mock answers the minimal instance of Person's schema.
    assert out["parsed"] == Person(name="string", age=1, tags=[])
    assert json.loads(out["raw"].content) == {"name": "string", "age": 1, "tags": []}


def test_with_structured_output_json_schema_keeps_a_given_document(llm):
    doc = {"name": "Ada", "age": 36, "tags": ["math"]}
    assert llm.with_structured_output(Person).invoke(f"Describe Ada [mock:json={json.dumps(doc)}]") == Person(**doc)


def test_with_structured_output_json_mode(llm):
    doc = {"name": "Ada", "age": 36, "tags": ["math", "engines"]}
    out = llm.with_structured_output(Person, method="json_mode").invoke(
        f"Describe Ada as JSON [mock:json={json.dumps(doc)}]")
    assert out == Person(**doc)


def test_json_mode_without_a_directive_is_the_default_answer_document(llm):
    out = llm.with_structured_output(None, method="json_mode").invoke("Answer in JSON")
    assert out == {"answer": "Mock answer from my-custom-model: Answer in JSON"}


def test_with_structured_output_function_calling(llm):
    structured = llm.with_structured_output(Person, method="function_calling", include_raw=True)
    out = structured.invoke("Describe a person")
    assert out["parsing_error"] is None and out["parsed"] == Person(name="string", age=1, tags=[])
    [call] = out["raw"].tool_calls
    assert call["name"] == "Person"
    doc = {"name": "Grace", "age": 85, "tags": ["cobol"]}
    given = llm.with_structured_output(Person, method="function_calling").invoke(f"x [mock:args={json.dumps(doc)}]")
    assert given == Person(**doc)


class Address(BaseModel):
    street: str
    city: Literal["Paris", "Oslo"]


class Order(BaseModel):
    """Nested models ($defs/$ref), a date, a bounded int, a non-empty list and an optional field."""

    id: int = Field(gt=0)
    when: datetime.date
    ship_to: Address
    items: list[Address] = Field(min_length=1)
    note: Optional[str] = None
    status: Literal["open", "closed"]


def test_nested_models_in_every_method(llm):
    paris = Address(street="string", city="Paris")
    expected = Order(id=1, when=datetime.date(2026, 1, 1), ship_to=paris, items=[paris], note=None, status="open")
    # function_calling leaves the optional field out (not required); json_schema is strict, where LangChain
    # makes every field required and the optional one string-or-null: the mock picks the string.
    assert llm.with_structured_output(Order, method="function_calling").invoke("An order") == expected
    assert llm.with_structured_output(Order).invoke("An order") == expected.model_copy(update={"note": "string"})


def test_with_structured_output_dict_schema(llm):
    schema = {"title": "Trip", "description": "A trip", "type": "object", "additionalProperties": False,
              "properties": {"city": {"type": "string", "enum": ["Paris", "Oslo"]},
                             "when": {"type": "string", "format": "date"},
                             "nights": {"type": "integer", "minimum": 2}},
              "required": ["city", "when", "nights"]}
    out = llm.with_structured_output(schema, strict=True).invoke("Plan a trip")
    jsonschema.validate(out, schema)
    assert out == {"city": "Paris", "when": "2026-01-01", "nights": 2}


# ---------------------------------------------------------------- embeddings


def test_openai_embeddings_defaults_send_token_ids_and_match_the_sdk(base_url, api_key, reference_vectors):
    # Defaults: check_embedding_ctx_length=True, so LangChain tokenizes with tiktoken (cl100k_base, from
    # LiteLLM's bundled copy: see conftest) and sends token ids, not text.
    sent = []
    recorder = httpx.Client(event_hooks={"request": [lambda request: sent.append(json.loads(request.content))]})
    embeddings = OpenAIEmbeddings(model=EMBEDDING_MODEL, base_url=base_url, api_key=api_key, max_retries=0,
                                  http_client=recorder)
    texts = list(reference_vectors)
    vectors = embeddings.embed_documents(texts)
    [body] = sent
    assert all(isinstance(item, list) and all(isinstance(t, int) for t in item) for item in body["input"]), \
        f"LangChain sent text, not token ids: {body['input']}"
    assert len(vectors) == len(texts)
    for text, vector in zip(texts, vectors):
        assert norm(vector) == pytest.approx(1.0, abs=1e-6)
        assert_close(vector, reference_vectors[text])
    assert_close(embeddings.embed_query("alpha"), reference_vectors["alpha"])


def test_openai_embeddings_text_input_and_dimensions(base_url, api_key, reference_vectors):
    plain = OpenAIEmbeddings(model=EMBEDDING_MODEL, base_url=base_url, api_key=api_key, max_retries=0,
                             check_embedding_ctx_length=False)
    assert_close(plain.embed_query("hello world"), reference_vectors["hello world"])
    small = OpenAIEmbeddings(model=EMBEDDING_MODEL, base_url=base_url, api_key=api_key, max_retries=0, dimensions=64)
    vector = small.embed_query("alpha")
    assert len(vector) == 64 and norm(vector) == pytest.approx(1.0, abs=1e-6)


def test_openai_embeddings_async(base_url, api_key, reference_vectors):
    embeddings = OpenAIEmbeddings(model=EMBEDDING_MODEL, base_url=base_url, api_key=api_key, max_retries=0)
    [vector] = asyncio.run(embeddings.aembed_documents(["beta"]))
    assert_close(vector, reference_vectors["beta"])


# ---------------------------------------------------------------- errors


def test_unknown_model_error_names_the_model(base_url, api_key):
    llm = ChatOpenAI(model="no-such-model-xyz", base_url=base_url, api_key=api_key, max_retries=0, timeout=30)
    with pytest.raises(openai.BadRequestError) as caught:
        llm.invoke("x")
    assert "no-such-model-xyz" in caught.value.body["message"]
    assert caught.value.body["param"] == "model"


def test_streaming_error_names_the_model(base_url, api_key):
    llm = ChatOpenAI(model="no-such-model-xyz", base_url=base_url, api_key=api_key, max_retries=0, timeout=30)
    with pytest.raises(openai.APIStatusError) as caught:
        list(llm.stream("x"))
    assert "no-such-model-xyz" in str(caught.value)


def test_embedding_model_refuses_chat_readably(base_url, api_key):
    llm = ChatOpenAI(model=EMBEDDING_MODEL, base_url=base_url, api_key=api_key, max_retries=0, timeout=30)
    with pytest.raises(openai.BadRequestError) as caught:
        llm.invoke("x")
    assert "embedding model" in caught.value.body["message"]


# ---------------------------------------------------------------- the Responses API and legacy completions


@pytest.fixture
def responses_llm(base_url, api_key) -> ChatOpenAI:
    return ChatOpenAI(model=CHAT_MODEL, base_url=base_url, api_key=api_key, max_retries=0, timeout=30,
                      use_responses_api=True)


def test_responses_api_invoke_and_stream(responses_llm):
    assert responses_llm.invoke("Hello").text == "Mock answer from my-custom-model: Hello"
    chunks = list(responses_llm.stream("Stream this" + PACED))
    assert len([c for c in chunks if c.text]) >= 2
    assert merged(chunks).text == "Mock answer from my-custom-model: Stream this" + PACED


def test_responses_api_tool_round_trip(responses_llm):
    bound = responses_llm.bind_tools([get_weather])
    messages = [HumanMessage("Weather? [mock:tool=get_weather]")]
    first = bound.invoke(messages)
    assert [(c["name"], c["args"]) for c in first.tool_calls] == [("get_weather", WEATHER_MINIMAL_ARGS)]
    streamed = merged(bound.stream(messages))
    assert [(c["id"], c["args"]) for c in streamed.tool_calls] == [(c["id"], c["args"]) for c in first.tool_calls]
    final = bound.invoke(messages + [first, get_weather.invoke(first.tool_calls[0])])
    assert final.text == f"Mock answer from my-custom-model: the tool returned {WEATHER_RESULT}"


def test_responses_api_structured_output(responses_llm):
    assert responses_llm.with_structured_output(Person).invoke("Describe a person") == \
        Person(name="string", age=1, tags=[])


def test_responses_api_previous_response_id_is_refused_clearly(base_url, api_key):
    llm = ChatOpenAI(model=CHAT_MODEL, base_url=base_url, api_key=api_key, max_retries=0, timeout=30,
                     use_responses_api=True, use_previous_response_id=True)
    first = llm.invoke("first")
    with pytest.raises(openai.BadRequestError) as caught:
        llm.invoke([HumanMessage("first"), first, HumanMessage("second")])
    assert caught.value.body["param"] == "previous_response_id"


def test_legacy_completions_llm(base_url, api_key):
    llm = OpenAI(model=CHAT_MODEL, base_url=base_url, api_key=api_key, max_retries=0, timeout=30)
    assert llm.invoke("Hello") == "Mock answer from my-custom-model: Hello"
    pieces = list(llm.stream("Stream me" + PACED))
    assert len([p for p in pieces if p]) >= 2
    assert "".join(pieces) == "Mock answer from my-custom-model: Stream me" + PACED


def test_legacy_completions_batch_of_prompts_is_refused_naming_the_param(base_url, api_key):
    # LangChain's OpenAI LLM sends several prompts in one request; the proxy refuses that with a clear 400
    # rather than answering only the first (CONFIGURATION_GUIDE.md, legacy completions).
    llm = OpenAI(model=CHAT_MODEL, base_url=base_url, api_key=api_key, max_retries=0, timeout=30)
    with pytest.raises(openai.BadRequestError) as caught:
        llm.generate(["one", "two"])
    assert caught.value.body["param"] == "prompt" and "prompt" in caught.value.body["message"]


def test_mid_stream_failure_reaches_the_caller_with_its_reason(llm):
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in llm.stream("Tell me more [mock:fail_after=2]"):
            received.append(chunk.content)
    assert "fail_after" in str(caught.value)
    assert "".join(received).startswith("Mock ")  # the pieces before the failure did arrive


def test_backend_rate_limit_is_a_rate_limit_error(llm):
    with pytest.raises(openai.RateLimitError) as caught:
        llm.invoke("x [mock:status=429]")
    assert caught.value.body["type"] == "rate_limit_error" and "rate-limiting" in caught.value.body["message"]


# ---------------------------------------------------------------- the LaaS models


def test_laas_model_chat_and_stream(base_url, api_key):
    llm = ChatOpenAI(model="claude-3.5-sonnet", base_url=base_url, api_key=api_key, max_retries=0, timeout=30,
                     temperature=0.2, seed=7, presence_penalty=0)
    assert llm.invoke("Hello").content == "Mock answer from laas-preset: Hello"
    assert "".join(c.content for c in llm.stream("Stream")) == "Mock answer from laas-preset: Stream"


def test_laas_model_tool_round_trip_through_emulation(base_url, api_key):
    # LaaS has no tool calling; the shipped claude-* models emulate it in the prompt (config.yaml).
    llm = ChatOpenAI(model="claude-3.5-sonnet", base_url=base_url, api_key=api_key, max_retries=0, timeout=30)
    bound = llm.bind_tools([get_weather])
    messages = [HumanMessage("Weather in Paris? [mock:tool=get_weather]")]
    first = bound.invoke(messages)
    [call] = first.tool_calls
    assert call["name"] == "get_weather" and call["args"] == WEATHER_MINIMAL_ARGS
    final = bound.invoke(messages + [first, get_weather.invoke(call)])
    assert not final.tool_calls
    assert final.content == f"Mock answer from laas-preset: the tool returned {WEATHER_RESULT}"


def test_token_id_embeddings_of_non_ascii_text_equal_the_texts(stack, base_url, api_key):
    # Emoji and accented letters span several tokens per character: the proxy must decode the whole id list
    # at once (not token by token) to get the text back.
    texts = ["héllo 世界 🙂 naïve café", "Ελληνικά и русский текст", "family 👩‍👩‍👧‍👦"]
    reference = stack.client().embeddings.create(model=EMBEDDING_MODEL, input=texts, encoding_format="float")
    vectors = OpenAIEmbeddings(model=EMBEDDING_MODEL, base_url=base_url, api_key=api_key,
                               max_retries=0).embed_documents(texts)
    for item, vector in zip(reference.data, vectors):
        assert_close(vector, item.embedding)
    assert vectors[0] != vectors[1]
