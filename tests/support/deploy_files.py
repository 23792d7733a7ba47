"""The deployment files (deploy/) as data, and what the code says they must agree with."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

import stack_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
COMPOSE_FILE = DEPLOY / "compose.yaml"
NGINX_CONF = DEPLOY / "nginx.conf"
SECRETS_EXAMPLE = KUBERNETES / "secrets.example.yaml"
# Read by Python or prometheus_client themselves, not by stack_settings.
OTHERS_VARIABLES = {"PYTHONPATH"}
# The readers stack_settings uses, and which argument is the variable's name: get("NAME", default),
# environ.get("NAME"), _int(values, "NAME", default), ...
_NAME_ARGUMENT = {"get": 0, "_int": 1, "_float": 1, "_port": 1, "_count": 1}


def settings_variables() -> set[str]:
    """Every variable name stack_settings reads, from its source (so a renamed setting is noticed here)."""
    tree = ast.parse(Path(stack_settings.__file__).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        reader = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        index = _NAME_ARGUMENT.get(reader)
        if index is not None and len(node.args) > index:
            arg = node.args[index]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.add(arg.value)
    return names


def defaults() -> stack_settings.Settings:
    """The settings with nothing set: no env file, no environment."""
    return stack_settings.load({"ENV_FILE": str(ROOT / "no-such-dir" / ".env")})


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def kustomization() -> dict:
    return yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text(encoding="utf-8"))


def manifest_files() -> list[Path]:
    """Every Kubernetes manifest here: what kustomization.yaml lists, plus the Secrets example."""
    return [KUBERNETES / name for name in kustomization()["resources"]] + [SECRETS_EXAMPLE]


def resources(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def applied() -> list[dict]:
    """The resources `kubectl apply -k deploy/kubernetes` creates."""
    return [doc for name in kustomization()["resources"] for doc in resources(KUBERNETES / name)]


def find(kind: str, name: str, docs: list[dict] | None = None) -> dict:
    matches = [d for d in (applied() if docs is None else docs)
               if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def container(deployment: str) -> dict:
    containers = find("Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def init_container(deployment: str) -> dict:
    containers = find("Deployment", deployment)["spec"]["template"]["spec"]["initContainers"]
    assert len(containers) == 1
    return containers[0]


def env_of(container_spec: dict) -> dict[str, str]:
    """A container's literal env values (secretKeyRef entries map to None)."""
    return {e["name"]: e.get("value") for e in container_spec.get("env", [])}


def expand(args: list[str], env: dict[str, str]) -> list[str]:
    """Kubernetes' $(NAME) expansion of command and args from the container's env."""
    return [re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env[m.group(1)], arg) for arg in args]


def interpolate_defaults(text: str) -> str:
    """Compose's ${NAME:-default} with nothing set: the default."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", r"\1", text)
