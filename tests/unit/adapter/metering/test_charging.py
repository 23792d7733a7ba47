"""SpendMeter: LiteLLM's logging payload of a priced success → one charge of its key hash and cost."""

from __future__ import annotations

import asyncio
import logging

from adapter.metering.charging import SpendMeter

HASH = "sha256:" + "a" * 64


def logged(payload, charge) -> None:
    asyncio.run(SpendMeter(charge).async_log_success_event({"standard_logging_object": payload}, None, None, None))


def test_a_priced_call_is_charged_to_its_key_hash():
    charged = []

    async def charge(key_hash, cost):
        charged.append((key_hash, cost))

    logged({"response_cost": 0.0125, "metadata": {"user_api_key_hash": HASH}}, charge)
    for payload in ({"response_cost": 0.0, "metadata": {"user_api_key_hash": HASH}},  # a free model
                    {"response_cost": None, "metadata": {"user_api_key_hash": HASH}},
                    {"response_cost": 0.5, "metadata": {}},  # no key named
                    None):
        logged(payload, charge)
    assert charged == [(HASH, 0.0125)]


def test_a_failing_store_never_reaches_the_request_and_is_one_warning(caplog):
    async def charge(key_hash, cost):
        raise OSError("disk full")

    with caplog.at_level(logging.WARNING, logger="adapter"):
        logged({"response_cost": 1.0, "metadata": {"user_api_key_hash": HASH}}, charge)
    assert [record.getMessage() for record in caplog.records] == [
        "budgets: the cost of a call was not counted: OSError"]
