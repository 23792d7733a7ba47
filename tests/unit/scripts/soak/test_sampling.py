"""scripts/bench/soak/sampling.py: a server's whole process tree read from /proc, with its memory and open files."""

import os
import subprocess
import sys
import time

from bench.soak import sampling

# A process that starts a worker, which starts one more: the tree is three deep.
TREE = ("import subprocess, sys, time\n"
        "depth = int(sys.argv[1])\n"
        "child = subprocess.Popen([sys.executable, '-c', sys.argv[2], str(depth - 1), sys.argv[2]]) if depth else None\n"
        "time.sleep(60)\n")


def test_the_tree_holds_every_descendant_and_each_is_sampled():
    root = subprocess.Popen([sys.executable, "-c", TREE, "2", TREE])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the last one runs its interpreter, not only forked
            pids = sampling.tree(root.pid, sampling.children_of())
            processes = sampling.sample_groups({"server": root.pid})["server"]
            if len(pids) == 3 and all(process["rss_kb"] > 4000 for process in processes):
                break
            time.sleep(0.1)
        assert len(pids) == 3 and pids[0] == root.pid
        assert [process["pid"] for process in processes] == pids
        assert all(process["rss_kb"] > 4000 and process["fds"] >= 3 for process in processes), processes
    finally:
        for pid in reversed(sampling.tree(root.pid, sampling.children_of())):
            os.kill(pid, 9)
        root.wait(timeout=10)


def test_open_files_are_counted():
    before = sampling.sample_process(os.getpid(), os.getpid()).fds
    files = [open(os.devnull) for _ in range(5)]
    try:
        assert sampling.sample_process(os.getpid(), os.getpid()).fds == before + 5
    finally:
        for handle in files:
            handle.close()


def test_a_process_that_is_gone_gives_no_sample():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    assert sampling.sample_process(process.pid, process.pid) is None
