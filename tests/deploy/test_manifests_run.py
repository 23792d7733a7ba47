"""The Kubernetes Deployments' own commands and environment, run for real on loopback (no cluster here).

Each container's command, args, workingDir and env are taken from deploy/kubernetes/ as they are, with only what a
cluster provides replaced: /app (the image's copy of this repository) by this checkout, the volumes by directories
filled from the ConfigMaps and Secret, Service names by 127.0.0.1 and free ports, 0.0.0.0 by 127.0.0.1.
REDIS_URL is left out: no Redis runs here (shared limits have their own tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import stack_settings
from adapter.keys.file import hash_key
from tests.deploy import deploy_files as files
from tests.deploy.deploy_files import ROOT
from tests.e2e.conftest import Service, free_ports, wait_healthy

IMAGE_PATHS = {"/app/.venv/bin/python": sys.executable,
               "/app/.venv/bin/gunicorn": str(Path(sys.executable).parent / "gunicorn"),
               "/app/src": str(ROOT / "src"), "/app": str(ROOT)}
TEAM_KEY = "sk-team-deploy-test"


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


def run(deployment: str, cluster: Cluster, secrets: dict[str, str], tmp: Path) -> Service:
    spec = files.container(deployment)
    env = {"PATH": "/usr/bin:/bin", "ENV_FILE": str(tmp / "no-env-file"), **secrets}
    for entry in spec.get("env", []):
        if entry["name"] == "REDIS_URL":
            continue
        env[entry["name"]] = cluster.local(entry["value"]) if "value" in entry else \
            secrets[entry["valueFrom"]["secretKeyRef"]["key"]]
    if deployment == "business-api":  # only the secrets it names one by one
        env = {k: v for k, v in env.items() if k not in secrets or k in files.env_of(spec)}
    command = [cluster.local(arg) for arg in files.expand(spec["command"] + spec.get("args", []), env)]
    log = tmp / f"{deployment}.log"
    with log.open("ab") as handle:
        process = subprocess.Popen(command, cwd=cluster.local(spec["workingDir"]), env=env,
                                   stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    return Service(deployment, process, log)


def post(url: str, key: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("k8s")
    business_port, proxy_port = (str(port) for port in free_ports(2))
    secrets = {name: make() for name, make in stack_settings.GENERATED_SECRETS.items()}
    proxy_volumes = volumes("proxy", tmp)
    cluster = Cluster(values={"0.0.0.0": "127.0.0.1", "8002": business_port, "8080": proxy_port},
                      hosts={"business-api:8002": f"127.0.0.1:{business_port}"},
                      paths={**IMAGE_PATHS, **proxy_volumes})
    business = run("business-api", cluster, secrets, tmp)
    proxy = None
    try:
        wait_healthy(business, f"http://127.0.0.1:{business_port}/health")
        proxy = run("proxy", cluster, secrets, tmp)
        wait_healthy(proxy, f"http://127.0.0.1:{proxy_port}/health/readiness")
        yield {"url": f"http://127.0.0.1:{proxy_port}", "master": secrets["LITELLM_MASTER_KEY"],
               "logs": Path(cluster.local(files.env_of(files.container("proxy"))["LOG_DIR"]))}
    finally:
        for service in (proxy, business):
            if service is not None:
                service.stop()


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
