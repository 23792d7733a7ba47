"""What a soak samples of each server: every process under its main pid (Linux /proc), resident memory and open files."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessSample:
    pid: int
    role: str  # what the process is, from its command line (supervisor, worker, ...)
    rss_kb: int
    fds: int


def children_of() -> dict[int, list[int]]:
    """Every live process's children, from /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # ended while being read
        children.setdefault(parent, []).append(int(entry))
    return children


def tree(root: int, children: dict[int, list[int]]) -> list[int]:
    """`root` and all its descendants (workers, and whatever the workers start), root first."""
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(sorted(children.get(pid, []), reverse=True))
    return found


def role(pid: int, root: int) -> str:
    """A short name for a process of a server's tree, from its command line."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    if "resource_tracker" in command:
        return "resource tracker"
    if pid == root:
        return "supervisor" if "proxy_supervisor" in command else "master" if "gunicorn" in command else "main"
    return "worker" if "spawn_main" in command or "gunicorn" in command else command[:40]


def sample_process(pid: int, root: int) -> ProcessSample | None:
    """Resident memory (VmRSS) and open file descriptors of one process; None if it is gone."""
    try:
        rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if line.startswith("VmRSS:"))
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration, ValueError):
        return None
    return ProcessSample(pid, role(pid, root), rss, fds)


def sample_groups(roots: dict[str, int]) -> dict[str, list[dict]]:
    """For each named server (group → its main pid), every process of its tree, as plain dicts (for the JSON)."""
    children = children_of()
    groups = {}
    for group, root in roots.items():
        samples = (sample_process(pid, root) for pid in tree(root, children))
        groups[group] = [asdict(sample) for sample in samples if sample is not None]
    return groups
