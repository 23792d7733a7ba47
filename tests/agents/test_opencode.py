"""opencode (`opencode run`) over three AI SDK providers: a plain turn and a real bash round trip on each.

`@ai-sdk/openai-compatible` calls /v1/chat/completions, `@ai-sdk/openai` (v2 and later) /v1/responses (the
Responses API is its default, and what opencode uses with it), `@ai-sdk/anthropic` /v1/messages.
"""

from __future__ import annotations

import json

import pytest

from .conftest import ANSWERER, LAAS_MODEL, MOCK_MODEL, NODE_DIR, agent_env, run_agent, token_file

# The native binary itself: the registry here lacks opencode-ai's other platform packages, so a lock file with
# opencode-ai cannot be `npm ci`'d; package.json names opencode-linux-x64 (optional) instead. See dependencies.md.
BINARY = NODE_DIR / "node_modules" / "opencode-linux-x64" / "bin" / "opencode"
# The npm package opencode loads for the provider; each is given the proxy's /v1 as its baseURL.
PROVIDERS = ["@ai-sdk/openai-compatible", "@ai-sdk/openai", "@ai-sdk/anthropic"]


@pytest.fixture(scope="module")
def provider_cache(tmp_path_factory):
    """One cache for the module. opencode 1.18.33 bundles these three packages; any other it fetches from npm into
    its cache at first use, so a cache per test would fetch it again each time."""
    return tmp_path_factory.mktemp("opencode-cache")


def opencode(stack, tmp_path, cache, provider: str, model: str, prompt: str) -> str:
    home = tmp_path / "home"
    config = {
        "$schema": "https://opencode.ai/config.json",
        "provider": {"proxy": {"npm": provider, "name": "proxy",
                               "options": {"baseURL": f"{stack.proxy_url}/v1", "apiKey": "{env:PROXY_API_KEY}"},
                               "models": {model: {"name": model}}}},
        "model": f"proxy/{model}",
        "permission": {"bash": "allow", "edit": "allow", "external_directory": "allow"},
        "autoupdate": False, "share": "disabled",
    }
    home.mkdir(parents=True)
    (home / "opencode.json").write_text(json.dumps(config))
    env = agent_env(home, OPENCODE_CONFIG=str(home / "opencode.json"), PROXY_API_KEY=stack.master_key,
                    XDG_CACHE_HOME=str(cache), OPENCODE_DISABLE_AUTOUPDATE="1", OPENCODE_DISABLE_MODELS_FETCH="1",
                    OPENCODE_DISABLE_DEFAULT_PLUGINS="1", OPENCODE_DISABLE_LSP_DOWNLOAD="1")
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    assert BINARY.is_file(), f"opencode is not installed at {BINARY}: run ./scripts/test.sh (it runs `npm ci`)"
    return run_agent([str(BINARY), "run", "-m", f"proxy/{model}", prompt], env, work, timeout=150)


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_plain_turn(stack, tmp_path, provider_cache, provider, model):
    output = opencode(stack, tmp_path, provider_cache, provider, model, "Say hello.")
    assert f"Mock answer from {ANSWERER[model]}: " in output, output


@pytest.mark.parametrize("model", [MOCK_MODEL, LAAS_MODEL])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_bash_round_trip(stack, tmp_path, provider_cache, provider, model):
    # The token is only in a file, never in the prompt: it reaches the answer only if bash really ran `cat`.
    # An absolute path: opencode runs bash in its project directory, which need not be the cwd it was started in.
    value = token_file(tmp_path)
    args = json.dumps({"command": f"cat {tmp_path / 'work' / 'token.txt'}", "description": "Print the token"})
    output = opencode(stack, tmp_path, provider_cache, provider, model,
                      f"Print it. [mock:tool=bash] [mock:args={args}]")
    assert f"Mock answer from {ANSWERER[model]}: the tool returned" in output, output
    assert value in output, output
