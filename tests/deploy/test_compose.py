"""deploy/compose.yaml and deploy/nginx.conf: valid (Compose specification schema, nginx's own parser), consistent."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import crossplane
import yaml

import proxy_supervisor
import stack_settings
from adapter.keys import __main__ as keys_cli
from adapter.door.routes import HEALTH_ROUTES
from tests.support import deploy_files as files
from tests.support.deploy_files import COMPOSE_FILE, DEPLOY, NGINX_CONF, ROOT

CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
ADAPTER_SERVICES = ("business-api", "proxy")


def check_compose_schema(path: Path) -> subprocess.CompletedProcess:
    """check-jsonschema's vendored copy of the Compose specification's schema: no network."""
    return subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_compose_file_is_valid_against_the_compose_specification():
    result = check_compose_schema(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_an_unknown_service_key(tmp_path):
    broken = files.compose()
    broken["services"]["proxy"]["replicas"] = 2  # belongs under deploy:
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = check_compose_schema(path)
    assert result.returncode == 1 and "replicas" in result.stdout + result.stderr


def service(name: str) -> dict:
    return files.compose()["services"][name]


def test_only_nginx_publishes_a_port_and_by_default_on_loopback_only():
    services = files.compose()["services"]
    publishing = sorted(name for name, spec in services.items() if spec.get("ports"))
    assert publishing == ["nginx"]
    (port,) = services["nginx"]["ports"]
    host, published, target = files.interpolate_defaults(port).split(":")
    assert host == "127.0.0.1" and target == str(nginx_listen_port())
    assert published == str(files.defaults().litellm_proxy_port)  # the port clients use without compose


def test_proxy_command_is_what_proxy_supervisor_accepts_listening_on_all_addresses():
    proxy = service("proxy")
    env = proxy["environment"]
    assert proxy["command"][:3] == ["/app/.venv/bin/python", "-m", "proxy_supervisor"]
    args = proxy_supervisor.parse_args(proxy["command"][3:])
    assert args.app == "adapter.gateway:app" and args.app_dir == "/app/src"
    assert args.host == env["LITELLM_PROXY_HOST"] == "0.0.0.0"
    assert args.port == int(env["LITELLM_PROXY_PORT"]) == files.defaults().litellm_proxy_port
    assert args.workers == int(env["LITELLM_PROXY_WORKERS"])
    assert proxy["deploy"]["replicas"] >= 2
    # the same command as the Kubernetes Deployment's, once its $(NAME)s are expanded
    k8s = files.container("proxy")
    assert proxy["command"] == files.expand(k8s["command"] + k8s["args"], files.env_of(k8s))


def test_business_api_command_and_address():
    business = service("business-api")
    assert business["command"] == files.container("business-api")["command"]
    assert business["working_dir"] == files.container("business-api")["workingDir"]
    assert business["environment"]["BUSINESS_API_HOST"] == "0.0.0.0"
    assert int(business["environment"]["BUSINESS_API_PORT"]) == files.defaults().business_api_port


def test_urls_name_services_and_ports_that_exist():
    env = service("proxy")["environment"]
    business_port = int(service("business-api")["environment"]["BUSINESS_API_PORT"])
    for name in ("BUSINESS_API_BASE", "LAAS_API_BASE"):
        url = urlsplit(env[name])
        assert (url.hostname, url.port) == ("business-api", business_port), name
    assert urlsplit(env["LAAS_API_BASE"]).path == urlsplit(files.defaults().laas_api_base).path
    redis = urlsplit(env["REDIS_URL"])
    assert redis.scheme == "redis" and redis.hostname == "redis" and redis.port == 6379
    assert "redis" in files.compose()["services"]
    assert env["REDIS_URL"] == files.env_of(files.container("proxy"))["REDIS_URL"]  # one URL, both deployments


def test_redis_keeps_what_it_acknowledged_on_a_volume_of_its_own():
    """The budgets' spend lives in Redis for a whole window: its append-only file on a named volume outlives a
    restart (tests/deploy/test_manifests_run.py restarts a redis-server with the same arguments)."""
    redis = service("redis")
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    mounts = {mount["target"]: mount for mount in redis["volumes"]}
    assert mounts["/data"]["type"] == "volume" and mounts["/data"]["source"] in files.compose()["volumes"]
    k8s = files.container("redis")["args"]
    assert k8s[k8s.index("--appendonly") + 1] == "yes"


def healthcheck_url(name: str) -> str:
    test = service(name)["healthcheck"]["test"]
    (url,) = re.findall(r"https?://[^'\" ]+", " ".join(test))
    return url


def test_healthchecks_ask_the_health_routes_on_the_service_port():
    proxy = urlsplit(healthcheck_url("proxy"))
    assert proxy.path == "/health/readiness" and proxy.path in HEALTH_ROUTES
    assert proxy.port == int(service("proxy")["environment"]["LITELLM_PROXY_PORT"])
    business = urlsplit(healthcheck_url("business-api"))
    assert business.path == "/health"
    assert business.port == int(service("business-api")["environment"]["BUSINESS_API_PORT"])
    assert urlsplit(healthcheck_url("nginx")).path in HEALTH_ROUTES
    assert urlsplit(healthcheck_url("nginx")).port == nginx_listen_port()


def test_writable_paths_are_tmpfs_or_volumes_on_a_read_only_root():
    proxy = service("proxy")
    env = proxy["environment"]
    tmpfs = {entry.split(":")[0] for entry in proxy["tmpfs"]}
    volumes = {v["target"]: v for v in proxy["volumes"]}
    assert proxy["read_only"] is True
    assert {"/tmp", env["PROXY_METRICS_DIR"]} <= tmpfs  # per container, empty at each start
    assert volumes[env["LOG_DIR"]].get("read_only") is not True
    keys = volumes[str(Path(env["KEYS_FILE"]).parent)]
    assert keys["read_only"] is True
    # the keys tool writes the same volume the proxies read, at the same path
    tool = service("keys")
    assert tool["environment"]["KEYS_FILE"] == env["KEYS_FILE"]
    assert {v["source"] for v in tool["volumes"]} == {keys["source"]}
    assert tool["entrypoint"][-2:] == ["-m", "adapter.keys"]
    assert keys_cli.parser().parse_args(tool["command"]).command == "list"
    # volume-init hands both named volumes to the user the adapter's containers run as
    init = service("volume-init")
    assert init["command"][:2] == ["chown", proxy["user"]]
    assert set(init["command"][2:]) == {v["target"] for v in proxy["volumes"]}


def test_adapter_containers_are_hardened_and_run_as_the_images_user():
    user = next(line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("USER "))
    for name in ADAPTER_SERVICES:
        spec = service(name)
        assert spec["user"] == user
        assert spec["read_only"] is True and spec["cap_drop"] == ["ALL"]
        assert spec["security_opt"] == ["no-new-privileges:true"]
        assert spec["build"] == {"context": "..", "dockerfile": "Dockerfile"}
        assert (COMPOSE_FILE.parent / spec["build"]["context"] / spec["build"]["dockerfile"]).resolve() == \
            (ROOT / "Dockerfile")


def test_environment_names_are_settings_or_read_by_python_or_prometheus():
    known = files.settings_variables() | files.OTHERS_VARIABLES
    for name, spec in files.compose()["services"].items():
        if spec.get("image", "").startswith("adapter-stack"):
            unknown = set(spec.get("environment", {})) - known
            assert not unknown, f"{name}: {sorted(unknown)} is read by nothing"


def test_secrets_come_from_a_git_ignored_env_file_whose_example_has_no_values():
    for name in ADAPTER_SERVICES:
        assert service(name)["env_file"] == [{"path": ".env", "required": True}]
    example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    entries = [line for line in example.splitlines() if line and not line.startswith("#")]
    assert entries == [f"{name}=" for name in stack_settings.GENERATED_SECRETS]
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/.env"], cwd=ROOT, timeout=30)
    assert ignored.returncode == 0, "deploy/.env must be git-ignored"
    assert subprocess.run(["git", "check-ignore", "-q", "deploy/.env.example"], cwd=ROOT, timeout=30).returncode == 1


def env_values(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and line[0] != "#")


def test_init_env_writes_fresh_secrets_shaped_like_stack_settings_and_never_overwrites(tmp_path):
    target = tmp_path / ".env"
    result = subprocess.run([str(DEPLOY / "init-env.sh"), str(target)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    values = env_values(target)
    generated = {name: make() for name, make in stack_settings.GENERATED_SECRETS.items()}
    assert set(values) == set(generated)
    for name, sample in generated.items():  # same alphabet, prefix and length as the first start's secrets
        shape = lambda v: (v[:3] == "sk-", len(v), set(v) <= set("0123456789abcdef"))  # noqa: E731
        assert shape(values[name]) == shape(sample), name
    again = subprocess.run([str(DEPLOY / "init-env.sh"), str(target)], capture_output=True, text=True, timeout=30)
    assert again.returncode != 0 and "left it alone" in again.stderr
    assert env_values(target) == values
    second = tmp_path / "second.env"
    subprocess.run([str(DEPLOY / "init-env.sh"), str(second)], check=True, capture_output=True, timeout=30)
    assert not set(values.values()) & set(env_values(second).values()), "secrets must be fresh each time"


def nginx_config() -> dict:
    parsed = crossplane.parse(str(NGINX_CONF), strict=True, check_ctx=True, check_args=True, single=True)
    assert parsed["status"] == "ok", parsed["errors"]
    (config,) = parsed["config"]
    return config


def directives(block: list[dict], name: str) -> list[dict]:
    """Every directive called `name` in `block` and below."""
    found = []
    for directive in block:
        if directive["directive"] == name:
            found.append(directive)
        found.extend(directives(directive.get("block", []), name))
    return found


def nginx_listen_port() -> int:
    (listen,) = directives(nginx_config()["parsed"], "listen")
    return int(listen["args"][0])


def test_nginx_config_parses_with_nginx_s_own_parser():
    assert nginx_config()["status"] == "ok"


def test_the_nginx_parser_rejects_a_broken_config(tmp_path):
    broken = tmp_path / "nginx.conf"
    broken.write_text(NGINX_CONF.read_text().replace("proxy_buffering off;", "proxy_bufering off;"))
    parsed = crossplane.parse(str(broken), strict=True, check_ctx=True, check_args=True, single=True)
    assert parsed["status"] == "failed" and "proxy_bufering" in parsed["errors"][0]["error"]


def test_nginx_balances_over_the_proxy_replicas_and_relays_streams():
    parsed = nginx_config()["parsed"]
    (upstream,) = directives(parsed, "upstream")
    (server,) = directives(upstream["block"], "server")
    host, port = server["args"][0].split(":")
    assert host == "proxy" and int(port) == int(service("proxy")["environment"]["LITELLM_PROXY_PORT"])
    assert "resolve" in server["args"]  # replicas added or restarted are found again
    (proxy_pass,) = directives(parsed, "proxy_pass")
    assert proxy_pass["args"] == [f"http://{upstream['args'][0]}"]
    assert [d["args"] for d in directives(parsed, "proxy_buffering")] == [["off"]]
    # nginx's own 413 (HTML) must not pre-empt the proxy's OpenAI-shaped one
    (body,) = directives(parsed, "client_max_body_size")
    assert float(body["args"][0].rstrip("m")) > files.defaults().max_request_body_mb
    # slower than the backend timeout the proxy enforces itself (it answers 504 in OpenAI shape first)
    (read_timeout,) = directives(parsed, "proxy_read_timeout")
    assert int(read_timeout["args"][0].rstrip("s")) > files.defaults().business_api_timeout


def test_nginx_writes_only_below_its_tmpfs():
    parsed = nginx_config()["parsed"]
    tmpfs = set(service("nginx")["tmpfs"])
    assert service("nginx")["read_only"] is True
    for name in ("pid", "client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path", "uwsgi_temp_path",
                 "scgi_temp_path"):
        (directive,) = directives(parsed, name)
        assert any(directive["args"][0].startswith(root + "/") for root in tmpfs), name
    mount = next(v for v in service("nginx")["volumes"] if v["target"] == "/etc/nginx/nginx.conf")
    assert (COMPOSE_FILE.parent / mount["source"]).resolve() == NGINX_CONF and mount["read_only"] is True

