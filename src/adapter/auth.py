"""LiteLLM custom_auth hook: the master key or a 401, compared in constant time, no database needed."""

from __future__ import annotations

import hmac

from fastapi import Request
from litellm.proxy._types import LitellmUserRoles, ProxyException, UserAPIKeyAuth


def make_auth(master_key: str):
    """An auth hook accepting exactly `master_key`."""
    expected = master_key.encode("utf-8")

    async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
        received = (api_key or "").removeprefix("Bearer ").strip().encode("utf-8")
        if expected and received and hmac.compare_digest(received, expected):
            return UserAPIKeyAuth(api_key=api_key, user_role=LitellmUserRoles.PROXY_ADMIN)
        raise ProxyException(
            message="missing or invalid API key: send 'Authorization: Bearer <LITELLM_MASTER_KEY>'",
            type="authentication_error",
            param="api_key",
            code=401,
        )

    return user_api_key_auth
