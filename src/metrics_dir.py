"""The multiprocess directory of prometheus_client for a service: emptied of a previous run, handed to its workers.

Used by both services' master processes (proxy_supervisor.py, business_api/gunicorn_conf.py) when they start, before
any worker does; never on a reload, where the files of replaced workers keep their counts.
"""

from __future__ import annotations

import os
from pathlib import Path

# What prometheus_client's multiprocess mode (*.db, one file per process and metric kind) and LiteLLM's series
# cap (litellm_admitted_series_*) write in a metrics directory; nothing else there is removed.
METRICS_FILE_PATTERNS = ("*.db", "litellm_admitted_series_*")


def fresh_metrics_dir(directory: str) -> None:
    """Create `directory` and empty it of a previous run's metric files."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for pattern in METRICS_FILE_PATTERNS:
        for stale in path.glob(pattern):
            stale.unlink(missing_ok=True)


def use_metrics_dir(directory: str) -> None:
    """Hand prometheus_client its multiprocess directory; the workers this process starts inherit it."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


def prepare(directory: str) -> None:
    """At a service's start: a fresh directory, handed to the workers it is about to start."""
    fresh_metrics_dir(directory)
    use_metrics_dir(directory)
