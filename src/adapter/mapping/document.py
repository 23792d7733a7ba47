"""The request document a mapping's expressions see: an OpenAI chat or embedding request as plain data."""

from __future__ import annotations

from typing import Any

from ..openai.messages import message_role, text_of
from ..upstream.errors import invalid_request

ROLES = ("system", "user", "assistant", "tool")
# Always present in `params` (null when the client did not send them), so mappings can name them without guessing.
NAMED_PARAMS = ("temperature", "top_p", "max_tokens", "stop", "presence_penalty", "frequency_penalty", "seed",
                "user", "reasoning_effort", "response_format")
TOP_LEVEL_PARAMS = ("tools", "tool_choice")  # the document has them beside `params`, not inside


def plain_text(content: Any, param: str) -> str:
    """The text parts of a message's content, joined with newlines.

    Non-text parts (images, documents, audio) are left out of the text rather than refused here: the message's
    `content` keeps them as sent, so a mapping for a backend that takes images can forward them, and one that
    reads only `text` gets the words. A part the file never sends is refused by the mapped provider (parts.py).
    """
    if content is None:
        return ""  # an assistant turn that only calls tools
    return text_of(content, param, None)


def _message(message: Any, index: int) -> dict:
    param = f"messages[{index}]"
    role = message_role(message, param)
    if role not in ROLES:
        raise invalid_request(f"'{param}.role' must be system, developer, user, assistant or tool; got {role!r}",
                              f"{param}.role")
    tool_calls = message.get("tool_calls")
    if tool_calls is not None and not isinstance(tool_calls, list):
        raise invalid_request(f"'{param}.tool_calls' must be a list", f"{param}.tool_calls")
    for position, call in enumerate(tool_calls or ()):
        _check_tool_call(call, f"{param}.tool_calls[{position}]")
    call_id = message.get("tool_call_id")
    if role == "tool" and (not isinstance(call_id, str) or not call_id):
        raise invalid_request(f"'{param}.tool_call_id' must name the tool call this result answers",
                              f"{param}.tool_call_id")
    content = message.get("content")
    return {"role": role, "content": content, "text": plain_text(content, f"{param}.content"),
            "tool_calls": tool_calls or None, "tool_call_id": call_id}


def _check_tool_call(call: Any, param: str) -> None:
    """An assistant turn's tool call, as OpenAI defines it: a backend gets the same id, name and argument text."""
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(call.get("id"), str) or not isinstance(function.get("name"), str):
        raise invalid_request(
            f"'{param}' must be {{\"id\", \"type\": \"function\", \"function\": {{\"name\", \"arguments\"}}}}", param)
    if not isinstance(function.get("arguments", ""), str):
        raise invalid_request(f"'{param}.function.arguments' must be a string of JSON", f"{param}.function.arguments")


def _turn(message: dict) -> dict:
    """A history entry: the message without its raw content."""
    return {"role": message["role"], "text": message["text"], "tool_calls": message["tool_calls"],
            "tool_call_id": message["tool_call_id"]}


def _split(conversation: list[dict]) -> tuple[str | None, list[dict]]:
    """(last_user_text, history).

    The last user message is the conversation's final message when a user sent it. A conversation that ends
    otherwise (tool results, an assistant prefix) has no last user text and all of it is history: history plus
    last_user_text then always hold the whole conversation, as the business API's query and history do, and a
    backend is never asked an earlier question again as if it were new.
    """
    if conversation and conversation[-1]["role"] == "user":
        return conversation[-1]["text"], [_turn(m) for m in conversation[:-1]]
    return None, [_turn(m) for m in conversation]


def _params(params: dict) -> dict:
    """The named parameters (null when absent) plus every other key the caller passed; `stop` as a list."""
    chosen = {name: params.get(name) for name in NAMED_PARAMS}
    chosen.update({k: v for k, v in params.items() if k not in TOP_LEVEL_PARAMS})
    if isinstance(chosen["stop"], str):
        chosen["stop"] = [chosen["stop"]]
    return chosen


def chat_document(model: str, backend_model: str | None, messages: Any, params: dict, stream: bool) -> dict:
    """OpenAI chat request → the request document (docs/bring-your-own-api.md, "The request document")."""
    if not isinstance(messages, list) or not messages:
        raise invalid_request("'messages' must be a non-empty list", "messages")
    read = [_message(message, index) for index, message in enumerate(messages)]
    systems = [m["text"] for m in read if m["role"] == "system"]
    conversation = [m for m in read if m["role"] != "system"]
    last_user_text, history = _split(conversation)
    return {
        "model": model,
        "backend_model": backend_model,
        "messages": read,
        "system": "\n\n".join(systems) if systems else None,
        "conversation": conversation,
        "last_user_text": last_user_text,
        "history": history,
        "params": _params(params),
        "tools": params.get("tools"),
        "tool_choice": params.get("tool_choice"),
        "stream": bool(stream),
    }


def embedding_document(model: str, input: Any, dimensions: int | None) -> dict:
    """OpenAI embedding request → {model, input (a list of texts), dimensions}.

    Token-id inputs are decoded by the caller first (openai/embeddings.py, texts_of); here only texts are accepted.
    """
    texts = [input] if isinstance(input, str) else input
    if not isinstance(texts, list) or not texts or not all(isinstance(text, str) for text in texts):
        raise invalid_request("'input' must be a string or a non-empty list of strings", "input")
    return {"model": model, "input": texts, "dimensions": dimensions}
