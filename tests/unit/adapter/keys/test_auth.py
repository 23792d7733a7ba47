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
