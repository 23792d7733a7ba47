"""The OpenAI routes' body checks (chat, completions, responses, embeddings, images): a 400 naming the parameter."""

from __future__ import annotations

from typing import Any, Callable

from litellm.types.llms.openai import ValidUserMessageContentTypes

from ...openai.params import EMBEDDING_FORMATS, IMAGE_FORMATS, MAX_EMBEDDING_INPUTS, MAX_IMAGES, REASONING_EFFORTS
from .base import NUMBER, RequestProblem, check_types

# OpenAI parameters LiteLLM itself reads before our provider runs: a wrong type there makes it crash (500).
PARAM_TYPES = {
    "temperature": NUMBER, "top_p": NUMBER, "presence_penalty": NUMBER, "frequency_penalty": NUMBER,
    "max_tokens": int, "max_completion_tokens": int, "n": int, "seed": int,
    "stop": (str, list), "tools": list, "functions": list, "tool_choice": (str, dict), "function_call": (str, dict),
    "stream_options": dict, "response_format": dict, "metadata": dict, "logit_bias": dict, "user": str,
    "params": dict,
}
# On the images route, response_format is "url" or "b64_json" (check_images).
IMAGE_PARAM_TYPES = {name: kind for name, kind in PARAM_TYPES.items() if name != "response_format"}
# Responses API input: the items and content parts LiteLLM's Responses → chat translation carries over.
# Codex sends back what it got: custom_tool_call (apply_patch) and reasoning items too.
RESPONSE_ITEM_TYPES = ("message", "function_call", "function_call_output", "custom_tool_call",
                       "custom_tool_call_output", "reasoning")
RESPONSE_PART_TYPES = ("input_text", "output_text", "input_image", "input_file", "refusal")
REASONING_PART_TYPES = ("reasoning_text", "summary_text")
NO_STORED_STATE = ("this gateway stores no responses or conversations, so '{param}' cannot be resolved; "
                   "send the earlier turns in 'input'")


def _check_litellm_params(body: dict, types: dict = PARAM_TYPES) -> None:
    """LiteLLM's hooks read these on every route (tools on an embedding request too)."""
    if "stream" in body and not isinstance(body["stream"], bool):
        raise RequestProblem("'stream' must be true or false", "stream")
    check_types(body, types)
    for name in ("tools", "functions"):
        for index, item in enumerate(body.get(name) or []):
            if not isinstance(item, dict):
                raise RequestProblem(f"'{name}[{index}]' must be an object", f"{name}[{index}]")


def _refuse_streaming(body: dict) -> None:
    if body.get("stream"):
        raise RequestProblem("'stream' is not supported on this route; leave it unset", "stream")


def check_chat(body: dict) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestProblem("'messages' is required and must be a non-empty list", "messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise RequestProblem(f"'messages[{index}]' must be an object with a string 'role'", f"messages[{index}]")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise RequestProblem(
                f"'messages[{index}].content' must be a string or a list of parts", f"messages[{index}].content"
            )
        if message["role"] == "user" and isinstance(content, list):
            _check_user_parts(index, content)
    _check_litellm_params(body)


def _check_user_parts(index: int, parts: list) -> None:
    """LiteLLM answers a user part of a type it does not know with a 500; it is the client's 400."""
    for number, part in enumerate(parts):
        where = f"messages[{index}].content[{number}]"
        if not isinstance(part, dict):
            raise RequestProblem(f"'{where}' must be an object with a 'type'", where)
        if part.get("type") not in ValidUserMessageContentTypes:
            raise RequestProblem(f"'{where}.type' must be one of {', '.join(ValidUserMessageContentTypes)}",
                                 f"{where}.type")


def _is_token_ids(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    )


def check_completions(body: dict) -> None:
    """One text prompt, one answer: what the backend gives. Anything asking for more is refused, not dropped."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if _is_token_ids(prompt) or (isinstance(prompt, list) and prompt and all(map(_is_token_ids, prompt))):
        raise RequestProblem("'prompt' holds token ids; this gateway takes text: send the prompt as a string", "prompt")
    if isinstance(prompt, list) and len(prompt) > 1 and all(isinstance(item, str) for item in prompt):
        raise RequestProblem(f"'prompt' is a list of {len(prompt)} prompts; send one prompt per request", "prompt")
    if not isinstance(prompt, str):
        raise RequestProblem("'prompt' is required and must be a string (or a list of one string)", "prompt")
    check_types(body, {"echo": bool, "best_of": int})
    _check_litellm_params(body)
    for name in ("n", "best_of"):
        if body.get(name) is not None and body[name] != 1:
            raise RequestProblem(f"'{name}' must be 1: the backend gives one completion per request", name)
    if body.get("echo"):
        raise RequestProblem("'echo' is not supported: the backend does not repeat the prompt", "echo")
    if body.get("suffix"):
        raise RequestProblem("'suffix' is not supported: the backend does not insert text before a suffix", "suffix")
    if body.get("logprobs") not in (None, 0):  # 0 and false ask for nothing
        raise RequestProblem("'logprobs' is not supported: the backend returns no token probabilities", "logprobs")


def check_responses(body: dict) -> None:
    """The Responses API without stored state: each request carries its whole conversation."""
    text_input = body.get("input")
    if not isinstance(text_input, (str, list)) or not text_input:
        raise RequestProblem("'input' is required and must be a string or a non-empty list of items", "input")
    if isinstance(text_input, list):
        _check_input_items(text_input)
    for name in ("previous_response_id", "conversation"):
        if body.get(name) is not None:
            raise RequestProblem(NO_STORED_STATE.format(param=name), name)
    if body.get("prompt") is not None:
        raise RequestProblem("stored prompt templates are not available here; send 'instructions' and 'input'",
                             "prompt")
    if body.get("background"):
        raise RequestProblem("'background' is not supported: a background response is fetched later with "
                             "GET /v1/responses/{id}, which this gateway does not offer", "background")
    _check_responses_options(body)
    _check_litellm_params(body)


def _check_responses_options(body: dict) -> None:
    """Checked under the Responses API's own names: later LiteLLM renames them (max_tokens, reasoning_effort)."""
    tokens = body.get("max_output_tokens")
    if tokens is not None and (isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1):
        raise RequestProblem("'max_output_tokens' must be a positive integer", "max_output_tokens")
    reasoning = body.get("reasoning")
    if reasoning is None:
        return
    if not isinstance(reasoning, dict):
        raise RequestProblem("'reasoning' must be an object such as {\"effort\": \"low\"}", "reasoning")
    if reasoning.get("effort") is not None and reasoning["effort"] not in REASONING_EFFORTS:
        raise RequestProblem(f"'reasoning.effort' must be one of {', '.join(REASONING_EFFORTS)}", "reasoning.effort")


def _check_input_items(items: list) -> None:
    """The shape LiteLLM's Responses → chat translation needs; it answers others with a 500."""
    for index, item in enumerate(items):
        where = f"input[{index}]"
        if not isinstance(item, dict):
            raise RequestProblem(f"'{where}' must be an object", where)
        kind = item.get("type", "message" if "role" in item else None)
        if kind not in RESPONSE_ITEM_TYPES:
            raise RequestProblem(f"'{where}.type' must be one of {', '.join(RESPONSE_ITEM_TYPES)} "
                                 f"(or a message given by 'role'); got {kind!r}", f"{where}.type")
        content = item.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise RequestProblem(f"'{where}.content' must be a string or a list of parts", f"{where}.content")
        for number, part in enumerate(content if isinstance(content, list) else []):
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise RequestProblem(f"'{where}.content[{number}]' must be an object with a 'type'",
                                     f"{where}.content[{number}]")
            known = REASONING_PART_TYPES if kind == "reasoning" else RESPONSE_PART_TYPES
            if part["type"] not in known:
                raise RequestProblem(f"'{where}.content[{number}].type' must be one of {', '.join(known)}",
                                     f"{where}.content[{number}].type")


def _check_embedding_input(value: Any) -> None:
    if isinstance(value, str):
        if not value:
            raise RequestProblem("'input' must not be an empty string", "input")
        return
    if not isinstance(value, list) or not value:
        raise RequestProblem("'input' is required: a string, a list of strings or a list of token-id lists", "input")
    if len(value) > MAX_EMBEDDING_INPUTS:
        raise RequestProblem(f"'input' holds {len(value)} items; at most {MAX_EMBEDDING_INPUTS} per request", "input")
    if _is_token_ids(value) or all(map(_is_token_ids, value)):
        return
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise RequestProblem(f"'input[{index}]' must be a non-empty string (or every item a token-id list)",
                                 "input")


def check_embeddings(body: dict) -> None:
    _check_embedding_input(body.get("input"))
    _check_litellm_params(body)
    _refuse_streaming(body)
    encoding = body.get("encoding_format")
    if encoding is not None and encoding not in EMBEDDING_FORMATS:
        raise RequestProblem("'encoding_format' must be 'float' or 'base64'", "encoding_format")
    dimensions = body.get("dimensions")
    if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1):
        raise RequestProblem("'dimensions' must be a positive integer", "dimensions")


def check_images(body: dict) -> None:
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise RequestProblem("'prompt' is required and must be a non-empty string", "prompt")
    count = body.get("n")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_IMAGES):
        raise RequestProblem(f"'n' must be an integer from 1 to {MAX_IMAGES}", "n")
    check_types(body, {"size": str})
    _check_litellm_params(body, IMAGE_PARAM_TYPES)
    _refuse_streaming(body)
    response_format = body.get("response_format")
    if response_format is not None and response_format not in IMAGE_FORMATS:
        raise RequestProblem("'response_format' must be 'url' or 'b64_json'", "response_format")


# routes.OPENAI_SERVED's body kinds → their checks.
BODY_CHECKS: dict[str, Callable[[dict], None]] = {
    "chat": check_chat,
    "completions": check_completions,
    "responses": check_responses,
    "embeddings": check_embeddings,
    "images": check_images,
}
