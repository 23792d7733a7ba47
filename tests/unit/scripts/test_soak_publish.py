"""scripts/soak.py --report-from: an earlier run's samples judged again and published into a report, its rest kept."""

import json

from bench.soak import report
from tests.support import scripts

soak = scripts.load("soak")


def earlier_run(rss_at_end_mb: float) -> dict:
    """A run's JSON as scripts/soak.py writes it: 12 samples 10 s apart, the first 2 warm-up."""
    def processes(rss_mb):
        return [{"pid": 10, "role": "supervisor", "rss_kb": 30 * 1024, "fds": 12},
                {"pid": 11, "role": "worker", "rss_kb": int((rss_mb - 30) * 1024), "fds": 40}]

    samples = [{"t": i * 10, "warmup": i < 2, "load": 1.5, "requests": i * 100, "counts": {"chat": {"200": i * 100}},
                "groups": {"proxy": processes(rss_at_end_mb if i == 11 else 400)}} for i in range(12)]
    return {"command": "scripts/soak.py --minutes 1.67", "date": "2026-12-07", "revision": "abc1234",
            "minutes": 1.67, "warmup_minutes": 0.33, "interval": 10, "concurrency": 12, "seconds": 120, "cores": 2,
            "load_average": 1.5, "proxy_workers": 1, "business": "gunicorn gevent", "note": "",
            "counts": {"chat": {"200": 1100}}, "expected": {"chat": ["200"]}, "usage_lines": 1100,
            "verdicts": [], "rules": {}, "samples": samples}


def test_an_earlier_run_is_published_in_place_of_the_old_section(tmp_path):
    source, output = tmp_path / "run.json", tmp_path / "benchmarks.md"
    source.write_text(json.dumps(earlier_run(400)))
    output.write_text(f"# Benchmarks\n\nkept\n\n{report.START}\n{report.HEADING}\n\nold run\n{report.END}\n\nafter\n")
    assert soak.main(["--report-from", str(source), "--publish", "--output", str(output), "--note", "A note."]) == 0
    text = output.read_text()
    assert text.startswith("# Benchmarks\n\nkept\n\n" + report.START) and text.endswith(report.END + "\n\nafter\n")
    assert "old run" not in text and "A note." in text and "1,100 requests in 2 minutes" in text
    written = json.loads((tmp_path / "benchmarks-soak.json").read_text())
    assert len(written["samples"]) == 12 and all(verdict["met"] for verdict in written["verdicts"])
    assert "[benchmarks-soak.json](benchmarks-soak.json)" in text
    assert (tmp_path / "benchmarks-soak.png").stat().st_size > 0  # matplotlib: scripts/requirements-benchmark.txt


def test_a_missed_target_is_exit_status_three_and_says_so(tmp_path):
    source = tmp_path / "run.json"
    source.write_text(json.dumps(earlier_run(440)))  # the last window 10 % above the first
    assert soak.main(["--report-from", str(source), "--json", str(tmp_path / "again.json")]) == soak.MISSED
    verdicts = json.loads((tmp_path / "again.json").read_text())["verdicts"]
    assert [v["check"] for v in verdicts if not v["met"]] == ["proxy: RSS growth after warm-up"]


def test_the_published_command_leaves_out_the_note():
    assert soak.without_note(["--minutes", "60", "--note", "Tests ran.", "--publish"]) == ["--minutes", "60", "--publish"]
    assert soak.without_note(["--note=Tests ran.", "--minutes", "60"]) == ["--minutes", "60"]
