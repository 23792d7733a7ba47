"""deploy/kubernetes/: valid against Kubernetes' own schemas (offline, strict), and consistent with the code."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

import proxy_supervisor
import stack_settings
from adapter.keys.file import load_keys
from adapter.door.routes import HEALTH_ROUTES
from tests.support import deploy_files as files
from tests.support.deploy_files import KUBERNETES, ROOT

# Checked against Kubernetes 1.32 (older clusters) and 1.37 (the newest schemas kubernetes-validate 1.37.0 ships; it
# has 1.25-1.37). preStop's `sleep` action needs 1.30 or later.
KUBERNETES_VERSIONS = ("1.32.0", "1.37.0")
DEPLOYMENTS = ("proxy", "business-api", "redis")


def all_resources() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in files.manifest_files() for doc in files.resources(path)]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_against_the_strict_schema(version):
    checked = []
    for path, doc in all_resources():
        kubernetes_validate.validate(doc, version, strict=True)  # raises ValidationError, SchemaNotFoundError
        checked.append(f"{path.name}:{doc['kind']}/{doc['metadata']['name']}")
    kinds = {doc["kind"] for _, doc in all_resources()}
    assert {"Namespace", "ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler",
            "PodDisruptionBudget", "NetworkPolicy"} <= kinds, checked


def test_the_validator_rejects_what_a_cluster_would_reject():
    """The check above can fail: an unknown field and a misspelt kind are refused offline."""
    deployment = copy.deepcopy(files.find("Deployment", "proxy"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/x"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)
    typo = copy.deepcopy(files.find("Service", "proxy"))
    typo["spec"]["portz"] = typo["spec"].pop("ports")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, KUBERNETES_VERSIONS[0], strict=True)


def test_kustomization_lists_every_manifest_but_the_secrets_example():
    listed = files.kustomization()["resources"]
    present = sorted(p.name for p in KUBERNETES.glob("*.yaml")
                     if p.name not in ("kustomization.yaml", files.SECRETS_EXAMPLE.name))
    assert sorted(listed) == present
    assert files.SECRETS_EXAMPLE.name not in listed  # placeholders must never be applied by `kubectl apply -k`
    assert files.kustomization()["namespace"] == files.find("Namespace", "adapter")["metadata"]["name"]


def test_configmaps_are_up_to_date_with_src():
    spec = importlib.util.spec_from_file_location("render_configmaps", KUBERNETES / "render_configmaps.py")
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    assert (KUBERNETES / "configmaps.yaml").read_text(encoding="utf-8") == render.render(), (
        "deploy/kubernetes/configmaps.yaml is stale: run .venv/bin/python deploy/kubernetes/render_configmaps.py")


def test_configmaps_hold_config_yaml_and_every_backend_file_verbatim():
    config = files.find("ConfigMap", "adapter-config")["data"]
    backends = files.find("ConfigMap", "adapter-backends")["data"]
    assert config == {"config.yaml": (ROOT / "src" / "config.yaml").read_text(encoding="utf-8")}
    expected = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "src" / "backends").glob("*.yaml")}
    assert backends == expected
    # every mapped/<name> model of the config has its file in the backends ConfigMap
    models = yaml.safe_load(config["config.yaml"])["model_list"]
    mapped = {m["litellm_params"]["model"].split("/")[1] for m in models
              if m["litellm_params"]["model"].startswith("mapped/")}
    assert mapped and {f"{name}.yaml" for name in mapped} <= set(backends)


def mounts(deployment: str) -> dict[str, dict]:
    """mountPath -> the volume mounted there."""
    pod = files.find("Deployment", deployment)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    return {m["mountPath"]: volumes[m["name"]] for m in files.container(deployment).get("volumeMounts", [])}


def test_proxy_paths_point_where_the_configmaps_secret_and_emptydirs_are_mounted():
    env = files.env_of(files.container("proxy"))
    at = mounts("proxy")
    config_dir, config_name = str(Path(env["CONFIG_FILE_PATH"]).parent), Path(env["CONFIG_FILE_PATH"]).name
    assert at[config_dir]["configMap"]["name"] == "adapter-config"
    assert config_name in files.find("ConfigMap", "adapter-config")["data"]
    assert at[env["BACKENDS_DIR"]]["configMap"]["name"] == "adapter-backends"
    keys_dir, keys_name = str(Path(env["KEYS_FILE"]).parent), Path(env["KEYS_FILE"]).name
    assert at[keys_dir]["secret"]["secretName"] == "adapter-keys"
    example_keys = files.find("Secret", "adapter-keys", files.resources(files.SECRETS_EXAMPLE))
    assert keys_name in example_keys["stringData"]
    # writable, per pod: the usage lines and prometheus_client's per-worker files
    assert "emptyDir" in at[env["LOG_DIR"]] and "emptyDir" in at[env["PROXY_METRICS_DIR"]]
    assert "emptyDir" in at["/tmp"]
    # no subPath: a subPath mount would never see the Secret's updates (the keys file is re-read when it changes)
    assert all("subPath" not in m for m in files.container("proxy")["volumeMounts"])


def test_proxy_command_is_what_proxy_supervisor_accepts_listening_on_all_addresses():
    spec = files.container("proxy")
    env = files.env_of(spec)
    command = files.expand(spec["command"] + spec["args"], env)
    assert command[:3] == ["/app/.venv/bin/python", "-m", "proxy_supervisor"]
    assert (ROOT / "src" / "proxy_supervisor.py").is_file()
    args = proxy_supervisor.parse_args(command[3:])
    assert args.app == "adapter.gateway:app" and args.app_dir == "/app/src"
    assert args.host == env["LITELLM_PROXY_HOST"] == "0.0.0.0"
    assert args.port == int(env["LITELLM_PROXY_PORT"]) == files.defaults().litellm_proxy_port
    assert args.workers == int(env["LITELLM_PROXY_WORKERS"]) >= 1
    assert spec["ports"] == [{"name": "http", "containerPort": args.port}]


def test_business_api_listens_on_all_addresses_on_its_default_port():
    spec = files.container("business-api")
    env = files.env_of(spec)
    assert spec["command"] == ["/app/.venv/bin/gunicorn", "-c", "business_api/gunicorn_conf.py"]
    assert spec["workingDir"] == "/app/src" and (ROOT / "src" / "business_api" / "gunicorn_conf.py").is_file()
    assert env["BUSINESS_API_HOST"] == "0.0.0.0"
    assert int(env["BUSINESS_API_PORT"]) == files.defaults().business_api_port
    assert spec["ports"] == [{"name": "http", "containerPort": int(env["BUSINESS_API_PORT"])}]


def test_probes_use_health_routes_the_door_serves():
    proxy = files.container("proxy")
    assert proxy["readinessProbe"]["httpGet"]["path"] == "/health/readiness"
    assert proxy["livenessProbe"]["httpGet"]["path"] == "/health/liveliness"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert proxy[probe]["httpGet"]["path"] in HEALTH_ROUTES
        assert proxy[probe]["httpGet"]["port"] == "http"
    business = files.container("business-api")
    for probe in ("livenessProbe", "readinessProbe"):
        assert business[probe]["httpGet"] == {"path": "/health", "port": "http"}


def service_address(name: str) -> tuple[str, int]:
    service = files.find("Service", name)
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": name}
    (port,) = service["spec"]["ports"]
    return name, port["port"]


def test_urls_name_the_services_and_ports_that_exist():
    env = files.env_of(files.container("proxy"))
    business = urlsplit(env["BUSINESS_API_BASE"])
    assert (business.hostname, business.port) == service_address("business-api")
    laas = urlsplit(env["LAAS_API_BASE"])
    assert (laas.hostname, laas.port) == service_address("business-api")
    assert laas.path == urlsplit(files.defaults().laas_api_base).path  # the mock's LaaS endpoint
    redis = urlsplit(env["REDIS_URL"])
    assert redis.scheme == "redis" and (redis.hostname, redis.port) == service_address("redis")
    # each Service's targetPort is a named port of the pods it selects
    for name in DEPLOYMENTS:
        (port,) = files.find("Service", name)["spec"]["ports"]
        assert port["targetPort"] in {p["name"] for p in files.container(name)["ports"]}


def test_selectors_match_the_pods_they_mean():
    for name in DEPLOYMENTS:
        deployment = files.find("Deployment", name)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    proxy_labels = files.find("Deployment", "proxy")["spec"]["template"]["metadata"]["labels"]
    assert files.find("PodDisruptionBudget", "proxy")["spec"]["selector"]["matchLabels"].items() <= proxy_labels.items()
    hpa = files.find("HorizontalPodAutoscaler", "proxy")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "proxy"}
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    assert "replicas" not in files.find("Deployment", "proxy")["spec"]  # each `kubectl apply` would reset the HPA
    for policy in (d for d in files.applied() if d["kind"] == "NetworkPolicy"):
        target = policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
        (rule,) = policy["spec"]["ingress"]
        (port,) = rule["ports"]
        assert port["port"] == service_address(target)[1]
        assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "proxy"}}}]


def test_proxy_waits_for_the_redis_it_will_use():
    wait = files.init_container("proxy")
    assert files.env_of(wait) == {"REDIS_URL": files.env_of(files.container("proxy"))["REDIS_URL"]}
    assert wait["image"] == files.container("proxy")["image"]
    assert wait["securityContext"] == files.container("proxy")["securityContext"]
    assert set(wait["resources"]["requests"]) == set(wait["resources"]["limits"]) == {"cpu", "memory"}


def test_every_pod_is_non_root_read_only_without_privileges_and_sized():
    for name in DEPLOYMENTS:
        pod = files.find("Deployment", name)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        # Service links would put BUSINESS_API_PORT=tcp://… (from the business-api Service) into every pod's
        # environment, where stack_settings reads its own BUSINESS_API_PORT.
        assert pod["enableServiceLinks"] is False
        spec = files.container(name)
        assert spec["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                           "capabilities": {"drop": ["ALL"]}}
        for kind in ("requests", "limits"):
            assert set(spec["resources"][kind]) == {"cpu", "memory"}
    # the image's user (Dockerfile USER) is the one the adapter's pods run as
    user = next(line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("USER "))
    for name in ("proxy", "business-api"):
        context = files.find("Deployment", name)["spec"]["template"]["spec"]["securityContext"]
        assert user == f"{context['runAsUser']}:{context['runAsGroup']}"


def test_environment_names_are_settings_or_read_by_python_or_prometheus():
    known = files.settings_variables() | files.OTHERS_VARIABLES
    for name in DEPLOYMENTS[:2]:
        spec = files.container(name)
        unknown = {e["name"] for e in spec.get("env", [])} - known
        assert not unknown, f"{name}: {sorted(unknown)} is read by nothing"
        for entry in spec.get("env", []):
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref:  # the Secret example has every key a pod takes from it
                example = files.find("Secret", ref["name"], files.resources(files.SECRETS_EXAMPLE))
                assert ref["key"] in example["stringData"]


def test_secrets_example_has_placeholders_for_exactly_the_generated_secrets():
    env_secret = files.find("Secret", "adapter-env", files.resources(files.SECRETS_EXAMPLE))
    assert set(env_secret["stringData"]) == set(stack_settings.GENERATED_SECRETS)
    assert all(value.startswith("CHANGE-ME") for value in env_secret["stringData"].values())
    assert [ref["secretRef"]["name"] for ref in files.container("proxy")["envFrom"]] == ["adapter-env"]


def test_secrets_example_keys_file_is_a_valid_keys_file_that_matches_no_key(tmp_path):
    keys_secret = files.find("Secret", "adapter-keys", files.resources(files.SECRETS_EXAMPLE))
    path = tmp_path / "keys.yaml"
    path.write_text(keys_secret["stringData"]["keys.yaml"], encoding="utf-8")
    keys = load_keys(path)
    assert [key.alias for key in keys.values()] == ["example-team"]
    assert set(keys) == {"sha256:" + "0" * 64}  # no sha256 of any real key
    assert "CHANGE-ME" in keys_secret["stringData"]["keys.yaml"]
