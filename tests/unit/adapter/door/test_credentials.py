"""adapter.door.credentials: the door reads the key LiteLLM's auth will read, from the same headers, in its order."""

import pytest

from adapter.door.credentials import presented_key


def scope(*headers: tuple[str, str]) -> dict:
    return {"path": "/v1/messages", "headers": [(k.lower().encode(), v.encode()) for k, v in headers]}


@pytest.mark.parametrize("headers, key", [
    ((), ""),
    ((("Authorization", "Bearer sk-1"),), "sk-1"),
    ((("x-api-key", "sk-2"),), "sk-2"),
    ((("Authorization", "Bearer sk-1"), ("x-api-key", "sk-2")), "sk-1"),  # LiteLLM's order: Authorization first
    ((("Authorization", ""), ("x-api-key", "sk-2")), "sk-2"),  # an empty header counts as absent
    ((("x-litellm-api-key", "Bearer sk-3"), ("Authorization", "Bearer sk-1")), "sk-3"),
    ((("API-Key", "sk-4"),), "sk-4"),
])
def test_the_presented_key(headers, key):
    assert presented_key(scope(*headers)) == key


def test_a_custom_key_header_is_the_only_one_read_as_litellm_does():
    headers = scope(("X-Team-Key", "Bearer sk-5"), ("Authorization", "Bearer sk-1"))
    assert presented_key(headers, "X-Team-Key") == "sk-5"
    assert presented_key(scope(("Authorization", "Bearer sk-1")), "X-Team-Key") == ""
