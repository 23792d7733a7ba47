"""Billing with Lago: LiteLLM's LagoLogger, charging each successful call to the key's customer_id (never the client's).

LiteLLM builds the event and posts it to LAGO_API_BASE/api/v1/events. What this subclass decides:
- the subscription: the key's `customer_id` from the keys file (set by keys/auth.py), else LAGO_DEFAULT_CUSTOMER_ID.
  LiteLLM's own default reads the request body's `user` field, which any client can set to another customer,
  and raises "External Customer ID is not set" when it is absent;
- the transaction_id: LiteLLM's call id, the usage line's request_id (LiteLLM sends a random one), so an event
  can be matched to its usage line and a re-sent event is deduplicated by Lago;
- properties.model: the model name the client asked for (the usage line's model), and the key's alias;
- sending happens in the background with a time limit: a slow or failing Lago never holds up the client, the
  usage lines or LiteLLM's other callbacks. An outage is one warning in the log (and one when it ends).
LagoLogger sends nothing for failed calls; the usage lines record them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import litellm
from litellm.integrations.lago import LagoLogger

import stack_settings

log = logging.getLogger("adapter")

SEND_TIMEOUT = 10.0  # seconds one event may take to reach Lago before it is given up
# Events on their way to Lago per proxy worker. At a healthy Lago's ~0.1 s that allows ~10,000 requests/s; past
# it Lago is too slow to keep up, and further events are dropped (and counted) rather than held in memory.
MAX_IN_FLIGHT = 1000


def subscription_id(metadata: dict, fallback: str) -> str:
    """The Lago external_subscription_id of a call: its key's customer_id, else `fallback` (master key, no customer).

    `metadata` is LiteLLM's standard logging payload's metadata; the customer comes only from the key (auth.py),
    never from anything the client sends.
    """
    auth = metadata.get("user_api_key_auth_metadata")
    customer = auth.get("customer_id") if isinstance(auth, dict) else None
    return customer.strip() if isinstance(customer, str) and customer.strip() else fallback


def _charged_to(kwargs: dict, customer: str) -> dict:
    """A view of LiteLLM's kwargs in which the user id LagoLogger charges (LAGO_API_CHARGE_BY=user_id) is
    `customer`; LiteLLM's own kwargs, which its other callbacks read, are left as they are."""
    params = kwargs.get("litellm_params") or {}
    metadata = {**(params.get("metadata") or {}), "user_api_key_user_id": customer}
    return {**kwargs, "litellm_params": {**params, "metadata": metadata}}


def _reason(error: BaseException) -> str:
    """What went wrong, in one line that carries no URL, header or body (and so no key)."""
    if isinstance(error, httpx.HTTPStatusError):
        return f"Lago answered HTTP {error.response.status_code}"
    if isinstance(error, asyncio.TimeoutError):
        return f"no answer within {SEND_TIMEOUT:g} s"
    if isinstance(error, litellm.Timeout):  # LiteLLM's client gives up connecting after 5 s
        return "connection timed out"
    return type(error).__name__


class LagoMeter(LagoLogger):
    """LiteLLM's LagoLogger with our subscription, transaction id and model, sending in the background."""

    def __init__(self, fallback: str):
        super().__init__()
        self.fallback = fallback
        self._in_flight: set[asyncio.Task] = set()
        self._unsent = 0  # events lost since the last one Lago took; > 0 means an outage was reported

    def _common_logic(self, kwargs: dict, response_obj: Any) -> dict:
        payload = kwargs.get("standard_logging_object") or {}
        metadata = payload.get("metadata") or {}
        body = super()._common_logic(_charged_to(kwargs, subscription_id(metadata, self.fallback)), response_obj)
        event = body["event"]
        event["transaction_id"] = kwargs.get("litellm_call_id") or event["transaction_id"]
        event["properties"]["model"] = payload.get("model_group") or event["properties"]["model"]
        event["properties"]["key_alias"] = metadata.get("user_api_key_alias")
        return body

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time) -> None:
        if len(self._in_flight) >= MAX_IN_FLIGHT:
            self._lost(f"{MAX_IN_FLIGHT} events already on their way")
            return
        task = asyncio.create_task(self._send(kwargs, response_obj, start_time, end_time))
        self._in_flight.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._in_flight.discard)

    async def _send(self, kwargs, response_obj, start_time, end_time) -> None:
        try:
            send = super().async_log_success_event(kwargs, response_obj, start_time, end_time)
            await asyncio.wait_for(send, SEND_TIMEOUT)
        except Exception as error:  # a logging callback: nothing may reach the request
            self._lost(_reason(error))
            return
        if self._unsent:
            log.warning("Lago takes events again; %d event(s) were not sent in the meantime", self._unsent)
            self._unsent = 0

    def _lost(self, reason: str) -> None:
        if not self._unsent:
            log.warning("Lago events are not being sent (%s); the usage lines still record every request. "
                        "Said again when Lago takes events again.", reason)
        self._unsent += 1


def register(settings: stack_settings.Settings) -> LagoMeter | None:
    """The Lago meter, added to LiteLLM's callbacks, when LAGO_API_* are set; else None (and no cost per request)."""
    if not settings.lago_enabled:
        return None
    meter = LagoMeter(settings.lago_default_customer_id)
    litellm.logging_callback_manager.add_litellm_callback(meter)
    return meter
