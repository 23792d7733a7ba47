"""gunicorn settings for the business API, taken from src/.env and the environment."""

import resource
import sys

import metrics_dir
import stack_settings

_settings = stack_settings.load()

bind = f"{_settings.business_api_host}:{_settings.business_api_port}"
workers = _settings.business_api_workers
# The mock mostly waits ([mock:sleep], [mock:chunk_delay]) while holding a connection. gevent (the default)
# waits in a greenlet per connection, so a worker holds up to worker_connections of them (measured: 5,000
# open streams on 2 cores, docs/dependencies.md); gthread holds only `threads` requests at once per worker.
# gunicorn's own, except that a stop (SIGTERM, a reload's old workers) closes idle keep-alive connections at once
# (src/gunicorn_workers.py): gunicorn would keep them open for up to `keepalive`, or until what is in flight ends.
worker_class = {"gevent": "gunicorn_workers.GeventWorker",
                "gthread": "gunicorn_workers.ThreadWorker"}[_settings.business_api_worker_class]
worker_connections = _settings.business_api_worker_connections
threads = _settings.business_api_threads  # gthread only
# Longer than the adapter's pooled connections stay idle (30 s), so it never reuses one gunicorn is closing.
keepalive = 75
timeout = 600  # [mock:sleep] may hold a request up to 300 s; the worker timeout is a heartbeat, not per request
# A reload (SIGHUP) lets old workers finish what they serve, [mock:sleep] and long streams included, for up to
# this long; stop_services.sh does not wait for it (SIGKILL after 10 s).
graceful_timeout = 300
loglevel = _settings.log_level.lower()
accesslog = "-"
errorlog = "-"
wsgi_app = "business_api:create_app()"

# Every open connection is a file descriptor: lift the soft limit (the workers inherit it) up to the hard one
# when it is below what worker_connections needs, plus room for listeners, logs and the interpreter's files.
_FILES_NEEDED = worker_connections + 256


def _raise_open_files_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft != resource.RLIM_INFINITY and soft < needed:
        print(f"business API: open-files limit {soft} is below the {needed} that "
              f"BUSINESS_API_WORKER_CONNECTIONS={worker_connections} needs; raise `ulimit -n`",
              file=sys.stderr)


_raise_open_files_limit(_FILES_NEEDED)


# Metrics (business_api/metrics.py): each worker writes its samples to a directory of the business API's own; /metrics
# sums every worker's files, those of replaced workers included.
_METRICS_DIR = _settings.business_api_metrics_dir


def on_starting(server):
    """Once, in the master, before any worker starts (not on a reload): drop the previous run's samples and hand
    the directory to the workers, which inherit the environment."""
    metrics_dir.prepare(_METRICS_DIR)


def child_exit(server, worker):
    """A worker ended: its live gauges leave the sums (its counters stay, as prometheus_client intends)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _METRICS_DIR)
