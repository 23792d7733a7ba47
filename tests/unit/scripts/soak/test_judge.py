"""scripts/bench/soak/judge.py: each target met or missed on samples built for it, windows after warm-up only."""

import pytest

from bench.soak import judge


def sample(t: float, warmup: bool, rss_mb: float, fds: int, pids=(1, 2)) -> dict:
    """One sample of one group, "proxy", its memory and files split over its processes."""
    share = len(pids)
    processes = [{"pid": pid, "role": "worker", "rss_kb": int(rss_mb * 1024 / share), "fds": fds // share}
                 for pid in pids]
    processes[0]["fds"] += fds % share
    return {"t": t, "warmup": warmup, "load": 1.0, "requests": 0, "groups": {"proxy": processes}}


def run(rss: list[float], fds: list[int], warmup: int = 2) -> list[dict]:
    return [sample(i * 10, i < warmup, mb, files) for i, (mb, files) in enumerate(zip(rss, fds))]


def test_growth_during_warm_up_does_not_count():
    samples = run([100, 400, 800, 800, 800, 800, 800, 800, 800, 800, 800, 810], [40] * 12)
    verdict = judge.rss_growth(samples, "proxy")
    assert verdict.met and "800 → 810 MB (+1.2%)" in verdict.value, verdict


def test_growth_above_three_percent_is_missed():
    samples = run([800] * 2 + [800 + 4 * i for i in range(20)], [40] * 22)
    verdict = judge.rss_growth(samples, "proxy")
    assert not verdict.met and verdict.target == "≤ 3%", verdict  # 800 → 876: the mean of the last 2 vs the first 2


def test_the_windows_are_a_tenth_of_the_samples_after_warm_up():
    samples = run([0] * 5 + list(range(100, 130)), [0] * 35, warmup=5)
    first, last = judge.windows(samples)
    assert [s["t"] for s in first] == [50, 60, 70] and [s["t"] for s in last] == [320, 330, 340]


def test_too_few_samples_after_warm_up_miss_the_targets():
    samples = run([800, 800, 800], [40, 40, 40], warmup=2)
    assert not judge.rss_growth(samples, "proxy").met and not judge.fds_flat(samples, "proxy").met


@pytest.mark.parametrize(("last", "met"), [(50, True), (51, False)])
def test_open_files_may_end_at_most_the_slack_above_the_first_window(last, met):
    samples = run([800] * 12, [40] * 11 + [last])
    verdict = judge.fds_flat(samples, "proxy")
    assert verdict.met is met and judge.FD_SLACK == 10, verdict


def test_a_replaced_worker_is_a_missed_target():
    samples = run([800] * 6, [40] * 6)
    samples[4] = sample(40, False, 800, 40, pids=(1, 3))
    verdict = judge.same_processes(samples, "proxy")
    assert not verdict.met and verdict.value == "changed at 40 s", verdict
    assert judge.same_processes(run([800] * 6, [40] * 6), "proxy").met


def test_only_statuses_outside_a_kinds_set_are_unexpected():
    expected = {"chat": frozenset({"200"}), "bad_json": frozenset({"400"})}
    counts = {"chat": {"200": 90, "500": 2, "200 incomplete stream": 1}, "bad_json": {"400": 30}}
    assert judge.unexpected(counts, expected) == {"chat": {"500": 2, "200 incomplete stream": 1}}
    verdict = judge.statuses(counts, expected)
    assert not verdict.met and verdict.value == "3; chat: 2 × 500, 1 × 200 incomplete stream", verdict
    assert judge.statuses({"chat": {"200": 90}, "bad_json": {"400": 30}}, expected).met


def test_a_400_where_200_is_expected_is_unexpected_and_the_other_way_round():
    expected = {"chat": frozenset({"200"}), "bad_json": frozenset({"400"})}
    assert judge.unexpected({"chat": {"400": 1}, "bad_json": {"200": 1}}, expected) == {
        "chat": {"400": 1}, "bad_json": {"200": 1}}


def test_a_kind_never_sent_is_a_missed_target():
    expected = {"chat": frozenset({"200"}), "embeddings": frozenset({"200"})}
    verdict = judge.every_kind_sent({"chat": {"200": 5}}, expected)
    assert not verdict.met and verdict.value == "1 of 2 (none of embeddings)", verdict


def test_judge_gives_three_verdicts_per_group_and_two_for_the_traffic():
    samples = run([800] * 12, [40] * 12)
    verdicts = judge.judge(samples, {"chat": {"200": 5}}, {"chat": frozenset({"200"})}, ["proxy"])
    assert [v.check.split(":")[0] for v in verdicts] == ["proxy"] * 3 + [
        "unexpected statuses (every kind has its expected set)", "kinds of request sent"]
    assert all(v.met for v in verdicts), verdicts
