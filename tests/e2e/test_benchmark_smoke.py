"""The benchmark keeps working: a short smoke run brings up its own stack, measures every path, and sees no error."""

import subprocess
import sys

import pytest

from .conftest import ROOT


def test_benchmark_smoke_run():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "benchmark.py"), "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for path in ("business API directly", "mapped provider (business.yaml)", "LaaS handler", "openai/ provider", "mock_response",
                 "the least handler that calls a backend"):
        assert path in result.stdout
    assert "| whole stack vs untuned LiteLLM" in result.stdout
    assert "budget (SQLite check and charge), proxy CPU per request: path 12 / path 11 |" in result.stdout
    for row in ("| the least a backend call costs vs LiteLLM's floor: path 2b / path 2 |",
                "| our handler vs the least handler: path 3 / path 2b |",
                "| whole stack with everything on (metrics, usage lines, a key with a budget): path 12 / path 0 |",
                "| metrics on / off, requests/s: path 13 / path 14 |",
                "| LiteLLM's `prometheus` callback / off, proxy CPU per request: path 14 / path 15 |"):
        assert row in result.stdout
    profile = [line.split("|")[1:-1] for line in result.stdout.split("Where the proxy's CPU goes")[1].split("\n\n")[1]
               .splitlines()[2:]]  # py-spy on path 12's workers (scripts/requirements-benchmark.txt)
    shares = {cells[0].strip(): float(cells[1].strip(" %")) for cells in profile}
    assert sum(share for part, share in shares.items() if part != "ours in all") == pytest.approx(100, abs=0.5)
    assert shares["ours in all"] > 0 and shares["LiteLLM: router and dispatch"] > 0, shares
    assert "time to first piece" in result.stdout
    share = next(line for line in result.stdout.splitlines() if line.startswith("| share of path 3's CPU"))
    assert 0 < float(share.split("|")[2].strip().rstrip(" %")) < 100, share  # the mapping's cost was measured
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| 0") or
            line.startswith(("| 1.", "| 2.", "| 2b.", "| 3.", "| 4.", "| 5.", "| 13.", "| 14.", "| 15."))]
    assert len(rows) == 11, rows
    for cells in rows:  # the answering server's CPU per request was measured for every path
        assert float(cells[-1]) > 0, cells
    streaming = result.stdout[result.stdout.index("## Streaming capacity"):]
    for table in ("### Concurrency sweep", "### Token rate"):
        rows = [line.split("|")[1:-1] for line in streaming[streaming.index(table):].split("\n\n")[1].splitlines()[2:]]
        # every stream on every path came back complete with the right text (the load generator checks each one)
        assert sorted(cells[1].strip() for cells in rows) == ["mock alone", "ours", "stock LiteLLM"], rows
        assert all(cells[2].strip() == "0" for cells in rows), rows
    assert "| unloaded TTFT overhead ≤ 25 ms p50 |" in streaming


def test_budget_benchmark_smoke_run():
    """scripts/bench/budget.py (issue 20) runs briefly, with Redis, and prints every row of its table."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench" / "budget.py"), "--rounds", "1",
                             "--calls", "50"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| (")]
    assert [cells[0].split(")")[0].strip("( ") for cells in rows] == ["a", "b", "c", "d1", "d2", "b"], rows
    for cells in rows:  # CPU and wall µs per call, as numbers
        assert float(cells[1]) == float(cells[1]) and float(cells[2]) == float(cells[2]), cells


def test_metrics_cost_smoke_run():
    """scripts/bench/metrics_cost.py (issue 21) runs briefly and prints both callbacks' CPU per call."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench" / "metrics_cost.py"), "--calls", "50"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {cells[0].strip(): float(cells[1]) for cells in
            (line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| ") and "µs" not in line
             and "---" not in line)}
    assert set(rows) == {"ours (adapter.hooks.metrics)", "LiteLLM's prometheus, success event",
                         "(an empty coroutine run the same way)"}, rows
    assert all(value > 0 for value in rows.values()), rows


def test_metrics_benchmark_smoke_run():
    """scripts/benchmark_metrics.py (issue 21): three proxies, one short round, every path answered without error."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "benchmark_metrics.py"), "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| ours-")
            or line.startswith("| none-") or line.startswith("| litellm-")]
    # On errors the output ends with the proxies' logs (a replaced worker's line says why it went).
    assert len(rows) == 6 and all(cells[-1].strip() == "0" and float(cells[-2]) > 0 for cells in rows), \
        result.stdout[-8000:]
