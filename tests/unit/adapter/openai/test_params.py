"""adapter.openai.params: the parameter policy per backend."""

import pytest

from adapter.openai import params
from adapter.upstream.errors import AdapterError


def split(sent, policy=params.LAAS, drop=False):
    return params.split_params(sent, policy, drop)


@pytest.mark.parametrize("name, value", [
    ("n", 1), ("logprobs", False), ("presence_penalty", 0), ("frequency_penalty", 0.0), ("seed", 42),
    ("store", False), ("metadata", {"k": "v"}), ("service_tier", "default"), ("stream_options", {"include_usage": True}),
    ("response_format", {"type": "text"}), ("tools", []), ("tool_choice", "none"), ("user", "u"),
    ("parallel_tool_calls", True), ("logit_bias", {}), ("reasoning_effort", "high"),
    ("thinking", {"type": "enabled", "budget_tokens": 1024}),
])
def test_laas_accepts_harmless_defaults_and_sends_nothing(name, value):
    assert split({name: value}) == {}


@pytest.mark.parametrize("name, value", [
    ("n", 2), ("logprobs", True), ("presence_penalty", 0.5), ("frequency_penalty", 1), ("response_format", {"type": "json_object"}),
    ("tools", [{"type": "function", "function": {"name": "f"}}]), ("tool_choice", "required"),
])
def test_laas_refuses_what_would_change_the_answer_naming_it(name, value):
    with pytest.raises(AdapterError) as caught:
        split({name: value})
    assert caught.value.status_code == 400 and caught.value.param == name


@pytest.mark.parametrize("name, value", [("tools", [{"type": "function"}]), ("response_format", {"type": "json_object"}),
                                         ("functions", [{}])])
def test_answer_shaping_params_are_refused_even_under_drop_params(name, value):
    with pytest.raises(AdapterError):
        split({name: value}, drop=True)


def test_drop_params_drops_other_unsupported_values():
    assert split({"presence_penalty": 0.7, "verbosity": "high", "temperature": 0.3}, drop=True) == {"temperature": 0.3}


def test_true_is_not_taken_for_one():
    with pytest.raises(AdapterError):
        split({"n": True})


def test_max_completion_tokens_is_max_tokens():
    assert split({"max_completion_tokens": 5}) == {"max_tokens": 5}


# A backend that takes the sampling parameters (as a mapped backend's file-derived policy does).
FORWARDING = params.ParamPolicy(backend="b", forward=frozenset({"temperature", "top_p", "stop"}),
                                defaults=params.HARMLESS_DEFAULTS)


@pytest.mark.parametrize("sent", [{"temperature": 3}, {"top_p": -0.1}, {"stop": 5}, {"api_base": "http://x"}])
def test_mistakes_are_refused_even_under_drop_params(sent):
    with pytest.raises(AdapterError):
        split(sent, FORWARDING, drop=True)
