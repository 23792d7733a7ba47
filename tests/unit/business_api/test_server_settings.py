"""The mock's gunicorn settings: worker class and connections from stack_settings, open-files limit lifted."""

import importlib
import os
import resource
import sys

import pytest

import stack_settings


def load(tmp_path, **values):
    return stack_settings.load({"ENV_FILE": str(tmp_path / "none"), **values})


def gunicorn_conf(monkeypatch, tmp_path, **values):
    """Execute business_api/gunicorn_conf.py afresh with these settings in the environment."""
    monkeypatch.setenv("ENV_FILE", str(tmp_path / "none"))
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("business_api.gunicorn_conf", None)
    return importlib.import_module("business_api.gunicorn_conf")


def test_defaults_are_gevent_with_thousands_of_connections_per_worker(tmp_path):
    settings = load(tmp_path)
    assert settings.business_api_worker_class == "gevent"
    assert settings.business_api_worker_connections == 10000  # gunicorn's own default is 1000
    assert settings.business_api_threads == 256


def test_worker_class_is_read_case_insensitively_and_checked(tmp_path):
    assert load(tmp_path, BUSINESS_API_WORKER_CLASS="GThread").business_api_worker_class == "gthread"
    with pytest.raises(stack_settings.SettingsError, match="BUSINESS_API_WORKER_CLASS must be one of gevent, gthread"):
        load(tmp_path, BUSINESS_API_WORKER_CLASS="sync")


@pytest.mark.parametrize("value", ["0", "lots"])
def test_worker_connections_must_be_a_positive_count(tmp_path, value):
    with pytest.raises(stack_settings.SettingsError, match="BUSINESS_API_WORKER_CONNECTIONS"):
        load(tmp_path, BUSINESS_API_WORKER_CONNECTIONS=value)


def test_the_new_settings_reach_the_service_scripts(tmp_path):
    lines = stack_settings.shell_assignments(load(tmp_path, BUSINESS_API_WORKER_CLASS="gthread")).splitlines()
    assert "BUSINESS_API_WORKER_CLASS=gthread" in lines
    assert "BUSINESS_API_WORKER_CONNECTIONS=10000" in lines


def test_gunicorn_conf_uses_the_settings(monkeypatch, tmp_path):
    conf = gunicorn_conf(monkeypatch, tmp_path, BUSINESS_API_WORKERS="3", BUSINESS_API_PORT="9123")
    assert (conf.worker_class, conf.worker_connections, conf.workers) == ("gunicorn_workers.GeventWorker", 10000, 3)
    assert conf.bind == "127.0.0.1:9123"
    conf = gunicorn_conf(monkeypatch, tmp_path, BUSINESS_API_WORKER_CLASS="gthread", BUSINESS_API_THREADS="8",
                         BUSINESS_API_WORKER_CONNECTIONS="300")
    assert (conf.worker_class, conf.threads, conf.worker_connections) == ("gunicorn_workers.ThreadWorker", 8, 300)


def test_open_files_soft_limit_is_lifted_to_what_the_connections_need(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(resource, "getrlimit", lambda kind: (1024, 65536))
    monkeypatch.setattr(resource, "setrlimit", lambda kind, limits: calls.append(limits))
    gunicorn_conf(monkeypatch, tmp_path, BUSINESS_API_WORKER_CONNECTIONS="5000")
    assert calls == [(5000 + 256, 65536)]


def test_a_hard_limit_too_low_is_reported_not_fatal(monkeypatch, tmp_path, capsys):
    calls = []
    monkeypatch.setattr(resource, "getrlimit", lambda kind: (1024, 4096))
    monkeypatch.setattr(resource, "setrlimit", lambda kind, limits: calls.append(limits))
    gunicorn_conf(monkeypatch, tmp_path)
    assert calls == [(4096, 4096)]
    assert "open-files limit 4096 is below the 10256" in capsys.readouterr().err


def test_a_high_enough_limit_is_left_alone(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(resource, "getrlimit", lambda kind: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    monkeypatch.setattr(resource, "setrlimit", lambda kind, limits: calls.append(limits))
    gunicorn_conf(monkeypatch, tmp_path)
    assert calls == []


def test_the_gevent_worker_is_importable():
    # The pinned gevent is installed and gunicorn accepts it (gunicorn checks the version on import).
    from gunicorn.workers import ggevent

    assert ggevent.GeventWorker


@pytest.mark.parametrize("name", ["gunicorn_workers.GeventWorker", "gunicorn_workers.ThreadWorker"])
def test_gunicorn_loads_the_worker_classes_the_conf_names(name):
    from gunicorn import util
    from gunicorn.workers import base

    assert issubclass(util.load_class(name), base.Worker)


def test_gunicorn_starting_empties_the_metrics_dir_and_hands_it_to_the_workers(monkeypatch, tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"stale")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/elsewhere")  # restored after the test
    conf = gunicorn_conf(monkeypatch, tmp_path, BUSINESS_API_METRICS_DIR=str(directory))
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == "/elsewhere"  # loading the settings changes nothing
    conf.on_starting(None)
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(directory) and not list(directory.iterdir())


def test_an_exited_worker_is_marked_dead_in_the_metrics_dir(monkeypatch, tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    for name in ("gauge_livesum_41.db", "gauge_all_41.db", "counter_41.db", "gauge_livesum_42.db"):
        (directory / name).write_bytes(b"x")
    conf = gunicorn_conf(monkeypatch, tmp_path, BUSINESS_API_METRICS_DIR=str(directory))
    conf.child_exit(None, type("Worker", (), {"pid": 41})())
    # prometheus_client drops the live gauges of the dead worker; its counters and other gauges keep their counts
    assert sorted(path.name for path in directory.iterdir()) == ["counter_41.db", "gauge_all_41.db",
                                                                 "gauge_livesum_42.db"]
