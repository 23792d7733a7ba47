"""The soak's targets, judged from its samples: memory and open files flat after warm-up, no unexpected status."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

RSS_GROWTH_LIMIT = 0.03  # the target: ≤ 3 % resident memory growth after warm-up
WINDOW_SHARE = 0.1  # each compared window is this share of the samples after warm-up (at least one sample)
FD_SLACK = 10  # open files may end this many above the first window's highest count (connections come and go)
RSS_RULE = (f"mean RSS of the last {WINDOW_SHARE:.0%} of the samples after warm-up vs the mean of the first "
            f"{WINDOW_SHARE:.0%}: growth ≤ {RSS_GROWTH_LIMIT:.0%}")
FD_RULE = (f"highest open-fd count in the last {WINDOW_SHARE:.0%} of the samples after warm-up ≤ the highest in the "
           f"first {WINDOW_SHARE:.0%} + {FD_SLACK}")


@dataclass(frozen=True)
class Verdict:
    check: str
    value: str
    target: str
    met: bool


def after_warmup(samples: list[dict]) -> list[dict]:
    return [sample for sample in samples if not sample["warmup"]]


def windows(samples: list[dict]) -> tuple[list[dict], list[dict]]:
    """The first and the last window of the samples after warm-up (empty when there are fewer than two)."""
    measured = after_warmup(samples)
    if len(measured) < 2:
        return [], []
    size = max(1, min(len(measured) // 2, round(len(measured) * WINDOW_SHARE)))
    return measured[:size], measured[-size:]


def rss_mb(sample: dict, group: str) -> float:
    return sum(process["rss_kb"] for process in sample["groups"][group]) / 1024


def fds(sample: dict, group: str) -> int:
    return sum(process["fds"] for process in sample["groups"][group])


def rss_growth(samples: list[dict], group: str) -> Verdict:
    first, last = windows(samples)
    check = f"{group}: RSS growth after warm-up"
    if not first:
        return Verdict(check, "fewer than 2 samples after warm-up", f"≤ {RSS_GROWTH_LIMIT:.0%}", False)
    before = statistics.mean(rss_mb(sample, group) for sample in first)
    after = statistics.mean(rss_mb(sample, group) for sample in last)
    growth = after / before - 1 if before else float("inf")
    return Verdict(check, f"{before:.0f} → {after:.0f} MB ({growth:+.1%})", f"≤ {RSS_GROWTH_LIMIT:.0%}",
                   growth <= RSS_GROWTH_LIMIT)


def fds_flat(samples: list[dict], group: str) -> Verdict:
    first, last = windows(samples)
    check = f"{group}: open file descriptors after warm-up"
    if not first:
        return Verdict(check, "fewer than 2 samples after warm-up", "flat", False)
    before, after = max(fds(sample, group) for sample in first), max(fds(sample, group) for sample in last)
    return Verdict(check, f"{before} → {after}", f"≤ {before} + {FD_SLACK}", after <= before + FD_SLACK)


def same_processes(samples: list[dict], group: str) -> Verdict:
    """Every sample saw the processes of the first: a worker that died or was replaced would hide its memory."""
    first = {process["pid"] for process in samples[0]["groups"][group]} if samples else set()
    changed = [sample["t"] for sample in samples if {p["pid"] for p in sample["groups"][group]} != first]
    value = f"{len(first)} processes throughout" if not changed else f"changed at {changed[0]:.0f} s"
    return Verdict(f"{group}: processes", value, "none died or replaced", bool(first) and not changed)


def unexpected(counts: dict[str, dict[str, int]], expected: dict[str, frozenset[str]]) -> dict[str, dict[str, int]]:
    """Per kind, the outcomes it should not have had, with their counts."""
    found = {}
    for kind, outcomes in counts.items():
        wrong = {outcome: n for outcome, n in outcomes.items() if outcome not in expected.get(kind, frozenset())}
        if wrong:
            found[kind] = wrong
    return found


def statuses(counts: dict[str, dict[str, int]], expected: dict[str, frozenset[str]]) -> Verdict:
    wrong = unexpected(counts, expected)
    total = sum(n for outcomes in wrong.values() for n in outcomes.values())
    value = str(total) + "".join(f"; {kind}: " + ", ".join(f"{n} × {outcome}" for outcome, n in outcomes.items())
                                 for kind, outcomes in wrong.items())
    return Verdict("unexpected statuses (every kind has its expected set)", value, "0", total == 0)


def every_kind_sent(counts: dict[str, dict[str, int]], expected: dict[str, frozenset[str]]) -> Verdict:
    missing = [kind for kind in expected if not sum(counts.get(kind, {}).values())]
    value = f"{len(expected) - len(missing)} of {len(expected)}" + (f" (none of {', '.join(missing)})" if missing else "")
    return Verdict("kinds of request sent", value, f"all {len(expected)}", not missing)


def judge(samples: list[dict], counts: dict[str, dict[str, int]], expected: dict[str, frozenset[str]],
          groups: list[str]) -> list[Verdict]:
    """Every target's verdict: per group memory, open files and processes; then the statuses and the mix."""
    verdicts = []
    for group in groups:
        verdicts += [rss_growth(samples, group), fds_flat(samples, group), same_processes(samples, group)]
    return verdicts + [statuses(counts, expected), every_kind_sent(counts, expected)]
