"""LiteLLM custom_auth hook: the master key, or a key from the keys file with its models and limits; else a 401.

No database: keys are looked up by hash in KEYS_FILE (keys/file.py), and a key's limits are handed to LiteLLM's own
limiter through the UserAPIKeyAuth it returns (LiteLLM enforces rpm/tpm/parallel limits only when `api_key` is
set on it, so the key's hash goes there: never the key itself).
"""

from __future__ import annotations

import hmac
from datetime import datetime, timezone

from fastapi import Request
from litellm.proxy._types import LitellmUserRoles, ProxyException, UserAPIKeyAuth
from litellm.proxy.common_utils.http_parsing_utils import _read_request_body

from .file import Key
from .ring import KeyRing

MASTER_ALIAS = "master"  # how usage lines and LiteLLM's logs name the master key
MISSING = "missing or invalid API key: send 'Authorization: Bearer <LITELLM_MASTER_KEY or a key from the keys file>'"
METRICS_PATHS = ("/metrics", "/metrics/")
# The metrics name every key's alias and model: a key from the keys file may not read them.
METRICS_MASTER_ONLY = "GET /metrics needs the master key (LITELLM_MASTER_KEY); other keys may not read metrics"


def _refused(message: str, code: int = 401, kind: str = "authentication_error") -> ProxyException:
    return ProxyException(message=message, type=kind, param="api_key", code=code)


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


async def _checked(key: Key | None, request: Request) -> UserAPIKeyAuth:
    if key is None:
        raise _refused(MISSING)
    if key.disabled:
        raise _refused(f"the API key '{key.alias}' is disabled")
    if key.expired(datetime.now(timezone.utc)):
        raise _refused(f"the API key '{key.alias}' expired on {key.expires.isoformat()}")
    model = await _requested_model(request)
    if key.models is not None and model is not None and model not in key.models:
        raise _refused(f"the API key '{key.alias}' may not use model '{model[:200]}'; it may use: "
                       f"{', '.join(sorted(key.models))}", 403, "permission_error")
    return _key_auth(key)


def make_auth(master_key: str, keys: KeyRing | None = None):
    """An auth hook accepting `master_key` (admin) and the keys of `keys` (with their models and limits)."""
    expected = master_key.encode("utf-8")

    async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
        received = (api_key or "").removeprefix("Bearer ").strip()
        if expected and received and hmac.compare_digest(received.encode("utf-8"), expected):
            return UserAPIKeyAuth(api_key=api_key, user_role=LitellmUserRoles.PROXY_ADMIN, key_alias=MASTER_ALIAS)
        if keys is None or not received:
            raise _refused(MISSING)
        if request.scope.get("path") in METRICS_PATHS:
            raise _refused(METRICS_MASTER_ONLY)  # LiteLLM's /metrics guard answers any refusal with 401
        return await _checked(keys.find(received), request)

    return user_api_key_auth
