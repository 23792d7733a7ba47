"""The LiteLLM callback that charges each finished call's cost (LiteLLM's response_cost) to its key's budget."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from litellm.integrations.custom_logger import CustomLogger

log = logging.getLogger("adapter")

Charge = Callable[[str, float], Awaitable[None]]  # (the key's hash as the auth hook set it, USD) → counted


class SpendMeter(CustomLogger):
    """Hands (key hash, cost) of every successful priced call to `charge` (keys/budget.py's Budgets.charge).

    Streams are logged, and so charged, when they end. Failed calls cost nothing: LiteLLM prices only answers.
    """

    def __init__(self, charge: Charge):
        super().__init__()
        self.charge = charge

    async def async_log_success_event(self, kwargs: dict, response_obj: Any, start_time: Any, end_time: Any) -> None:
        payload = kwargs.get("standard_logging_object")
        if not isinstance(payload, dict):
            return
        cost = payload.get("response_cost") or 0.0
        key_hash = (payload.get("metadata") or {}).get("user_api_key_hash")
        if not cost > 0 or not isinstance(key_hash, str):
            return
        try:
            await self.charge(key_hash, float(cost))
        except Exception as error:  # a logging callback: nothing may reach the request (the usage line has it)
            log.warning("budgets: the cost of a call was not counted: %s", type(error).__name__)
