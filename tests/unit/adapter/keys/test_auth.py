"""adapter.keys.auth: who may read /metrics (the master key only); other routes keep their keys."""

from __future__ import annotations

import asyncio

import pytest
from litellm.proxy._types import LitellmUserRoles, ProxyException
from starlette.requests import Request

from adapter.keys.auth import METRICS_MASTER_ONLY, make_auth
from adapter.keys import KeyRing, hash_key

MASTER, TEAM = "sk-master-0123456789", "sk-team-0123456789"


@pytest.fixture()
def auth(tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text(f'keys:\n  - alias: team-a\n    hash: "{hash_key(TEAM)}"\n', encoding="utf-8")
    return make_auth(MASTER, KeyRing(path, check_every=0))


def request(method: str, path: str) -> Request:
    return Request({"type": "http", "method": method, "path": path, "headers": [], "query_string": b""})


@pytest.mark.parametrize("path", ["/metrics", "/metrics/"])
def test_the_master_key_reads_metrics(auth, path):
    user = asyncio.run(auth(request("GET", path), f"Bearer {MASTER}"))
    assert (user.user_role, user.key_alias) == (LitellmUserRoles.PROXY_ADMIN, "master")


@pytest.mark.parametrize("key", [TEAM, "sk-unknown-0123456789"])
def test_any_other_key_is_refused_on_metrics_with_401_naming_the_master_key(auth, key):
    with pytest.raises(ProxyException) as refused:
        asyncio.run(auth(request("GET", "/metrics"), f"Bearer {key}"))
    assert (refused.value.code, refused.value.message) == ("401", METRICS_MASTER_ONLY)


def test_a_team_key_still_lists_models(auth):
    assert asyncio.run(auth(request("GET", "/v1/models"), f"Bearer {TEAM}")).key_alias == "team-a"


def test_the_door_s_key_check_applies_the_same_rules(tmp_path):
    from adapter.keys.auth import MISSING, make_key_check

    path = tmp_path / "keys.yaml"
    path.write_text(f'keys:\n  - alias: team-a\n    hash: "{hash_key(TEAM)}"\n    models: [my-custom-model]\n',
                    encoding="utf-8")
    check = make_key_check(MASTER, KeyRing(path, check_every=0))
    assert check(MASTER, "/v1/chat/completions", "anything") is None
    assert check(f"Bearer {TEAM}", "/v1/messages", "my-custom-model") is None
    assert check(TEAM, "/v1/chat/completions", None) is None  # the model is not known yet
    status, kind, message = check(TEAM, "/v1/chat/completions", "claude-3.5-sonnet")
    assert (status, kind) == (403, "permission_error") and "'team-a' may not use model" in message
    assert check("", "/v1/models") == (401, "authentication_error", MISSING)
    assert check("sk-nobody", "/v1/models") == (401, "authentication_error", MISSING)
    assert check(TEAM, "/metrics") == (401, "authentication_error", METRICS_MASTER_ONLY)
