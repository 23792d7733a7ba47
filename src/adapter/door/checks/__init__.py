"""The door's body checks: the body parsed once, checked by its route's family, then the model it names.

A client mistake is a 400 naming the field, before LiteLLM sees the request.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from litellm.proxy.auth.auth_utils import is_request_body_safe

from ...openai import kinds
from .anthropic import ANTHROPIC_KINDS
from .anthropic import BODY_CHECKS as ANTHROPIC_CHECKS
from .base import RequestProblem, parse_object
from .hosted import drop_hosted_tools
from .openai import BODY_CHECKS as OPENAI_CHECKS

MAX_MODEL_IN_MESSAGE = 200
# LiteLLM's is_request_body_safe names the banned parameter only in its message.
BANNED_PARAM = re.compile(r"Rejected Request: '?([\w.\[\]-]+)'? is not allowed")

BODY_CHECKS = {**OPENAI_CHECKS, **ANTHROPIC_CHECKS}

__all__ = ["Checked", "RequestProblem", "check_request", "parse_body"]


class Checked(NamedTuple):
    body: dict  # the parsed body, without the dropped tools
    dropped: tuple[str, ...]  # the hosted tools taken out of it, by type


def parse_body(kind: str, raw: bytes, parsed: object = None) -> dict:
    """The request body (`parsed`: already parsed from `raw`) of a served POST route if it is plausible;
    RequestProblem (→ 400) otherwise."""
    body = parse_object(raw, parsed)
    BODY_CHECKS[kind](body)
    return body


def check_request(kind: str, raw: bytes, parsed: dict | None, router, general_settings: dict) -> Checked:
    """Our shape checks, LiteLLM's own ban on client-side credentials and endpoints, then the model; the body
    without the hosted tools the backends cannot run (checks/hosted.py), and their names.

    LiteLLM runs the same ban inside its auth step, where a refusal becomes a 401 (or, without the prisma package,
    a plain-text 500); running it here first makes it the 400 it is. A model that is not configured never reaches
    LiteLLM: some of its routes would hand it to the provider the name implies (openai/…, gpt-4o) with the keys in
    the environment.
    """
    body = parse_body(kind, raw, parsed)
    model = body["model"]
    try:
        is_request_body_safe(body, general_settings, router, model)
    except ValueError as error:
        raise client_side_credentials(str(error)) from None
    if router is None or not router.is_recognized_model(model):
        # Anthropic answers a model it does not have with 404 not_found_error; OpenAI's routes keep their 400.
        raise RequestProblem(f"model '{model[:MAX_MODEL_IN_MESSAGE]}' is not served here; "
                             "GET /v1/models lists the models", "model", 404 if kind in ANTHROPIC_KINDS else 400)
    # Before LiteLLM: it would refuse e.g. the SDK's encoding_format on a chat model with a message about
    # parameters, where the mistake is the model.
    wanted, served = kinds.KIND_FOR_BODY[kind], model_kind(router, model)
    if served != wanted:
        raise RequestProblem(kinds.wrong_kind_message(model, served, wanted), "model")
    return Checked(body, drop_hosted_tools(kind, body))


def model_kind(router, model: str) -> str:
    """The kind of a configured model, from its deployments' model_info.mode (config.yaml)."""
    modes = {(d.get("model_info") or {}).get("mode") for d in router.model_list if d.get("model_name") == model}
    return kinds.kind_of(modes.pop() if len(modes) == 1 else None)


def client_side_credentials(message: str) -> RequestProblem:
    """LiteLLM's refusal of a client-side credential or endpoint, naming the parameter, without its advice to
    the operator on how to allow it."""
    banned = BANNED_PARAM.search(message)
    if banned is None:
        return RequestProblem(message.split(" Relevant Issue:")[0])
    name = banned.group(1)
    return RequestProblem(f"'{name}' cannot be sent by a client: credentials, endpoints and deployments are set by "
                          "the server configuration", name)
