"""The API key a request presents, read from the headers LiteLLM's own auth reads, in its order."""

from __future__ import annotations

from litellm.proxy.auth.user_api_key_auth import get_api_key, get_bearer_token
from litellm.types.proxy.auth.special_headers import SpecialHeaders

from .asgi import Scope, header

# get_api_key's arguments → the header each comes from (APIKeyHeader: an empty header counts as absent).
HEADERS = {
    "custom_litellm_key_header": SpecialHeaders.custom_litellm_api_key.value,
    "api_key": SpecialHeaders.openai_authorization.value,
    "azure_api_key_header": SpecialHeaders.azure_authorization.value,
    "anthropic_api_key_header": SpecialHeaders.anthropic_authorization.value,
    "google_ai_studio_api_key_header": SpecialHeaders.google_ai_studio_authorization.value,
    "azure_apim_header": SpecialHeaders.azure_apim_authorization.value,
}
NAMES = {argument: name.lower().encode("latin-1") for argument, name in HEADERS.items()}


def presented_key(scope: Scope, custom_header: str | None = None) -> str:
    """The key LiteLLM's auth will hand our custom_auth hook (Authorization's bearer token first, then x-api-key and
    the other headers LiteLLM accepts; only `custom_header` when general_settings.litellm_key_header_name names one),
    "" when there is none. LiteLLM's own functions pick, so the door and the hook always judge the same key."""
    headers = scope.get("headers", [])
    if custom_header:
        value = header(headers, custom_header.lower().encode("latin-1"))
        return get_bearer_token(value.decode("latin-1")) if value else ""
    values = {}
    for argument, name in NAMES.items():
        value = header(headers, name)
        values[argument] = value.decode("latin-1") if value else None
    api_key, _ = get_api_key(**values, pass_through_endpoints=None, route=scope.get("path", ""), request=None)
    return api_key or ""
