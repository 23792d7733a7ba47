"""GET /metrics: the business API's request counts and latencies, by prometheus-flask-exporter."""

from __future__ import annotations

import os

from flask import Flask
from prometheus_client import CollectorRegistry
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

# By the route's rule (/api/process, /api/preset/v2/<preset_hash>, …), not the raw path: the label set stays
# bounded whatever paths clients send (an unknown path is "None").
GROUP_BY = "url_rule"


def install(app: Flask) -> PrometheusMetrics:
    """Count and time every request, and serve /metrics (no key, like /health: the service listens on loopback).

    Under gunicorn, gunicorn_conf.py sets PROMETHEUS_MULTIPROC_DIR (prometheus_client's own variable) before
    the workers start: each worker writes its samples there and /metrics sums every worker's files. Without it
    (an app made in tests) the counts are this process's, in a registry of this app's own.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return GunicornInternalPrometheusMetrics(app, group_by=GROUP_BY)
    return PrometheusMetrics(app, group_by=GROUP_BY, registry=CollectorRegistry())
