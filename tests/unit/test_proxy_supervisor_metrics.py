"""proxy_supervisor.prepare_metrics: the proxy's metrics directory is emptied at start and handed to the workers."""

import os

import proxy_supervisor
import stack_settings


def test_the_proxys_metrics_dir_is_emptied_and_handed_to_the_workers(monkeypatch, tmp_path):
    directory = tmp_path / "prometheus" / "proxy"
    directory.mkdir(parents=True)
    (directory / "counter_7.db").write_bytes(b"a previous run")
    (directory / "litellm_admitted_series_litellm_requests_metric").write_bytes(b"a previous run")
    monkeypatch.setenv("ENV_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("PROXY_METRICS_DIR", str(directory))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/elsewhere")  # restored after the test
    proxy_supervisor.prepare_metrics(stack_settings.load())
    assert not list(directory.iterdir())
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(directory)


def test_a_missing_metrics_dir_is_created_under_log_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("ENV_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.delenv("PROXY_METRICS_DIR", raising=False)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/elsewhere")
    proxy_supervisor.prepare_metrics(stack_settings.load())
    assert (tmp_path / "logs" / "prometheus" / "proxy").is_dir()
