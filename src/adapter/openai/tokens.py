"""Token counts and token ids as OpenAI clients count them (cl100k_base), for backends that report none."""

from __future__ import annotations

import litellm

TOKENIZER_MODEL = "gpt-3.5-turbo"  # cl100k_base, the encoding the OpenAI SDK and LangChain tokenize with


def counted_usage(messages: list, message: dict) -> dict:
    """Token usage as OpenAI would count it: the request's messages, the answer's text and calls."""
    prompt = litellm.token_counter(model=TOKENIZER_MODEL, messages=messages)
    answer = (message.get("content") or "") + "".join(
        call["function"]["name"] + call["function"]["arguments"] for call in message.get("tool_calls") or [])
    completion = litellm.token_counter(model=TOKENIZER_MODEL, text=answer, count_response_tokens=True) if answer else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def counted_tokens(texts: list[str]) -> int:
    """The prompt tokens of embedding inputs."""
    return sum(litellm.token_counter(model=TOKENIZER_MODEL, text=text) for text in texts)


def decode_tokens(tokens: list[int]) -> str:
    return litellm.decode(model=TOKENIZER_MODEL, tokens=tokens)
