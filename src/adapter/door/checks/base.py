"""What every body check shares: the 400 it raises, the JSON object naming a model, type checks by table."""

from __future__ import annotations

import json

from ...openai.params import SERVER_OWNED

NUMBER = (int, float)
TYPE_NAMES = {NUMBER: "a number", int: "an integer", (str, list): "a string or a list", list: "a list",
              (str, dict): "a string or an object", dict: "an object", str: "a string", bool: "true or false"}


class RequestProblem(ValueError):
    """A request the proxy refuses with 400 (or `status`: Anthropic answers an unknown model with 404); carries the
    offending parameter."""

    def __init__(self, message: str, param: str | None = None, status: int = 400):
        super().__init__(message)
        self.message, self.param, self.status = message, param, status


def parse_object(raw: bytes, parsed: object = None) -> dict:
    """The body (or `parsed`, the body already parsed) as a JSON object naming a model; RequestProblem (→ 400)
    otherwise."""
    try:
        body = json.loads(raw) if parsed is None else parsed
    except (UnicodeDecodeError, ValueError):
        raise RequestProblem("request body is not valid JSON (UTF-8)") from None
    except RecursionError:
        raise RequestProblem("request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise RequestProblem(f"request body must be a JSON object, got {type(body).__name__}")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise RequestProblem("'model' is required and must be a string; GET /v1/models lists the models", "model")
    owned = sorted(SERVER_OWNED.intersection(body))
    if owned:
        name = owned[0]
        raise RequestProblem(f"'{name}' is set by the server configuration and cannot be sent by a client", name)
    return body


def check_types(body: dict, types: dict) -> None:
    """Each named parameter, when present, has its type (a bool is not a number)."""
    for name, expected in types.items():
        value = body.get(name)
        wrong_bool = isinstance(value, bool) and expected is not bool
        if value is not None and (wrong_bool or not isinstance(value, expected)):
            raise RequestProblem(f"'{name}' must be {TYPE_NAMES[expected]}", name)
