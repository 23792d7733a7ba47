"""The key rules, once: LiteLLM's custom_auth hook and the door's key check (master key, or a keys-file key).

No database: keys are looked up by hash in KEYS_FILE (keys/file.py), and a key's limits are handed to LiteLLM's own
limiter through the UserAPIKeyAuth it returns (LiteLLM enforces rpm/tpm/parallel limits only when `api_key` is
set on it, so the key's hash goes there: never the key itself).
"""

from __future__ import annotations

import hmac
from datetime import datetime, timezone
from typing import Awaitable, Callable

from fastapi import Request
from litellm.proxy._types import LitellmUserRoles, ProxyException, UserAPIKeyAuth
from litellm.proxy.common_utils.http_parsing_utils import _read_request_body

from .budget import Budgets, OverBudget
from .file import Key
from .ring import KeyRing

MASTER_ALIAS = "master"  # how usage lines and LiteLLM's logs name the master key
MISSING = ("missing or invalid API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>' with "
           "LITELLM_MASTER_KEY or a key from the keys file")
METRICS_PATHS = ("/metrics", "/metrics/")
# The metrics name every key's alias and model: a key from the keys file may not read them.
METRICS_MASTER_ONLY = "GET /metrics needs the master key (LITELLM_MASTER_KEY); other keys may not read metrics"


class Refused(Exception):
    """A key that may not make this call: the status, the error type and a message safe to show its sender."""

    def __init__(self, message: str, status: int = 401, kind: str = "authentication_error"):
        super().__init__(message)
        self.message, self.status, self.kind = message, status, kind


def _key_auth(key: Key) -> UserAPIKeyAuth:
    """What LiteLLM needs to meter and limit this key: its hash as the key, its alias, its limits."""
    return UserAPIKeyAuth(
        api_key=key.hash,
        key_alias=key.alias,
        user_role=LitellmUserRoles.INTERNAL_USER,
        rpm_limit=key.rpm,
        tpm_limit=key.tpm,
        max_parallel_requests=key.max_parallel,
        models=sorted(key.models) if key.models is not None else [],
        metadata={"customer_id": key.customer_id} if key.customer_id else {},
    )


async def _requested_model(request: Request) -> str | None:
    """The model a request names (the door has parsed and checked the body; LiteLLM caches it)."""
    if request.method != "POST":
        return None
    body = await _read_request_body(request)
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None


def _usable(key: Key | None) -> Key:
    if key is None:
        raise Refused(MISSING)
    if key.disabled:
        raise Refused(f"the API key '{key.alias}' is disabled")
    if key.expired(datetime.now(timezone.utc)):
        raise Refused(f"the API key '{key.alias}' expired on {key.expires.isoformat()}")
    return key


def _allowed(key: Key, model: str | None) -> None:
    if key.models is not None and model is not None and model not in key.models:
        raise Refused(f"the API key '{key.alias}' may not use model '{model[:200]}'; it may use: "
                      f"{', '.join(sorted(key.models))}", 403, "permission_error")


def make_identify(master_key: str, keys: KeyRing | None = None):
    """The one answer to "whose key is this": None for `master_key`, the Key of `keys` if it is usable on `path`;
    Refused (401) otherwise."""
    expected = master_key.encode("utf-8")

    def identify(api_key: str | None, path: str) -> Key | None:
        received = (api_key or "").removeprefix("Bearer ").strip()
        if expected and received and hmac.compare_digest(received.encode("utf-8"), expected):
            return None
        if keys is None or not received:
            raise Refused(MISSING)
        if path in METRICS_PATHS:
            raise Refused(METRICS_MASTER_ONLY)  # LiteLLM's /metrics guard answers any refusal with 401
        return _usable(keys.find(received))

    return identify


def make_key_check(master_key: str, keys: KeyRing | None = None):
    """The door's check, the same rules as the auth hook: None when `api_key` may call `path` (for `model`, when
    known), else (status, error type, message)."""
    identify = make_identify(master_key, keys)

    def key_check(api_key: str | None, path: str, model: str | None = None) -> tuple[int, str, str] | None:
        try:
            key = identify(api_key, path)
            if key is not None:
                _allowed(key, model)
        except Refused as refused:
            return refused.status, refused.kind, refused.message
        return None

    return key_check


def make_auth(master_key: str, keys: KeyRing | None = None):
    """An auth hook accepting `master_key` (admin) and the keys of `keys` (with their models and limits)."""
    identify = make_identify(master_key, keys)

    async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
        try:
            key = identify(api_key, request.scope.get("path"))
            if key is None:
                return UserAPIKeyAuth(api_key=api_key, user_role=LitellmUserRoles.PROXY_ADMIN, key_alias=MASTER_ALIAS)
            _allowed(key, await _requested_model(request))
        except Refused as refused:
            raise ProxyException(message=refused.message, type=refused.kind, param="api_key",
                                 code=refused.status) from None
        return _key_auth(key)

    return user_api_key_auth


BudgetCheck = Callable[[str], Awaitable["OverBudget | None"]]


def make_budget_check(master_key: str, keys: KeyRing | None, budgets: Budgets) -> BudgetCheck:
    """The door's budget check of a request whose key it has already let in: None, or why it is refused."""
    identify = make_identify(master_key, keys)

    async def budget_check(api_key: str) -> OverBudget | None:
        try:
            key = identify(api_key, "")
        except Refused:
            return None  # the door's key check answers for it
        return None if key is None else await budgets.check(key)

    return budget_check
