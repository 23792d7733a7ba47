"""Run the proxy's workers under a process supervisor, whatever their number, so SIGHUP reloads them.

`uvicorn --workers 1` runs without a supervisor, and SIGHUP would simply end it. Here uvicorn's supervisor always
runs, with one change to its SIGHUP handling: it starts a full set of new workers, waits until every one is ready
(LiteLLM loaded, configuration read), and only then asks all the old ones to stop. An old worker stops taking
connections at once and finishes the requests and streams it has in flight; from then on every new request meets
the new configuration. If a new worker fails or is not ready in time, the new ones are stopped and the old ones
keep serving: a broken configuration is refused. Each worker reads src/.env, the config and the files afresh.

Metrics: the proxy's metrics callback (adapter/metering/metrics.py) writes each worker's samples to
PROXY_METRICS_DIR (prometheus_client's multiprocess mode), and /metrics sums the files of every worker, the
replaced ones included. The directory is emptied here, once, when the supervisor starts; a reload keeps it, so the
counts survive it.

This module deliberately does not import the `adapter` package: that would put the settings of the moment
(the master key, ...) into this process's environment, which the workers inherit, and a reload would not see a
changed src/.env.

    python -m proxy_supervisor adapter.gateway:app --app-dir src --host 127.0.0.1 --port 8080 --workers 2 ...
"""

from __future__ import annotations

import argparse
import logging
import resource
import signal
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process

import metrics_dir
import stack_settings

logger = logging.getLogger("uvicorn.error")

# A reload waits this long for its new workers to load LiteLLM and the configuration. uvicorn's one timeout
# (5 s) is too short for that; it stays the bound of each health ping, which a worker that died while being
# pinged makes the supervisor wait out in full.
WORKER_READY_SECONDS = 120
CONFIGURATION_ERROR = 2  # the exit code of every entry point that finds a bad setting (adapter/__init__.py)


class ReloadingSupervisor(Multiprocess):
    """uvicorn's supervisor, whose SIGHUP swaps the whole set of workers at once and never blocks on old ones."""

    def __init__(self, config: uvicorn.Config, sockets: list) -> None:
        super().__init__(config, sockets)
        self.retiring: list[Process] = []  # old workers finishing what they have in flight
        self.served: set[int] = set()  # pids of workers seen ready at least once
        self.exit_code = 0

    def restart_all(self) -> None:
        fresh = [Process(self.config, self.sockets) for _ in self.processes]
        for process in fresh:
            process.start()
        if not all(process.wait_until_ready(WORKER_READY_SECONDS, self.should_exit) for process in fresh):
            for process in fresh:
                process.kill()
                process.join()
            if not self.should_exit.is_set():
                logger.error("Reload refused: a new worker did not start (see above); the running workers are kept.")
            return
        for process in self.processes:
            process.terminate()
        self.retiring.extend(self.processes)
        self.processes = fresh
        self.served.update(process.pid for process in fresh)
        logger.info("Reload complete: workers %s serve; the old ones finish their requests in flight.",
                    [process.pid for process in fresh])

    def keep_subprocess_alive(self) -> None:
        """uvicorn's loop (replace a worker that died), except that a worker that dies before it ever served stops
        everything: it failed at start-up (a configuration error) and would fail again. uvicorn stops only for its own
        start-up failure code and otherwise starts such a worker again forever."""
        for process in [process for process in self.retiring if not process.process.is_alive()]:
            process.join()
            self.retiring.remove(process)
        for index, process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                if process.pid not in self.served and process.is_ready(timeout=1):
                    self.served.add(process.pid)
                continue
            hung = process.process.is_alive()  # running, but its health check went unanswered
            process.kill()
            process.join()
            if process.pid not in self.served or process.exitcode == STARTUP_FAILURE:
                logger.error("Child process [%s] exited with code %s before it was ready; stopping the parent process.",
                             process.pid, process.exitcode)
                self.exit_code = process.exitcode or STARTUP_FAILURE  # 2 for a configuration error, as it said
                self.should_exit.set()
                return
            logger.warning("Child process [%s] died: %s; starting a new one", process.pid,
                           self.why_gone(hung, process.exitcode))
            self.processes[index] = Process(self.config, self.sockets)
            self.processes[index].start()

    def why_gone(self, hung: bool, exitcode: int | None) -> str:
        """What the log says of a replaced worker: uvicorn's "died" alone cannot tell a crash, a kill from outside
        (the kernel's OOM killer sends SIGKILL) and a worker the supervisor gave up on."""
        if hung:
            return (f"it did not answer the supervisor's health check within {self.config.timeout_worker_healthcheck} s "
                    "(blocked, or starved of CPU), so it was killed")
        if exitcode is not None and exitcode < 0:  # multiprocessing's way of saying "ended by signal N"
            try:
                return f"killed by {signal.Signals(-exitcode).name}"
            except ValueError:
                return f"killed by signal {-exitcode}"
        return f"exited with code {exitcode}"

    def join_all(self) -> None:
        super().join_all()
        for process in self.retiring:
            process.join()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m proxy_supervisor", description=__doc__.splitlines()[0])
    parser.add_argument("app", help="the ASGI app as module:attribute")
    parser.add_argument("--app-dir", default="")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1)
    # The accept queue of the listening socket, which the workers share (uvicorn's default is 2048; the kernel caps
    # it at net.core.somaxconn). Thousands of streams opening within seconds overflow a short queue, and the clients
    # whose connections it drops see resets (the benchmark's 5,000 streams did). Unless given: LITELLM_PROXY_BACKLOG,
    # so that Compose and Kubernetes, which start this module directly, get it as start_services.sh does.
    parser.add_argument("--backlog", type=int, default=None)
    parser.add_argument("--http", default="auto")
    parser.add_argument("--loop", default="auto")
    parser.add_argument("--timeout-keep-alive", type=int, default=5)
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def config_of(args: argparse.Namespace, settings: stack_settings.Settings) -> uvicorn.Config:
    if args.app_dir:
        sys.path.insert(0, args.app_dir)  # as uvicorn --app-dir does; the workers inherit sys.path
    return uvicorn.Config(
        args.app,
        host=args.host,
        port=args.port,
        workers=max(args.workers, 1),
        backlog=args.backlog if args.backlog is not None else settings.litellm_proxy_backlog,
        http=args.http,
        loop=args.loop,
        timeout_keep_alive=args.timeout_keep_alive,
        log_level=args.log_level,
    )


def prepare_metrics(settings: stack_settings.Settings) -> None:
    """Empty the proxy's metrics directory of a previous run and hand it to the workers (they inherit it)."""
    metrics_dir.prepare(settings.proxy_metrics_dir)


def raise_open_files_limit() -> None:
    """The soft open-files limit up to the hard one (the workers inherit it): each open stream holds two sockets in
    a worker, the client's and the backend's, and a soft limit of 1,024 would refuse connections from ~500 streams."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as error:  # an unlimited hard limit above the kernel's nr_open
            logger.warning("could not raise the open-files limit from %s: %s", soft, error)


def configuration_error(error: Exception) -> int:
    print(f"configuration error: {error}", file=sys.stderr)
    return CONFIGURATION_ERROR


def main(argv: list[str] | None = None) -> int:
    raise_open_files_limit()
    try:
        settings = stack_settings.load()
    except stack_settings.SettingsError as error:
        return configuration_error(error)
    config = config_of(parse_args(sys.argv[1:] if argv is None else argv), settings)
    try:
        socket = config.bind_socket()
    except SystemExit:
        return STARTUP_FAILURE  # uvicorn has logged why (e.g. the port is in use)
    try:
        prepare_metrics(settings)  # after the bind: a second proxy refused its port must not empty the first one's files
    except OSError as error:
        return configuration_error(error)
    supervisor = ReloadingSupervisor(config, sockets=[socket])
    supervisor.run()
    return supervisor.exit_code


if __name__ == "__main__":
    sys.exit(main())
