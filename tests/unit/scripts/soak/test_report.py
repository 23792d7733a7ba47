"""scripts/bench/soak/report.py: the section between its markers, replaced or added, never touching the rest."""

from bench.soak import judge, report

SECTION = f"{report.START}\n{report.HEADING}\n\nold soak run\n{report.END}\n"
DOCUMENT = f"# Benchmarks\n\nthe main report\n\n## Budget check (issue 20)\n\nbudget table\n\n{SECTION}"


def test_publish_replaces_only_the_marked_section():
    new = f"{report.START}\n{report.HEADING}\n\nnew soak run\n{report.END}\n"
    published = report.publish(DOCUMENT, new)
    assert published == DOCUMENT.replace("old soak run", "new soak run")


def test_publish_adds_the_section_at_the_end_of_a_document_without_one():
    document = "# Benchmarks\n\nthe main report\n"
    assert report.publish(document, SECTION) == document + "\n" + SECTION
    assert report.publish("", SECTION) == SECTION


def test_split_marked_takes_the_section_out_whole():
    rest, marked = report.split_marked(DOCUMENT)
    assert marked == SECTION and report.START not in rest and rest.endswith("budget table\n")
    assert report.split_marked("# Benchmarks\n") == ("# Benchmarks\n", "")


def test_a_change_to_the_rest_keeps_the_section():
    """A section that runs to the next heading (streams_report.replace_section) would otherwise take the marker."""
    document = f"# Benchmarks\n\n## Streaming capacity\n\nold streams\n\n{SECTION}"

    def replace_streams(rest: str) -> str:
        start = rest.find("## Streaming capacity")
        end = rest.find("\n## ", start + 1)
        return rest[:start] + "## Streaming capacity\n\nnew streams\n" + (rest[end + 1:] if end >= 0 else "")

    changed = report.outside_marked(document, replace_streams)
    assert changed == f"# Benchmarks\n\n## Streaming capacity\n\nnew streams\n\n{SECTION}"


def test_the_section_states_the_rules_and_every_verdict_between_its_markers():
    processes = [{"pid": 7, "role": "worker", "rss_kb": 400 * 1024, "fds": 20}]
    samples = [{"t": t, "warmup": t < 20, "load": 2.0, "requests": t, "groups": {"proxy": processes}}
               for t in range(0, 100, 10)]
    run = {"command": "scripts/soak.py --minutes 1", "date": "2026-12-07", "revision": "abc1234", "minutes": 1,
           "warmup_minutes": 0.5, "interval": 10, "concurrency": 12, "seconds": 90, "cores": 2,
           "load_average": 2.0, "proxy_workers": 2, "business": "gunicorn gevent", "note": "Tests ran alongside.",
           "counts": {"chat": {"200": 900}}, "expected": {"chat": frozenset({"200"})}}
    verdicts = judge.judge(samples, run["counts"], run["expected"], ["proxy"])
    text = report.section(run, samples, verdicts, "benchmarks-soak.png", "benchmarks-soak.json")
    assert text.startswith(report.START + "\n" + report.HEADING) and text.endswith(report.END + "\n")
    assert judge.RSS_RULE in text and judge.FD_RULE in text and "Tests ran alongside." in text
    assert "900 requests in 1.5 minutes" in text and "Every target met." in text
    assert "| proxy worker | 7 | 400 → 400 | 20 → 20 |" in text and "| chat | 200 | 900 | 200: 900 |" in text
    assert all(f"| {v.check} |" in text for v in verdicts)
