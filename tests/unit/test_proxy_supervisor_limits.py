"""proxy_supervisor: the listening socket's accept queue (--backlog) and the open-files limit the workers inherit."""

import resource

import proxy_supervisor
import stack_settings


def test_the_backlog_is_deep_by_default_and_passed_to_uvicorn(monkeypatch, tmp_path):
    monkeypatch.setenv("ENV_FILE", str(tmp_path / "none"))
    monkeypatch.delenv("LITELLM_PROXY_BACKLOG", raising=False)
    assert proxy_supervisor.config_of(proxy_supervisor.parse_args(["adapter.gateway:app"]), stack_settings.load()).backlog == 4096
    # Compose and Kubernetes start the supervisor without --backlog: the setting reaches it all the same.
    monkeypatch.setenv("LITELLM_PROXY_BACKLOG", "1024")
    assert proxy_supervisor.config_of(proxy_supervisor.parse_args(["adapter.gateway:app"]), stack_settings.load()).backlog == 1024
    args = proxy_supervisor.parse_args(["adapter.gateway:app", "--backlog", "8192"])
    assert proxy_supervisor.config_of(args, stack_settings.load()).backlog == 8192


def test_the_soft_open_files_limit_is_lifted_to_the_hard_one(monkeypatch):
    limits = {resource.RLIMIT_NOFILE: (1024, 65536)}
    monkeypatch.setattr(resource, "getrlimit", lambda kind: limits[kind])
    monkeypatch.setattr(resource, "setrlimit", lambda kind, value: limits.__setitem__(kind, value))
    proxy_supervisor.raise_open_files_limit()
    assert limits[resource.RLIMIT_NOFILE] == (65536, 65536)


def test_a_limit_that_cannot_be_lifted_is_left_as_it_is(monkeypatch):
    monkeypatch.setattr(resource, "getrlimit", lambda kind: (1024, resource.RLIM_INFINITY))

    def refuse(kind, value):
        raise ValueError("not allowed")

    monkeypatch.setattr(resource, "setrlimit", refuse)
    proxy_supervisor.raise_open_files_limit()  # logs a warning, does not stop the start
