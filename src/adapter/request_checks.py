"""Pure checks of a chat request body at the proxy's door, and the cleaning of error messages."""

from __future__ import annotations

import json
import re
from typing import Any

from .transform_common import SERVER_OWNED_PARAMS

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
}
# Where LiteLLM's messages stop being for the client: tracebacks, bug-report links, router notes.
NOISE_MARKERS = (
    "\nTraceback",
    "Traceback (most recent call last)",
    "This looks like a bug",
    "\n\nLiteLLM: model group",
    "\nReceived Model Group",
    "Deployment Info:",
)
PREFIX_PATTERN = re.compile(r"^(?:litellm\.\w+:\s*)?(?:[\w-]+Exception - )?")


def error_body(status: int, message: str, param: str | None = None, error_type: str | None = None) -> dict:
    kind = error_type or ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": str(status)}}


# LiteLLM's ways of saying that an endpoint needs its database (virtual keys, users, teams, spend), which
# this stack runs without: such a call is a feature this deployment lacks (501), not a proxy failure (500).
DATABASE_MISSING = re.compile(
    r"(?:db not connected|database not connected|no db connected|no connected db)\b", re.IGNORECASE
)
DATABASE_MISSING_MESSAGE = ("this endpoint needs LiteLLM's database (virtual keys, users, teams, spend tracking) and "
                            "this stack runs without one; call the models with LITELLM_MASTER_KEY")


def database_missing_error(messages) -> dict | None:
    """The 501 error body when any of LiteLLM's messages says a database is needed; None otherwise."""
    if any(DATABASE_MISSING.search(str(message)) for message in messages):
        return error_body(501, DATABASE_MISSING_MESSAGE)
    return None


NUMBER = (int, float)
# OpenAI parameters LiteLLM itself reads before our handler runs: a wrong type there makes it crash (500).
PARAM_TYPES = {
    "temperature": NUMBER, "top_p": NUMBER, "presence_penalty": NUMBER, "frequency_penalty": NUMBER,
    "max_tokens": int, "max_completion_tokens": int, "n": int, "seed": int,
    "stop": (str, list), "tools": list, "functions": list, "tool_choice": (str, dict), "function_call": (str, dict),
    "stream_options": dict, "response_format": dict, "metadata": dict, "logit_bias": dict, "user": str,
    "params": dict,
}
TYPE_NAMES = {NUMBER: "a number", int: "an integer", (str, list): "a string or a list", list: "a list",
              (str, dict): "a string or an object", dict: "an object", str: "a string"}


class RequestProblem(ValueError):
    """A chat request the proxy refuses with 400; carries the offending parameter."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.message, self.param = message, param


def parse_chat_body(raw: bytes) -> dict:
    """The chat request as a dict if it is plausible; RequestProblem (→ 400) otherwise."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise RequestProblem("request body is not valid JSON (UTF-8)") from None
    except RecursionError:
        raise RequestProblem("request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise RequestProblem(f"request body must be a JSON object, got {type(body).__name__}")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise RequestProblem("'model' is required and must be a string; GET /v1/models lists the models", "model")
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
    if "stream" in body and not isinstance(body["stream"], bool):
        raise RequestProblem("'stream' must be true or false", "stream")
    for name, expected in PARAM_TYPES.items():
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, expected)):
            raise RequestProblem(f"'{name}' must be {TYPE_NAMES[expected]}", name)
    owned = sorted(SERVER_OWNED_PARAMS.intersection(body))
    if owned:
        raise RequestProblem(f"'{owned[0]}' is set by the server configuration and cannot be sent by a client", owned[0])
    return body


def clean_message(message: Any, secrets: tuple[str, ...]) -> str:
    """A person-readable message: no traceback, no LiteLLM plumbing, no secret values."""
    text = message if isinstance(message, str) else json.dumps(message)
    for marker in NOISE_MARKERS:
        text = text.split(marker, 1)[0]
    text = PREFIX_PATTERN.sub("", text.strip(), count=1).strip()
    for secret in secrets:
        text = text.replace(secret, "<redacted>")
    return text


def normalise_error(status: int, raw: bytes, secrets: tuple[str, ...]) -> dict:
    """Any error body the proxy produced → one OpenAI error object; its `code` is the status to answer with
    (the same status, except 501 for endpoints that need LiteLLM's database)."""
    try:
        parsed = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        parsed = None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        message, param, kind = error.get("message"), error.get("param"), error.get("type")
    elif isinstance(parsed, dict) and "detail" in parsed:
        message, param, kind = parsed["detail"], None, None
    else:
        message, param, kind = None, None, None
    if not message:
        message = "internal error in the proxy; see its log" if status >= 500 else f"request failed with HTTP {status}"
    no_database = database_missing_error([message])
    if no_database:
        return no_database
    param = param if isinstance(param, str) and param not in ("None", "") else None
    kind = kind if isinstance(kind, str) and kind else None
    return error_body(status, clean_message(message, secrets), param, kind)


STREAM_ERROR_MARKER = b'data: {"error"'


def normalise_stream_errors(chunk: bytes, secrets: tuple[str, ...]) -> bytes:
    """Clean the error event LiteLLM sends when a stream fails after it started; other events pass as they are."""
    if STREAM_ERROR_MARKER not in chunk:
        return chunk
    lines = []
    for line in chunk.split(b"\n"):
        if line.startswith(STREAM_ERROR_MARKER):
            raw = line[len(b"data: ") :]
            try:
                code = int(json.loads(raw)["error"].get("code") or 500)
            except (ValueError, TypeError, KeyError, AttributeError):
                code = 500
            line = b"data: " + json.dumps(normalise_error(code, raw, secrets)).encode("utf-8")
        lines.append(line)
    return b"\n".join(lines)
