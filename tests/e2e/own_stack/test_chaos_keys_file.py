"""The keys file edited into invalid YAML while the proxy (2 workers) serves: the last good keys stay in force (a key
the broken edit removes still works, a key it adds does not yet), the log names the file, line and column and
never a key or a hash; once the file is fixed, its keys take effect without a restart."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

import stack_settings
from adapter.keys import hash_key

from ..conftest import business_command, proxy_command, stack_environment, start, wait_healthy

KEPT, REMOVED, ADDED = (f"sk-chaos-keys-{name}-0123456789abcdef" for name in ("kept", "removed", "added"))
MODEL = "my-custom-model"
TRIES = 8  # requests per check, each on a new connection: both workers answer some (the kernel decides who accepts)
NOT_RELOADED = "keys file not reloaded, keeping the 2 keys loaded before: "


def entry(alias: str, key: str, customer: str = "acme") -> str:
    return f"  - alias: {alias}\n    hash: \"{hash_key(key)}\"\n    customer_id: {customer}\n"


GOOD = "keys:\n" + entry("kept", KEPT) + entry("removed", REMOVED)
# An operator's edit: `removed` taken out, `added` put in, and a customer id with a colon left unquoted (line 7).
BROKEN = "keys:\n" + entry("kept", KEPT) + entry("added", ADDED, "acme: north")
BROKEN_AT = "(line 7, column 22): mapping values are not allowed here"
FIXED = "keys:\n" + entry("kept", KEPT) + entry("added", ADDED, "\"acme: north\"")


@dataclass
class Proxy:
    url: str
    keys_file: Path
    log: Path

    def statuses(self, key: str) -> set[int]:
        """The statuses of TRIES chats with `key`, each on a new connection."""
        client = openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0, timeout=60,
                               default_headers={"Connection": "close"})
        found = set()
        for n in range(TRIES):
            try:
                client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": f"hello {n}"}])
                found.add(200)
            except openai.APIStatusError as error:
                found.add(error.status_code)
        return found

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chaos-keys")
    keys_file = tmp / "keys.yaml"
    keys_file.write_text(GOOD)
    env = stack_environment(tmp, LITELLM_PROXY_WORKERS="2")
    settings = stack_settings.load(env)
    logs = Path(settings.log_dir)
    business = start("business_api", business_command(), env, logs)
    proxy = None
    try:
        wait_healthy(business, f"http://127.0.0.1:{settings.business_api_port}/health")
        proxy = start("litellm_proxy", proxy_command(settings, workers=2), env, logs)
        url = f"http://127.0.0.1:{settings.litellm_proxy_port}"
        wait_healthy(proxy, f"{url}/health/liveliness")
        yield Proxy(url, keys_file, proxy.log)
    finally:
        for service in (proxy, business):
            if service is not None:
                service.stop()
    text = proxy.log.read_text(errors="replace") if proxy else ""
    for secret in (KEPT, REMOVED, ADDED, settings.litellm_master_key):
        assert secret not in text and hash_key(secret).removeprefix("sha256:") not in text


def test_a_keys_file_broken_while_serving_keeps_the_last_good_keys_and_says_where(proxy: Proxy) -> None:
    assert proxy.statuses(KEPT) == {200} and proxy.statuses(REMOVED) == {200} and proxy.statuses(ADDED) == {401}

    proxy.keys_file.write_text(BROKEN)  # in place, as an editor saves it
    assert proxy.statuses(KEPT) == {200}
    assert proxy.statuses(REMOVED) == {200}  # removed by the broken edit: still in force
    assert proxy.statuses(ADDED) == {401}  # added by the broken edit: not yet
    said = [line for line in proxy.log_text().splitlines() if NOT_RELOADED in line]
    # Once per worker (each version of the file is tried once), naming the file and the place.
    assert 1 <= len(said) <= 2, said
    assert all(line.endswith(f"{NOT_RELOADED}{proxy.keys_file}: not valid YAML {BROKEN_AT}") for line in said), said
    assert "acme: north" not in proxy.log_text()  # nothing of the file is quoted

    proxy.keys_file.write_text(FIXED)
    assert proxy.statuses(ADDED) == {200}
    assert proxy.statuses(KEPT) == {200}
    assert proxy.statuses(REMOVED) == {401}
    assert len([line for line in proxy.log_text().splitlines() if NOT_RELOADED in line]) == len(said)
