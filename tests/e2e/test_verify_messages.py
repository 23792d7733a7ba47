"""scripts/verify_system.py's Messages checks against the shared stack (the whole script: own_stack/test_scripts)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_verify_checks_the_messages_api_and_its_anthropic_401(stack):
    env = {**stack.env, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT / 'scripts'}"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "verify_system.py"), "--business-url", stack.business_url,
         "--proxy-url", stack.proxy_url],
        capture_output=True, text=True, timeout=180, env=env)
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert any(line.startswith("✓ messages with my-custom-model: Mock answer from my-custom-model") for line in lines)
    assert "✓ messages with a wrong key refused with 401 (authentication_error)" in lines
