"""The Vercel AI SDK (node) against the real stack: runs `node --test` on tests/clients/node/*.test.mjs.

scripts/test.sh installs the node packages (`npm ci`, exact versions from package-lock.json); without node or
without them this test fails, saying so: it is never skipped.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from .conftest import NODE_DIR

NODE_TIMEOUT_SECONDS = 180


def node_test_files() -> list[str]:
    return sorted(str(path) for path in NODE_DIR.glob("*.test.mjs"))


def summary_count(output: str, name: str) -> int:
    """A count from node's closing summary ("ℹ tests 19", "# pass 19" …); -1 when it is missing."""
    found = re.findall(rf"^(?:ℹ|#) {name} (\d+)$", output, re.MULTILINE)
    return int(found[-1]) if found else -1


def test_the_node_tests_exist():
    assert node_test_files(), f"no *.test.mjs in {NODE_DIR}"


@pytest.mark.parametrize("script", [path.rsplit("/", 1)[-1] for path in node_test_files()])
def test_ai_sdk_node_suite(stack, reference_vectors, tmp_path, script):
    node = shutil.which("node")
    assert node, "node is not installed: install Node.js >= 18 and npm (scripts/test.sh says how)"
    for package in ("ai", "@ai-sdk/openai-compatible", "zod"):
        assert (NODE_DIR / "node_modules" / package / "package.json").is_file(), (
            f"{package} is not installed in {NODE_DIR}/node_modules: run ./scripts/test.sh (it runs `npm ci` there)")
    expected = tmp_path / "expected-embeddings.json"
    expected.write_text(json.dumps(reference_vectors))
    env = {**os.environ, "PROXY_URL": stack.proxy_url, "API_KEY": stack.master_key,
           "EXPECTED_EMBEDDINGS": str(expected), "NO_COLOR": "1"}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)  # the proxy is on loopback
    result = subprocess.run([node, "--test", "--test-reporter=spec", str(NODE_DIR / script)], cwd=NODE_DIR,
                            env=env, capture_output=True, text=True, timeout=NODE_TIMEOUT_SECONDS)
    output, status = result.stdout + result.stderr, result.returncode
    counts = {name: summary_count(output, name) for name in ("tests", "pass", "fail", "cancelled", "skipped", "todo")}
    assert status == 0 and counts["fail"] == 0, f"node --test exited {status}:\n{output}"
    assert counts["tests"] > 0 and counts["pass"] == counts["tests"], f"not every node test passed {counts}:\n{output}"
    assert counts["cancelled"] == counts["skipped"] == counts["todo"] == 0, f"{counts}:\n{output}"
