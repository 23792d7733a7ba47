"""The metrics directory a service empties and hands to its workers when it starts."""

import os

import metrics_dir


def test_a_fresh_metrics_dir_is_created_or_emptied_of_metric_files_only(tmp_path):
    directory = tmp_path / "prometheus" / "proxy"
    metrics_dir.fresh_metrics_dir(str(directory))
    assert directory.is_dir() and not list(directory.iterdir())
    for name in ("counter_123.db", "histogram_123.db", "gauge_livesum_123.db", "litellm_admitted_series_x",
                 "notes.txt"):
        (directory / name).write_text("x")
    (directory / "sub").mkdir()
    metrics_dir.fresh_metrics_dir(str(directory))
    assert sorted(path.name for path in directory.iterdir()) == ["notes.txt", "sub"]


def test_the_metrics_dir_is_handed_to_prometheus_client_through_its_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/elsewhere")  # restored after the test, as before it
    metrics_dir.use_metrics_dir(str(tmp_path))
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)
