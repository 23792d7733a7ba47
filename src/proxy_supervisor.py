"""Run the proxy's workers under uvicorn's process supervisor, whatever their number, so SIGHUP reloads them.

`uvicorn --workers 1` runs without a supervisor, and SIGHUP would simply end it. Here the supervisor always runs:
on SIGHUP it starts a new worker, waits until it is ready (LiteLLM loaded, config read), and only then stops an
old one gracefully, one worker at a time; requests and streams in flight finish on the old worker. A new worker
that fails to start is killed and the old ones are kept. Each worker reads src/.env and the files afresh.

Metrics: LiteLLM's prometheus callback writes each worker's samples to PROXY_METRICS_DIR (prometheus_client's
multiprocess mode), and /metrics sums the files of every worker, the replaced ones included. The directory is
emptied here, once, when the supervisor starts; a reload keeps it, so the counts survive it.

This module deliberately does not import the `adapter` package: that would put the settings of the moment
(the master key, ...) into this process's environment, which the workers inherit, and a reload would not see a
changed src/.env.

    python -m proxy_supervisor adapter.gateway:app --app-dir src --host 127.0.0.1 --port 8080 --workers 2 ...
"""

from __future__ import annotations

import argparse
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

import stack_settings

# A new worker must load LiteLLM and the configuration before it serves; uvicorn's default wait (5 s) is too
# short for that, and a reload would then give up and keep the old workers.
WORKER_READY_SECONDS = 120


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m proxy_supervisor", description=__doc__.splitlines()[0])
    parser.add_argument("app", help="the ASGI app as module:attribute")
    parser.add_argument("--app-dir", default="")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--http", default="auto")
    parser.add_argument("--loop", default="auto")
    parser.add_argument("--timeout-keep-alive", type=int, default=5)
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def config_of(args: argparse.Namespace) -> uvicorn.Config:
    if args.app_dir:
        sys.path.insert(0, args.app_dir)  # as uvicorn --app-dir does; the workers inherit sys.path
    return uvicorn.Config(
        args.app,
        host=args.host,
        port=args.port,
        workers=max(args.workers, 1),
        http=args.http,
        loop=args.loop,
        timeout_keep_alive=args.timeout_keep_alive,
        log_level=args.log_level,
        timeout_worker_healthcheck=WORKER_READY_SECONDS,
    )


def prepare_metrics() -> None:
    """Empty the proxy's metrics directory of a previous run and hand it to the workers (they inherit it)."""
    directory = stack_settings.load().proxy_metrics_dir
    stack_settings.fresh_metrics_dir(directory)
    stack_settings.use_metrics_dir(directory)


def main(argv: list[str] | None = None) -> int:
    config = config_of(parse_args(sys.argv[1:] if argv is None else argv))
    try:
        socket = config.bind_socket()
    except SystemExit:
        return STARTUP_FAILURE  # uvicorn has logged why (e.g. the port is in use)
    try:
        prepare_metrics()  # after the bind: a second proxy refused its port must not empty the first one's files
    except (stack_settings.SettingsError, OSError) as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return STARTUP_FAILURE
    Multiprocess(config, sockets=[socket]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
