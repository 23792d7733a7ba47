"""Node clients against the real stack: runs `node --test` on each tests/clients/node/*.test.mjs (the Vercel AI SDK
in ai-sdk.test.mjs, the Anthropic TypeScript SDK in anthropic-sdk.test.mjs).

scripts/test.sh installs the node packages (`npm ci`, exact versions from package-lock.json); without node or
without them this test fails, saying so: it is never skipped.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_keys import keys_file

from .conftest import NODE_DIR

NODE_TIMEOUT_SECONDS = 180
NODE_PACKAGES = ("ai", "@ai-sdk/openai-compatible", "zod", "@anthropic-ai/sdk")
# A key of the stack's keys file allowed my-custom-model only, for the SDKs' PermissionDeniedError (403).
RESTRICTED_KEY = "sk-node-team-0123456789"


def node_test_files() -> list[str]:
    return sorted(str(path) for path in NODE_DIR.glob("*.test.mjs"))


def summary_count(output: str, name: str) -> int:
    """A count from node's closing summary ("ℹ tests 19", "# pass 19" …); -1 when it is missing."""
    found = re.findall(rf"^(?:ℹ|#) {name} (\d+)$", output, re.MULTILINE)
    return int(found[-1]) if found else -1


def test_the_node_tests_exist():
    assert node_test_files(), f"no *.test.mjs in {NODE_DIR}"


@pytest.fixture()
def restricted_key(stack):
    """RESTRICTED_KEY in the stack's keys file (empty until now; the proxy reloads it on change), removed after."""
    from adapter.keys import hash_key

    path = Path(stack.env["KEYS_FILE"])
    assert not path.exists(), f"{path} is in use: the stack's keys file is expected empty"
    keys_file(path, {"alias": "node-team", "hash": hash_key(RESTRICTED_KEY), "models": ["my-custom-model"]})
    yield RESTRICTED_KEY
    path.unlink()


@pytest.mark.parametrize("script", [path.rsplit("/", 1)[-1] for path in node_test_files()])
def test_node_suite(stack, reference_vectors, restricted_key, tmp_path, script):
    node = shutil.which("node")
    assert node, "node is not installed: install Node.js >= 20 and npm (scripts/test.sh says how)"
    for package in NODE_PACKAGES:
        assert (NODE_DIR / "node_modules" / package / "package.json").is_file(), (
            f"{package} is not installed in {NODE_DIR}/node_modules: run ./scripts/test.sh (it runs `npm ci` there)")
    expected = tmp_path / "expected-embeddings.json"
    expected.write_text(json.dumps(reference_vectors))
    env = {**os.environ, "PROXY_URL": stack.proxy_url, "API_KEY": stack.master_key,
           "EXPECTED_EMBEDDINGS": str(expected), "RESTRICTED_KEY": restricted_key, "NO_COLOR": "1"}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)  # the proxy is on loopback
    result = subprocess.run([node, "--test", "--test-reporter=spec", str(NODE_DIR / script)], cwd=NODE_DIR,
                            env=env, capture_output=True, text=True, timeout=NODE_TIMEOUT_SECONDS)
    output, status = result.stdout + result.stderr, result.returncode
    counts = {name: summary_count(output, name) for name in ("tests", "pass", "fail", "cancelled", "skipped", "todo")}
    assert status == 0 and counts["fail"] == 0, f"node --test exited {status}:\n{output}"
    assert counts["tests"] > 0 and counts["pass"] == counts["tests"], f"not every node test passed {counts}:\n{output}"
    assert counts["cancelled"] == counts["skipped"] == counts["todo"] == 0, f"{counts}:\n{output}"
