"""LlamaIndex (OpenAILike for chat, OpenAILikeEmbedding for embeddings) against the real stack."""

import asyncio
import json
from typing import Literal

import openai
import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.embeddings.openai_like import OpenAILikeEmbedding
from llama_index.llms.openai_like import OpenAILike
from pydantic import BaseModel, Field

from .conftest import CHAT_MODEL, EMBEDDING_MODEL, PACED, WEATHER_MINIMAL_ARGS, WEATHER_RESULT, assert_close, norm


class Person(BaseModel):
    """A person."""

    name: str
    age: int = Field(ge=1)
    tags: list[str]


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"]) -> str:
    """Current weather in a city."""
    return WEATHER_RESULT


def get_time(tz: str) -> str:
    """Current time in a time zone."""
    return "12:00"


WEATHER = FunctionTool.from_defaults(fn=get_weather)
TIME = FunctionTool.from_defaults(fn=get_time)
TOOLS = {"get_weather": WEATHER, "get_time": TIME}


def make_llm(base_url: str, api_key: str, model: str = CHAT_MODEL, **options) -> OpenAILike:
    return OpenAILike(model=model, api_base=base_url, api_key=api_key, is_chat_model=True,
                      is_function_calling_model=True, context_window=8192, max_retries=0, timeout=30, **options)


@pytest.fixture
def llm(base_url, api_key) -> OpenAILike:
    return make_llm(base_url, api_key)


def user(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, content=text)


# ---------------------------------------------------------------- chat and streaming


def test_chat(llm):
    reply = llm.chat([ChatMessage(role=MessageRole.SYSTEM, content="Be brief."), user("Hello")])
    assert reply.message.role == MessageRole.ASSISTANT
    assert reply.message.content == "Mock answer from my-custom-model: Hello"
    assert reply.raw.choices[0].finish_reason == "stop"


def test_complete_goes_through_chat(llm):
    assert llm.complete("Hi there").text == "Mock answer from my-custom-model: Hi there"


def test_stream_chat_and_stream_complete(llm):
    deltas = [r.delta for r in llm.stream_chat([user("Stream this, please." + PACED)])]
    assert len([d for d in deltas if d]) >= 2, deltas
    assert "".join(d or "" for d in deltas) == "Mock answer from my-custom-model: Stream this, please." + PACED
    last = None
    for last in llm.stream_complete("Complete me"):
        pass
    assert last.text == "Mock answer from my-custom-model: Complete me"


def test_async_chat_and_stream(llm):
    async def run():
        reply = await llm.achat([user("Async hello")])
        pieces = [r.delta async for r in await llm.astream_chat([user("Async stream")])]
        return reply.message.content, "".join(p or "" for p in pieces)

    assert asyncio.run(run()) == ("Mock answer from my-custom-model: Async hello",
                                  "Mock answer from my-custom-model: Async stream")


def test_generation_parameters_are_accepted(base_url, api_key):
    llm = make_llm(base_url, api_key, temperature=0.2, max_tokens=128,
                   additional_kwargs={"top_p": 0.9, "seed": 7, "presence_penalty": 0, "frequency_penalty": 0})
    assert llm.chat([user("Hi")]).message.content == "Mock answer from my-custom-model: Hi"


# ---------------------------------------------------------------- tools


def test_chat_with_tools_round_trip(llm):
    history = [user("Weather in Paris? [mock:tool=get_weather]")]
    first = llm.chat_with_tools([WEATHER], chat_history=history)
    [selection] = llm.get_tool_calls_from_response(first)
    assert selection.tool_name == "get_weather" and selection.tool_id.startswith("call_")
    assert selection.tool_kwargs == WEATHER_MINIMAL_ARGS
    output = WEATHER.call(**selection.tool_kwargs)
    history += [first.message, ChatMessage(role=MessageRole.TOOL, content=str(output),
                                           additional_kwargs={"tool_call_id": selection.tool_id})]
    final = llm.chat_with_tools([WEATHER], chat_history=history)
    assert llm.get_tool_calls_from_response(final, error_on_no_tool_call=False) == []
    assert final.message.content == f"Mock answer from my-custom-model: the tool returned {WEATHER_RESULT}"


def test_predict_and_call_runs_the_tool(llm):
    reply = llm.predict_and_call([WEATHER, TIME], user_msg="Weather? [mock:tool=get_weather]")
    assert reply.response == WEATHER_RESULT
    [source] = reply.sources
    assert source.tool_name == "get_weather" and source.raw_input["kwargs"] == WEATHER_MINIMAL_ARGS


def test_parallel_tool_calls_and_streamed_ones_agree(llm):
    prompt = "Both [mock:tool=get_weather,get_time]"
    whole = llm.get_tool_calls_from_response(
        llm.chat_with_tools([WEATHER, TIME], user_msg=prompt, allow_parallel_tool_calls=True))
    assert [s.tool_name for s in whole] == ["get_weather", "get_time"]
    assert len({s.tool_id for s in whole}) == 2
    last = None
    for last in llm.stream_chat_with_tools([WEATHER, TIME], user_msg=prompt, allow_parallel_tool_calls=True):
        pass
    streamed = llm.get_tool_calls_from_response(last)
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in streamed] == \
        [(s.tool_id, s.tool_name, s.tool_kwargs) for s in whole]


def test_tool_required_and_auto(llm):
    required = llm.chat_with_tools([WEATHER, TIME], user_msg="Hello", tool_required=True)
    assert [s.tool_name for s in llm.get_tool_calls_from_response(required)] == ["get_weather"]
    auto = llm.chat_with_tools([WEATHER, TIME], user_msg="Hello")
    assert llm.get_tool_calls_from_response(auto, error_on_no_tool_call=False) == []
    assert auto.message.content == "Mock answer from my-custom-model: Hello"


def test_agent_style_loop(llm):
    """Call tools until the model answers in text (what LlamaIndex's agents do, bounded)."""
    history = [user("Weather and time? [mock:tool=get_weather,get_time]")]
    for _ in range(3):
        reply = llm.chat_with_tools([WEATHER, TIME], chat_history=history, allow_parallel_tool_calls=True)
        history.append(reply.message)
        calls = llm.get_tool_calls_from_response(reply, error_on_no_tool_call=False)
        if not calls:
            break
        history += [ChatMessage(role=MessageRole.TOOL, content=str(TOOLS[c.tool_name].call(**c.tool_kwargs)),
                                additional_kwargs={"tool_call_id": c.tool_id}) for c in calls]
    else:
        pytest.fail("the model keeps calling tools")
    assert len(history) == 5  # user, assistant calls, two tool results, final answer
    assert history[-1].content == f"Mock answer from my-custom-model: the tool returned {WEATHER_RESULT}; 12:00"


# ---------------------------------------------------------------- structured output


def test_structured_predict(llm):
    out = llm.structured_predict(Person, PromptTemplate("Describe {who}"), who="a person")
    assert out == Person(name="string", age=1, tags=[])


def test_structured_predict_with_given_arguments(llm):
    doc = {"name": "Ada", "age": 36, "tags": ["math"]}
    out = llm.structured_predict(Person, PromptTemplate("Describe {who} [mock:args={doc}]"), who="Ada",
                                 doc=json.dumps(doc))
    assert out == Person(**doc)


def test_as_structured_llm_chat_and_stream(llm):
    structured = llm.as_structured_llm(Person)
    reply = structured.chat([user("Describe a person")])
    assert reply.raw == Person(name="string", age=1, tags=[])
    assert json.loads(reply.message.content) == {"name": "string", "age": 1, "tags": []}
    # LlamaIndex's streamed structured predict sends tool_choice "auto" (not the named function that the
    # non-streamed one sends), so the mock must be told to call the tool, as the prompt tells a real model.
    partials = [r.raw for r in structured.stream_chat([user("Describe a person [mock:tool=Person]" + PACED)])]
    assert len(partials) >= 2, partials
    assert partials[-1] == Person(name="string", age=1, tags=[])


def test_json_schema_response_format(llm):
    """LlamaIndex users who pass OpenAI's response_format themselves get a document that fits the schema."""
    schema = Person.model_json_schema()
    reply = llm.chat([user("Describe a person")], response_format={
        "type": "json_schema", "json_schema": {"name": "Person", "schema": schema, "strict": True}})
    assert Person.model_validate_json(reply.message.content) == Person(name="string", age=1, tags=[])


# ---------------------------------------------------------------- embeddings


@pytest.fixture
def embed_model(base_url, api_key) -> OpenAILikeEmbedding:
    return OpenAILikeEmbedding(model_name=EMBEDDING_MODEL, api_base=base_url, api_key=api_key, max_retries=0,
                               timeout=30)


def test_embeddings_match_the_openai_sdk(embed_model, reference_vectors):
    texts = list(reference_vectors)
    vectors = embed_model.get_text_embedding_batch(texts)
    for text, vector in zip(texts, vectors):
        assert norm(vector) == pytest.approx(1.0, abs=1e-6)
        assert_close(vector, reference_vectors[text])
    assert_close(embed_model.get_query_embedding("alpha"), reference_vectors["alpha"])
    assert_close(asyncio.run(embed_model.aget_text_embedding("beta")), reference_vectors["beta"])


def test_plain_openai_embedding_with_api_base(base_url, api_key, reference_vectors):
    model = OpenAIEmbedding(model_name=EMBEDDING_MODEL, api_base=base_url, api_key=api_key, max_retries=0)
    assert_close(model.get_text_embedding("hello world"), reference_vectors["hello world"])


def test_embedding_dimensions(base_url, api_key):
    model = OpenAILikeEmbedding(model_name=EMBEDDING_MODEL, api_base=base_url, api_key=api_key, max_retries=0,
                                dimensions=64)
    vector = model.get_text_embedding("alpha")
    assert len(vector) == 64 and norm(vector) == pytest.approx(1.0, abs=1e-6)


# ---------------------------------------------------------------- errors


def test_unknown_model_error_names_the_model(base_url, api_key):
    with pytest.raises(openai.BadRequestError) as caught:
        make_llm(base_url, api_key, model="no-such-model-xyz").chat([user("x")])
    assert "no-such-model-xyz" in caught.value.body["message"] and caught.value.body["param"] == "model"


def test_unknown_embedding_model_error_names_the_model(base_url, api_key):
    model = OpenAILikeEmbedding(model_name="no-such-embedder", api_base=base_url, api_key=api_key, max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        model.get_text_embedding("x")
    assert "no-such-embedder" in caught.value.body["message"]


def test_completion_model_uses_legacy_completions(base_url, api_key):
    llm = OpenAILike(model=CHAT_MODEL, api_base=base_url, api_key=api_key, is_chat_model=False, max_retries=0,
                     timeout=30)
    assert llm.complete("Hi").text == "Mock answer from my-custom-model: Hi"
    deltas = [r.delta for r in llm.stream_complete("Hi there" + PACED)]
    assert len([d for d in deltas if d]) >= 2 and "".join(deltas) == "Mock answer from my-custom-model: Hi there" + PACED


def test_mid_stream_failure_reaches_the_caller_with_its_reason(llm):
    received = []
    with pytest.raises(openai.APIError) as caught:
        for reply in llm.stream_chat([user("Tell me more [mock:fail_after=2]")]):
            received.append(reply.delta or "")
    assert "fail_after" in str(caught.value)
    assert "".join(received).startswith("Mock ")
