"""The OpenAI parameter policy: forward what a backend takes, ignore what cannot change the answer, refuse the rest.

Each backend has a ParamPolicy (plain data). A parameter is
- forwarded: checked, then sent to the backend;
- ignored: accepted whatever its value, because dropping it cannot change the answer (store, metadata, …);
- accepted at its default only: the harmless value chat UIs and SDKs always send (n=1, logprobs=false, …);
  any other value would change the answer and is refused with 400 naming the parameter;
- anything else: refused with 400, or dropped when LiteLLM's drop_params is set.
CONFIGURATION_GUIDE.md ("Parameter policy") shows the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..upstream.errors import invalid_request

ALIASES = {"max_completion_tokens": "max_tokens"}
# Keys LiteLLM adds to optional_params itself, or that only shape the transport (streaming is the provider's job).
TRANSPORT = frozenset({"stream", "stream_options", "max_retries", "drop_params"})
# Accepted and ignored for every backend: bookkeeping for OpenAI's own platform, never part of the answer.
BOOKKEEPING = frozenset({"store", "metadata", "service_tier", "prompt_cache_key", "safety_identifier"})
# Routing values and secrets come from server configuration only; a request may never carry them.
SERVER_OWNED = frozenset(
    {"hash", "project", "apiKey", "api_key", "api_base", "base_url", "headers", "extra_headers", "project_code"}
)
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
RESPONSE_FORMATS = ("text", "json_object", "json_schema")
# Embeddings and images: one set of limits and values, checked at the door and honoured by the providers.
MAX_EMBEDDING_INPUTS = 2048  # OpenAI's limit per request
EMBEDDING_FORMATS = ("float", "base64")
MAX_IMAGES = 10
IMAGE_FORMATS = ("url", "b64_json")
LEGACY_FUNCTIONS = ("functions", "function_call")
# Responses API tool types a backend runs: the model calls them and the client executes the call. Every other type
# (web_search, file_search, code_interpreter, image_generation, computer_use, mcp, local_shell, …) is a hosted tool
# that OpenAI runs itself; no backend here can, so an optional one is dropped and a forced one refused (door/checks).
CALLABLE_TOOL_TYPES = ("function", "custom", "namespace")
# tool_choice objects that name no hosted tool (every other {"type": …} forces one).
TOOL_CHOICE_TYPES = ("function", "custom", "allowed_tools", "auto", "none", "required")
# Chat completions' hosted tool: a request for web search, named as the Responses API names the tool.
CHAT_HOSTED_OPTIONS = {"web_search_options": "web_search"}
# Refused even under drop_params: silently dropping them changes what the model does (calls nothing, answers prose).
NEVER_DROPPED = frozenset({"tools", "tool_choice", "response_format", *LEGACY_FUNCTIONS})


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number_between(name: str, low: float, high: float):
    def check(value: Any) -> Any:
        if not (_is_number(value) and low <= value <= high):
            raise invalid_request(f"'{name}' must be a number between {low:g} and {high:g}", name)
        return value

    return check


def _positive_int(name: str):
    def check(value: Any) -> Any:
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            raise invalid_request(f"'{name}' must be a positive integer", name)
        return value

    return check


def _stop(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not (isinstance(value, list) and len(value) <= 4 and all(isinstance(s, str) for s in value)):
        raise invalid_request("'stop' must be a string or a list of at most 4 strings", "stop")
    return value


def _seed(value: Any) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool)):
        raise invalid_request("'seed' must be an integer", "seed")
    return value


def _user(value: Any) -> str:
    if not isinstance(value, str):
        raise invalid_request("'user' must be a string", "user")
    return value


def _reasoning_effort(value: Any) -> str:
    if value not in REASONING_EFFORTS:
        raise invalid_request(f"'reasoning_effort' must be one of {', '.join(REASONING_EFFORTS)}", "reasoning_effort")
    return value


def _parallel_tool_calls(value: Any) -> bool:
    if not isinstance(value, bool):
        raise invalid_request("'parallel_tool_calls' must be true or false", "parallel_tool_calls")
    return value


CHECKS = {
    "temperature": _number_between("temperature", 0, 2),
    "top_p": _number_between("top_p", 0, 1),
    "max_tokens": _positive_int("max_tokens"),
    "stop": _stop,
    "presence_penalty": _number_between("presence_penalty", -2, 2),
    "frequency_penalty": _number_between("frequency_penalty", -2, 2),
    "seed": _seed,
    "user": _user,
    "reasoning_effort": _reasoning_effort,
    "parallel_tool_calls": _parallel_tool_calls,
}


def _is_default(name: str, value: Any, default: Any) -> bool:
    if name == "response_format":
        return isinstance(value, dict) and value.get("type") == "text"
    if _is_number(default):
        return _is_number(value) and value == default
    return value == default and type(value) is type(default)


@dataclass(frozen=True)
class ParamPolicy:
    backend: str
    forward: frozenset
    ignore: frozenset = frozenset()
    defaults: dict = field(default_factory=dict)  # name → the one accepted (and ignored) value
    forward_others: bool = False  # forward every other parameter too (a mapping that reads all of `params`)


def _refusal(name: str, value: Any, policy: ParamPolicy) -> str:
    if name in LEGACY_FUNCTIONS:
        return f"'{name}' (legacy function calling) is not supported; send 'tools' and 'tool_choice' instead"
    if name in ("tools", "tool_choice"):
        return f"'{name}': tool calling is not supported by {policy.backend}"
    if name in policy.defaults:
        return (f"'{name}'={value!r} is not supported by {policy.backend} (only {policy.defaults[name]!r}): "
                "dropping it would change the answer")
    return (f"parameter '{name}' is not supported by {policy.backend}; remove it, "
            "or set litellm_settings.drop_params: true to drop unsupported parameters")


def split_params(optional_params: dict, policy: ParamPolicy, drop_unknown: bool = False) -> dict:
    """The parameters to forward, checked and under their backend names; refuses what the policy refuses.

    Values outside a parameter's range are refused even with drop_params: they are mistakes, not omissions.
    """
    forwarded: dict = {}
    for key, value in optional_params.items():
        name = ALIASES.get(key, key)
        if value is None or name in TRANSPORT or name in BOOKKEEPING or name in policy.ignore:
            continue
        if name in SERVER_OWNED:
            raise invalid_request(f"'{key}' is set by the server configuration and cannot be sent by a client", key)
        if name in policy.forward:
            forwarded[name] = CHECKS.get(name, lambda v: v)(value)
        elif name in policy.defaults and _is_default(name, value, policy.defaults[name]):
            continue
        elif policy.forward_others and name not in policy.defaults and name not in NEVER_DROPPED:
            forwarded[name] = CHECKS.get(name, lambda v: v)(value)
        elif not drop_unknown or name in NEVER_DROPPED:
            raise invalid_request(_refusal(name, value, policy), key)
    return forwarded


HARMLESS_DEFAULTS = {"n": 1, "logprobs": False, "logit_bias": {}, "modalities": ["text"]}
TOOLLESS_DEFAULTS = {"tools": [], "tool_choice": "none"}

# LaaS runs a preset: it takes the sampling parameters and the preset's variables, nothing else. It has no tools
# and no seed; a seed only asks for repeatability, which LaaS does not offer either way, so it is ignored. Nor has it
# reasoning control: reasoning_effort, and Anthropic's `thinking` (which LiteLLM's Messages bridge keeps as is for a
# model whose name says "claude"), only ask how hard to think, and Claude Code sends `thinking` on every turn: ignored.
# LiteLLM's own supported-parameter check refuses both before a custom provider runs, unless the deployment lists
# them in allowed_openai_params (config.yaml does, for the LaaS models).
LAAS = ParamPolicy(
    backend="LaaS",
    forward=frozenset({"temperature", "top_p", "max_tokens", "stop", "params"}),
    ignore=frozenset({"seed", "user", "parallel_tool_calls", "reasoning_effort", "thinking"}),
    defaults={**HARMLESS_DEFAULTS, **TOOLLESS_DEFAULTS, "presence_penalty": 0, "frequency_penalty": 0,
              "response_format": {"type": "text"}},
)
