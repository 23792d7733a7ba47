"""scripts/benchmark.py rewrites docs/benchmarks.md as a whole, and keeps the soak section (scripts/soak.py) as it was."""

from bench.soak import report
from tests.support import scripts

benchmark = scripts.load("benchmark")

SOAK = f"{report.START}\n{report.HEADING}\n\n60 minutes, every target met\n{report.END}\n"
STREAMS = "## Streaming capacity\n\nold streams\n"
BUDGET = f"{benchmark.BUDGET_HEADING}\n\nbudget table\n"


def test_the_soak_section_is_kept_at_the_end():
    old = f"# Benchmarks\n\nold report\n\n{STREAMS}\n{BUDGET}\n{SOAK}"
    new = benchmark.compose(old, "# Benchmarks\n\nnew report\n", None)
    assert new == f"# Benchmarks\n\nnew report\n\n{STREAMS}\n{BUDGET}\n{SOAK}"


def test_a_soak_section_right_after_another_is_kept_whole_and_not_copied_into_it():
    old = f"# Benchmarks\n\nold report\n\n{STREAMS}\n{SOAK}\n{BUDGET}"
    new = benchmark.compose(old, "# Benchmarks\n\nnew report\n", "## Streaming capacity\n\nnew streams\n")
    assert new.count(report.START) == 1 and new.count(report.END) == 1 and new.endswith(SOAK)
    assert "new streams" in new and "old streams" not in new and BUDGET in new


def test_a_report_without_a_soak_section_gets_none():
    new = benchmark.compose(f"# Benchmarks\n\nold report\n\n{BUDGET}", "# Benchmarks\n\nnew report\n", None)
    assert new == f"# Benchmarks\n\nnew report\n\n{BUDGET}" and report.START not in new
