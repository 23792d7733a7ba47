"""adapter.tuning.callback_controls: LiteLLM's per-callback question answered at once when a request disables none,
by LiteLLM's own code otherwise, with the same answers."""

import pytest
from litellm.integrations.custom_logger import CustomLogger
from litellm_enterprise.enterprise_callbacks.callback_controls import EnterpriseCallbackControls

from adapter.tuning import callback_controls


class Described(CustomLogger):
    """A callback that counts how often its description is formatted (LiteLLM's debug messages do it)."""

    formatted = 0

    def __str__(self):
        Described.formatted += 1
        return "described"


@pytest.fixture()
def installed():
    callback_controls.install()
    Described.formatted = 0
    try:
        yield
    finally:
        EnterpriseCallbackControls.is_callback_disabled_dynamically = staticmethod(callback_controls.ASKING)


def params(headers: dict | None = None) -> dict:
    return {"proxy_server_request": {"headers": headers or {}, "body": {}}}


CASES = [
    (params(), {}),
    (params({"x-litellm-disable-callbacks": "described, langfuse"}), {}),
    (params(), {"litellm_disabled_callbacks": ["described"]}),
    ({}, {}),
    (None, {}),
]


@pytest.mark.parametrize(("litellm_params", "dynamic"), CASES)
def test_the_same_answer_as_litellms_own(installed, litellm_params, dynamic):
    for callback in ("described", Described()):
        expected = callback_controls.ASKING(callback, litellm_params, dynamic)
        assert EnterpriseCallbackControls.is_callback_disabled_dynamically(callback, litellm_params, dynamic) is expected


def test_a_request_that_disables_nothing_is_answered_without_litellms_debug_messages(installed):
    assert EnterpriseCallbackControls.is_callback_disabled_dynamically(Described(), params(), {}) is False
    assert Described.formatted == 0
    callback_controls.ASKING(Described(), params(), {})
    assert Described.formatted > 0  # what LiteLLM's own code does for the same question


def test_a_request_that_disables_some_is_answered_by_litellm(installed):
    EnterpriseCallbackControls.is_callback_disabled_dynamically(
        Described(), params({"x-litellm-disable-callbacks": "described"}), {})
    assert Described.formatted > 0
