"""Which processes a test's service runs and which of them serves a given connection, read from /proc (Linux)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx

ESTABLISHED = "01"


def children(pid: int, command: str = "") -> set[int]:
    """The live child processes of `pid` whose command line contains `command` (e.g. the proxy's workers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after its last ')'
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z" and command in _command_line(entry):
            found.add(int(entry.name))
    return found


def _command_line(entry: Path) -> str:
    try:
        return (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_for_children(pid: int, count: int, command: str = "", without: set[int] = frozenset(),
                      seconds: float = 20) -> set[int]:
    """The children of `pid` running `command` once there are `count` of them and none is in `without`; fails after
    `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        now = children(pid, command)
        if len(now) == count and not now & without:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"{pid} has children {sorted(now)} after {seconds} s, expected {count} "
                                 f"other than {sorted(without)}")
        time.sleep(0.2)


def _server_socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the established loopback socket whose local port is `server_port` and peer port `client_port`."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        row = line.split()
        if (int(row[1].split(":")[1], 16) == server_port and int(row[2].split(":")[1], 16) == client_port
                and row[3] == ESTABLISHED):
            return row[9]
    return None


def serving_pid(server_port: int, client_port: int, candidates: set[int]) -> int | None:
    """Which of `candidates` holds the server end of the connection from `client_port` (None: none of them)."""
    inode = _server_socket_inode(server_port, client_port)
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in candidates:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                continue
    return None


def client_port(response: httpx.Response) -> int:
    """The local port of the connection an httpx response came on (while that connection is open)."""
    return response.extensions["network_stream"].get_extra_info("client_addr")[1]
