"""The image built from the Dockerfile (scripts/container.sh), and its commands run with buildah's chroot isolation.

Chroot isolation shares the host's network and pid namespace: a service in the container listens on the host's
loopback (ports are given through its environment), and its processes are the host's, so a test signals the
container's command by its pid, as `docker stop` signals a container's first process. Each run has a root of its
own (/var/tmp/buildahNNN/mnt/rootfs): the processes with that root are the run's, and only those are ever killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from tests.support.deploy_files import ROOT

BUILD_SCRIPT = ROOT / "scripts" / "container.sh"
IMAGE = "localhost/adapter-stack:test"
BUILD_SECONDS = 1500  # a fresh machine: Debian's packages for the base, then the requirements from PyPI


def build(image: str = IMAGE) -> str:
    """Build the Dockerfile into `image` with scripts/container.sh (base assembled or pulled, layers reused)."""
    result = subprocess.run([str(BUILD_SCRIPT), "build"], env={**os.environ, "IMAGE": image, "NO_COLOR": "1"},
                            capture_output=True, text=True, timeout=BUILD_SECONDS)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/container.sh build failed ({result.returncode}):\n"
                           f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return image


def image_config(image: str) -> dict:
    """The image's configuration as buildah keeps it (Docker format: Cmd, User, Env, Healthcheck, ...)."""
    result = subprocess.run(["buildah", "inspect", "--type", "image", image], capture_output=True, text=True,
                            timeout=60, check=True)
    return json.loads(result.stdout)["Docker"]["config"]


def _parent(pid: int) -> int | None:
    try:
        # The command name may hold spaces and parentheses: the fields follow the last ')'.
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def children(pid: int) -> list[int]:
    return [child for child in _pids() if _parent(child) == pid]


def _argv0(pid: int) -> bytes:
    """The process's program name as it shows it; empty for a zombie, one being made, or one gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return b""


def _is_buildah(pid: int) -> bool:
    """One of buildah's own processes (its chroot runtime and exec helper run from a memfd copy of buildah)."""
    return _argv0(pid).startswith(b"buildah")


def _descendants(pid: int) -> list[int]:
    found, level = [], children(pid)
    while level:
        found += level
        level = [grandchild for child in level for grandchild in children(child)]
    return found


def _command_of(pid: int) -> int | None:
    """The command buildah (`pid`) runs: the child of its exec helper (buildah-chroot-exec) that has exec'd the
    command; None while there is none yet (buildah's runtime also starts short-lived helpers of its own)."""
    for helper in _descendants(pid):
        if _argv0(helper) == b"buildah-chroot-exec":
            for child in children(helper):
                if _argv0(child) and not _is_buildah(child):
                    return child
    return None


def root_of(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/root")
    except OSError:
        return None


def uids_of(pid: int) -> list[int]:
    """Real, effective, saved and filesystem uid (/proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(field) for field in line.split()[1:]]
    raise AssertionError(f"no Uid line for pid {pid}")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def run_options(env: dict[str, str] | None = None, volumes: list[str] | tuple = (), user: str | None = None,
                workdir: str | None = None) -> list[str]:
    """`buildah run`'s options: environment, bind mounts (HOST:TARGET[:ro]), user, working dir."""
    options = ["--isolation", "chroot"]
    for name, value in (env or {}).items():
        options += ["--env", f"{name}={value}"]
    for volume in volumes:
        options += ["--volume", volume]
    if user:
        options += ["--user", user]
    if workdir:
        options += ["--workingdir", workdir]
    return options


class Running:
    """A long-running command of a container (`buildah run` in the background), its output in `log`."""

    def __init__(self, popen: subprocess.Popen, log: Path):
        self.popen, self.log, self._pid, self._root = popen, log, None, None

    def command_pid(self, timeout: float = 30) -> int:
        """The command's own process (what a container engine would call its first process).

        buildah runs its chroot runtime, which runs an exec helper, which starts the command.
        """
        deadline = time.monotonic() + timeout
        while self._pid is None:
            found = _command_of(self.popen.pid)
            # Its root must be the run's own: the host's ("/") would make every host process look like the run's.
            if found is not None and root_of(found) not in (None, "/"):
                self._pid, self._root = found, root_of(found)
            elif time.monotonic() > deadline or self.popen.poll() is not None:
                raise AssertionError(f"the container's command did not start:\n{self.tail()}")
            else:
                time.sleep(0.1)
        return self._pid

    def pids(self) -> list[int]:
        """Every live process of this run: those whose root is the run's root, buildah's helpers aside."""
        self.command_pid()
        return [pid for pid in _pids() if alive(pid) and root_of(pid) == self._root and not _is_buildah(pid)]

    def terminate(self) -> None:
        """SIGTERM to the command, as `docker stop` sends it (buildah itself does not forward signals)."""
        os.kill(self.command_pid(), signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL to every process of this run (a test's last resort), then to buildah."""
        if self._pid is not None:
            for pid in [pid for pid in _pids() if root_of(pid) == self._root]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(timeout=30)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no output)"


class Container:
    """A working container made from an image (`buildah from`), removed by `remove`."""

    def __init__(self, image: str):
        self.name = f"adapter-test-{uuid.uuid4().hex[:12]}"
        subprocess.run(["buildah", "from", "--pull=never", "--name", self.name, image], capture_output=True,
                       text=True, timeout=120, check=True)
        self.started: list[Running] = []

    def run(self, command: list[str], timeout: float = 180, **options) -> subprocess.CompletedProcess:
        """Run `command` to its end; its output as text (stdout and stderr together)."""
        return subprocess.run(["buildah", "run", *run_options(**options), self.name, "--", *command],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)

    def resolve(self, path: str) -> str:
        """`path` with the image's links followed (buildah mounts at the literal path, not through a link)."""
        with self.mounted() as root:
            resolved = PurePosixPath("/")
            pending = list(PurePosixPath(path).parts[1:])
            for _ in range(100):  # a bound, should the image hold a loop of links
                if not pending:
                    return str(resolved)
                step = resolved / pending.pop(0)
                on_host = Path(root) / step.relative_to("/")
                if on_host.is_symlink():
                    target = PurePosixPath(os.readlink(on_host))
                    pending = list(target.parts[1:] if target.is_absolute() else target.parts) + pending
                    resolved = PurePosixPath("/") if target.is_absolute() else resolved
                else:
                    resolved = step
        raise AssertionError(f"too many links in {path}")

    @contextmanager
    def mounted(self):
        """The container's root filesystem on the host, while the block runs."""
        mount = subprocess.run(["buildah", "mount", self.name], capture_output=True, text=True, timeout=60,
                               check=True).stdout.strip()
        try:
            yield mount
        finally:
            subprocess.run(["buildah", "umount", self.name], capture_output=True, timeout=60)

    def start(self, command: list[str], log: Path, **options) -> Running:
        """Start `command` in the background; stopped (killed if need be) by `remove` at the latest."""
        with log.open("ab") as output:
            popen = subprocess.Popen(["buildah", "run", *run_options(**options), self.name, "--", *command],
                                     stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        running = Running(popen, log)
        self.started.append(running)
        running.command_pid()
        return running

    def upper_files(self) -> list[str]:
        """What the container's commands wrote to its own filesystem (the overlay's upper layer), as paths."""
        with self.mounted() as mount:
            upper = Path(mount).parent / "diff"
            return sorted("/" + str(path.relative_to(upper)) for path in upper.rglob("*"))

    def remove(self) -> None:
        for running in self.started:
            running.kill()
        subprocess.run(["buildah", "rm", self.name], capture_output=True, timeout=120)
