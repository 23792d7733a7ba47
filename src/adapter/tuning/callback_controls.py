"""LiteLLM's "is this callback disabled for this request?" answered at once when the request disables none.

LiteLLM asks it for every callback at every logging event of every call (~20 times per request), and each time
formats two debug messages (the callback's repr included) that are dropped unless LiteLLM logs at DEBUG: ~2.7 % of the
proxy's CPU per request (py-spy, docs/performance-notes.md). A request disables callbacks only with the
`x-litellm-disable-callbacks` header or `litellm_disabled_callbacks` in its body (and only on a LiteLLM Enterprise
licence); when it names none the answer is "no", which is what LiteLLM's own code answers then. A request that names
some is answered by LiteLLM's own code, as before.
"""

from __future__ import annotations

from litellm_enterprise.enterprise_callbacks.callback_controls import EnterpriseCallbackControls

ASKING = EnterpriseCallbackControls.is_callback_disabled_dynamically


def disables_none(litellm_params: dict, dynamic_params: dict) -> bool:
    try:
        return EnterpriseCallbackControls.get_disabled_callbacks(litellm_params, dynamic_params) is None
    except Exception:  # noqa: BLE001  (LiteLLM's own code answers, and handles it as it always has)
        return False


def is_callback_disabled_dynamically(callback, litellm_params: dict, standard_callback_dynamic_params: dict) -> bool:
    if disables_none(litellm_params, standard_callback_dynamic_params):
        return False
    return ASKING(callback, litellm_params, standard_callback_dynamic_params)


def install() -> None:
    EnterpriseCallbackControls.is_callback_disabled_dynamically = staticmethod(is_callback_disabled_dynamically)
