"""Checks on incoming JSON that turn bad input into a 400 naming the offending field."""

from __future__ import annotations

import json
from typing import Any

from flask import Request

from .errors import ApiError

ROLES = ("system", "user", "assistant")
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")


def json_object(request: Request) -> dict:
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
    raw = request.get_data(cache=True)
    if not raw:
        raise ApiError(400, "request body is empty; send a JSON object")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "request body is not valid JSON") from None
    except RecursionError:
        raise ApiError(400, "request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise ApiError(400, f"request body must be a JSON object, got {type(body).__name__}")
    return body


def string(value: Any, param: str, *, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise ApiError(400, f"'{param}' must be a string", param)
    if not allow_empty and not value.strip():
        raise ApiError(400, f"'{param}' must not be empty", param)
    return value


def obj(value: Any, param: str) -> dict:
    if not isinstance(value, dict):
        raise ApiError(400, f"'{param}' must be a JSON object", param)
    return value


def non_empty_list(value: Any, param: str) -> list:
    if not isinstance(value, list) or not value:
        raise ApiError(400, f"'{param}' must be a non-empty list", param)
    return value


def role(value: Any, param: str, roles: tuple[str, ...] = ROLES) -> str:
    return choice(value, roles, param)


def choice(value: Any, choices: tuple[str, ...], param: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ApiError(400, f"'{param}' must be one of {', '.join(choices)}; got {value!r}", param)
    return value


def boolean(value: Any, param: str) -> bool:
    if not isinstance(value, bool):
        raise ApiError(400, f"'{param}' must be true or false", param)
    return value


def integer(value: Any, param: str, low: int | None = None, high: int | None = None) -> int:
    """An int (JSON true/false are not numbers here) within the optional bounds."""
    whole = isinstance(value, int) and not isinstance(value, bool)
    if not whole or (low is not None and value < low) or (high is not None and value > high):
        limits = [text for text in (f">= {low}" if low is not None else "", f"<= {high}" if high is not None else "")
                  if text]
        raise ApiError(400, f"'{param}' must be an integer {' and '.join(limits)}".rstrip(), param)
    return value


def _number(value: Any, param: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ApiError(400, f"'{param}' must be a number between {low:g} and {high:g}", param)
    return value


def generation_params(source: dict, prefix: str) -> dict:
    """temperature, top_p, max_tokens and stop, validated; absent ones are left out."""
    params: dict = {}
    if source.get("temperature") is not None:
        params["temperature"] = _number(source["temperature"], f"{prefix}temperature", 0, 2)
    if source.get("top_p") is not None:
        params["top_p"] = _number(source["top_p"], f"{prefix}top_p", 0, 1)
    if source.get("max_tokens") is not None:
        value = source["max_tokens"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ApiError(400, f"'{prefix}max_tokens' must be a positive integer", f"{prefix}max_tokens")
        params["max_tokens"] = value
    params["stop"] = stop_sequences(source.get("stop"), f"{prefix}stop")
    return params


def model_extras(source: dict, prefix: str) -> dict:
    """presence_penalty, frequency_penalty, seed, user and reasoning_effort, validated; absent ones are left out."""
    checks = {
        "presence_penalty": lambda value, param: _number(value, param, -2, 2),
        "frequency_penalty": lambda value, param: _number(value, param, -2, 2),
        "seed": integer,
        "user": string,
        "reasoning_effort": lambda value, param: choice(value, REASONING_EFFORTS, param),
    }
    present = [name for name in checks if source.get(name) is not None]
    return {name: checks[name](source[name], f"{prefix}{name}") for name in present}


def stop_sequences(value: Any, param: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and len(value) <= 4 and all(isinstance(item, str) for item in value):
        return value
    raise ApiError(400, f"'{param}' must be a string or a list of at most 4 strings", param)
