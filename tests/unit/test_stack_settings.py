"""stack_settings: defaults, .env file, environment precedence, first-start secrets."""

import os
import stat

import pytest

import stack_settings


def write_env(tmp_path, text):
    path = tmp_path / ".env"
    path.write_text(text)
    return path


def test_defaults_bind_loopback_and_point_laas_at_the_mock(tmp_path):
    settings = stack_settings.load({"ENV_FILE": str(tmp_path / "missing.env")})
    assert settings.business_api_host == "127.0.0.1"
    assert settings.business_api_port == 8002
    assert settings.litellm_proxy_host == "127.0.0.1"
    assert settings.litellm_proxy_port == 8080
    assert settings.business_api_timeout == 60.0
    assert settings.business_api_max_connections == 4096
    assert settings.business_api_base == "http://127.0.0.1:8002"
    assert settings.laas_api_base == "http://127.0.0.1:8002/api/preset/v2"
    assert settings.log_level == "INFO"


def test_env_file_is_read_and_environment_wins(tmp_path):
    path = write_env(tmp_path, "BUSINESS_API_PORT=9100\nBUSINESS_API_KEY=from-file\nLOG_LEVEL=debug\n")
    settings = stack_settings.load({"ENV_FILE": str(path), "BUSINESS_API_KEY": "from-env"})
    assert settings.business_api_port == 9100
    assert settings.business_api_key == "from-env"
    assert settings.log_level == "DEBUG"
    assert settings.laas_api_base == "http://127.0.0.1:9100/api/preset/v2"


def test_wildcard_bind_host_is_reached_through_loopback(tmp_path):
    settings = stack_settings.load({"ENV_FILE": str(tmp_path / "none"), "BUSINESS_API_HOST": "0.0.0.0"})
    assert settings.business_api_base == "http://127.0.0.1:8002"


def test_explicit_backend_urls_are_kept_without_trailing_slash(tmp_path):
    settings = stack_settings.load(
        {"ENV_FILE": str(tmp_path / "none"), "LAAS_API_BASE": "https://laas.example/api/preset/v2/",
         "BUSINESS_API_BASE": "https://backend.example/"}
    )
    assert settings.laas_api_base == "https://laas.example/api/preset/v2"
    assert settings.business_api_base == "https://backend.example"


@pytest.mark.parametrize(
    "name, value", [("BUSINESS_API_PORT", "eighty"), ("BUSINESS_API_TIMEOUT", "soon"), ("BUSINESS_API_TIMEOUT", "0"),
                    ("BUSINESS_API_MAX_CONNECTIONS", "0"), ("BUSINESS_API_MAX_CONNECTIONS", "many"),
                    ("STREAM_CHUNKS_PER_SECOND", "fast"), ("STREAM_CHUNKS_PER_SECOND", "-1")]
)
def test_malformed_numbers_are_reported_by_name(tmp_path, name, value):
    with pytest.raises(stack_settings.SettingsError, match=name):
        stack_settings.load({"ENV_FILE": str(tmp_path / "none"), name: value})


def test_secrets_never_show_in_repr(tmp_path):
    settings = stack_settings.load(
        {"ENV_FILE": str(tmp_path / "none"), "LITELLM_MASTER_KEY": "sk-topsecret-1", "LAAS_API_KEY": "laas-secret-2"}
    )
    assert "topsecret" not in repr(settings)
    assert "laas-secret" not in repr(settings)
    assert set(settings.secrets) == {"sk-topsecret-1", "laas-secret-2"}


def test_create_env_file_generates_distinct_secrets_with_mode_0600(tmp_path):
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    assert stack_settings.create_env_file(first) is True
    assert stack_settings.create_env_file(second) is True
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    a = stack_settings.load({"ENV_FILE": str(first)})
    b = stack_settings.load({"ENV_FILE": str(second)})
    for name in ("litellm_master_key", "business_api_key", "laas_api_key", "laas_preset_hash"):
        assert getattr(a, name), name
        assert getattr(a, name) != getattr(b, name), name
    assert a.litellm_master_key.startswith("sk-") and len(a.litellm_master_key) > 30


def test_create_env_file_never_overwrites(tmp_path):
    path = write_env(tmp_path, "LITELLM_MASTER_KEY=keep-me\n")
    assert stack_settings.create_env_file(path) is False
    assert path.read_text() == "LITELLM_MASTER_KEY=keep-me\n"


def test_every_example_variable_is_read_by_load():
    names = {
        line.split("=", 1)[0]
        for line in stack_settings.ENV_EXAMPLE_FILE.read_text().splitlines()
        if line and not line.startswith("#")
    }
    assigned = {line.split("=", 1)[0] for line in
                stack_settings.shell_assignments(stack_settings.load({"ENV_FILE": "/nonexistent"})).splitlines()}
    assert names <= assigned


@pytest.mark.parametrize(
    "name, value",
    [("LITELLM_PROXY_PORT", "0"), ("BUSINESS_API_PORT", "70000"), ("LITELLM_PROXY_WORKERS", "0"),
     ("BUSINESS_API_THREADS", "-1"), ("LOG_LEVEL", "chatty")],
)
def test_out_of_range_values_are_reported_by_name(tmp_path, name, value):
    with pytest.raises(stack_settings.SettingsError, match=name):
        stack_settings.load({"ENV_FILE": str(tmp_path / "none"), name: value})


def test_stream_pacing_has_a_budget_by_default_and_zero_turns_it_off(tmp_path):
    assert stack_settings.load({"ENV_FILE": str(tmp_path / "none")}).stream_chunks_per_second == 500
    off = stack_settings.load({"ENV_FILE": str(tmp_path / "none"), "STREAM_CHUNKS_PER_SECOND": "0"})
    assert off.stream_chunks_per_second == 0


def test_log_level_aliases(tmp_path):
    assert stack_settings.load({"ENV_FILE": str(tmp_path / "none"), "LOG_LEVEL": "warn"}).log_level == "WARNING"


def test_ipv6_bind_host_is_bracketed_in_urls(tmp_path):
    settings = stack_settings.load({"ENV_FILE": str(tmp_path / "none"), "BUSINESS_API_HOST": "::1"})
    assert settings.business_api_base == "http://[::1]:8002"
    assert settings.laas_api_base == "http://[::1]:8002/api/preset/v2"


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://:secret@cache.internal:6380/1",
                                 "unix:///run/redis.sock"])
def test_redis_url_is_taken_as_given(tmp_path, url):
    assert stack_settings.load({"ENV_FILE": str(tmp_path / "none"), "REDIS_URL": url}).redis_url == url


@pytest.mark.parametrize("url", ["127.0.0.1:6379", "http://127.0.0.1:6379", "redis://"])
def test_a_malformed_redis_url_is_refused_by_name(tmp_path, url):
    with pytest.raises(stack_settings.SettingsError, match="REDIS_URL must look like redis://"):
        stack_settings.load({"ENV_FILE": str(tmp_path / "none"), "REDIS_URL": url})


def test_the_redis_password_is_a_secret_kept_out_of_logs(tmp_path):
    settings = stack_settings.load({"ENV_FILE": str(tmp_path / "none"), "REDIS_URL": "redis://:pw-123@h:6379/0"})
    assert "pw-123" in settings.secrets and "pw-123" not in repr(settings)


LAGO = {"LAGO_API_BASE": "https://lago.example/", "LAGO_API_KEY": "lago-key", "LAGO_API_EVENT_CODE": "llm_tokens"}


def test_lago_is_off_without_its_settings_and_on_with_all_three(tmp_path):
    off = stack_settings.load({"ENV_FILE": str(tmp_path / "none")})
    assert not off.lago_enabled and off.lago_default_customer_id == "unassigned"
    on = stack_settings.load({"ENV_FILE": str(tmp_path / "none"), **LAGO, "LAGO_DEFAULT_CUSTOMER_ID": "platform"})
    assert on.lago_enabled and on.lago_api_base == "https://lago.example"
    assert (on.lago_api_event_code, on.lago_default_customer_id) == ("llm_tokens", "platform")
    assert "lago-key" in on.secrets and "lago-key" not in repr(on)


@pytest.mark.parametrize("given", [["LAGO_API_BASE"], ["LAGO_API_KEY", "LAGO_API_EVENT_CODE"], ["LAGO_API_KEY"]])
def test_part_of_the_lago_settings_is_an_error_naming_the_missing_ones(tmp_path, given):
    missing = [name for name in LAGO if name not in given]
    with pytest.raises(stack_settings.SettingsError, match=f"missing: {', '.join(missing)}$"):
        stack_settings.load({"ENV_FILE": str(tmp_path / "none"), **{name: LAGO[name] for name in given}})


@pytest.mark.parametrize("name, value, words", [("LAGO_API_BASE", "lago.example", "http:// or https://"),
                                                ("LAGO_API_CHARGE_BY", "end_user_id", "LAGO_API_CHARGE_BY")])
def test_a_lago_base_without_scheme_and_a_charge_by_are_refused(tmp_path, name, value, words):
    with pytest.raises(stack_settings.SettingsError, match=words):
        stack_settings.load({"ENV_FILE": str(tmp_path / "none"), **LAGO, name: value})


def test_lago_settings_from_the_env_file_reach_litellm(tmp_path, monkeypatch):
    path = write_env(tmp_path, "".join(f"{name}={value}\n" for name, value in LAGO.items()))
    for name in (*LAGO, "LAGO_API_CHARGE_BY"):
        monkeypatch.setenv(name, "")  # so that the values set below are removed after the test
        monkeypatch.delenv(name)
    settings = stack_settings.load({"ENV_FILE": str(path)})
    stack_settings.prepare_litellm_environment(settings)
    assert {name: os.environ[name] for name in (*LAGO, "LAGO_API_CHARGE_BY")} == {
        **LAGO, "LAGO_API_BASE": "https://lago.example", "LAGO_API_CHARGE_BY": "user_id"}
    assert stack_settings.load({**os.environ, "ENV_FILE": str(path)}).lago_enabled  # a second load accepts it


def test_metrics_directories_are_per_service_under_log_dir_unless_set(tmp_path):
    settings = stack_settings.load({"ENV_FILE": str(tmp_path / "none"), "LOG_DIR": "/var/log/stack"})
    assert settings.proxy_metrics_dir == "/var/log/stack/prometheus/proxy"
    assert settings.business_api_metrics_dir == "/var/log/stack/prometheus/business_api"
    settings = stack_settings.load({"ENV_FILE": str(tmp_path / "none"), "PROXY_METRICS_DIR": "/run/p",
                                    "BUSINESS_API_METRICS_DIR": "/run/b"})
    assert (settings.proxy_metrics_dir, settings.business_api_metrics_dir) == ("/run/p", "/run/b")
