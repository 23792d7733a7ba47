"""The benchmark keeps working: a short smoke run brings up its own stack, measures every path, and sees no error."""

import subprocess
import sys

from .conftest import ROOT


def test_benchmark_smoke_run():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "benchmark.py"), "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for path in ("business API directly", "business handler", "LaaS handler", "openai/ provider", "mock_response"):
        assert path in result.stdout
    assert "| whole stack vs untuned LiteLLM" in result.stdout
    assert "time to first piece" in result.stdout
