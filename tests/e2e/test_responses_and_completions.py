"""The Responses API and legacy completions through the real proxy, with the openai SDK."""

import json

import openai
import pytest

WEATHER = {"type": "function", "name": "get_weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def test_responses_answer_text(stack):
    reply = stack.client().responses.create(model="my-custom-model", input="hello")
    assert reply.output_text == "Mock answer from my-custom-model: hello"
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0


def test_responses_stream_text_deltas(stack):
    # Pieces 30 ms apart reach a client that keeps up one by one (pieces that arrive together are merged).
    prompt = "stream me please [mock:chunk_delay=30]"
    events = list(stack.client().responses.create(model="my-custom-model", input=prompt, stream=True))
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert len(deltas) >= 2
    assert "".join(deltas) == f"Mock answer from my-custom-model: {prompt}"
    assert events[-1].type == "response.completed"


def test_responses_call_tools(stack):
    reply = stack.client().responses.create(model="my-custom-model", input="weather? [mock:tool=get_weather]",
                                            tools=[WEATHER])
    [call] = [item for item in reply.output if item.type == "function_call"]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "string"}


def test_previous_response_id_is_refused_not_ignored(stack):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().responses.create(model="my-custom-model", input="and then?", previous_response_id="resp_123")
    assert caught.value.body["param"] == "previous_response_id"


def test_completions_answer_one_prompt(stack):
    reply = stack.client().completions.create(model="my-custom-model", prompt="Say hi")
    assert [choice.text for choice in reply.choices] == ["Mock answer from my-custom-model: Say hi"]


@pytest.mark.parametrize("prompt", [["one", "two"], [1, 2, 3], [[1, 2, 3]]])
def test_completions_refuse_what_they_cannot_answer_faithfully(stack, prompt):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().completions.create(model="my-custom-model", prompt=prompt)
    assert caught.value.body["param"] == "prompt"


def test_responses_tool_round_trip_with_output_items(stack):
    client = stack.client()
    ask = [{"role": "user", "content": "weather? [mock:tool=get_weather]"}]
    first = client.responses.create(model="my-custom-model", input=ask, tools=[WEATHER])
    [call] = [item for item in first.output if item.type == "function_call"]
    again = ask + [{"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
                   {"type": "function_call_output", "call_id": call.call_id, "output": "18 C and sunny"}]
    final = client.responses.create(model="my-custom-model", input=again, tools=[WEATHER])
    assert final.output_text == "Mock answer from my-custom-model: the tool returned 18 C and sunny"


@pytest.mark.parametrize("options, param", [
    ({"max_output_tokens": 0}, "max_output_tokens"), ({"reasoning": {"effort": "extreme"}}, "reasoning.effort"),
    ({"input": [{"role": "user", "content": [{"type": "input_weird", "text": "x"}]}]}, "input[0].content[0].type"),
])
def test_responses_errors_use_the_responses_names(stack, options, param):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().responses.create(**{"model": "my-custom-model", "input": "x", **options})
    assert caught.value.body["param"] == param


def test_responses_stream_failure_reads_cleanly(stack):
    events = list(stack.client().responses.create(model="my-custom-model", input="one two three [mock:fail_after=2]",
                                                   stream=True))
    failed = events[-1]
    assert failed.type == "response.failed"
    message = failed.response.error.message
    assert message.startswith("the business backend sent an answer the adapter cannot use: the stream failed")
    assert "litellm." not in message
