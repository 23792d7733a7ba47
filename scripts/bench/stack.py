"""The stack a benchmark measures: ours via ./start_services.sh on free ports, plus untuned LiteLLM references."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

import stack_settings
from adapter.keys.file import Key, hash_key, save_keys

from .harness import ROOT, free_ports, start_logged, stop_process, wait_http
from .side_by_side import proxy_command

UNTUNED_RUNNER = ROOT / "scripts" / "untuned_litellm.py"
# Proxies of this checkout beside the stack, differing from each other only in config.yaml's metrics callback (issue
# 21), each serving nothing but its one path (the stack's proxy serves every path, and LiteLLM's lazily loaded routes
# and caches make its chat a little dearer): name → the callbacks.
METRICS_VARIANTS = {"metrics_on": ["adapter.hooks.usage_log", "adapter.hooks.metrics"],
                    "metrics_off": ["adapter.hooks.usage_log"],
                    "litellm_metrics": ["adapter.hooks.usage_log", "prometheus"]}
# Two keys-file keys for the budget paths (issue 20): one without a budget, one with a budget it never reaches.
PLAIN_KEY, BUDGETED_KEY = "sk-bench-plain-0123456789abcdef", "sk-bench-budgeted-0123456789abcdef"
# Path 2b: the least handler that calls a backend (bench/least_handler.py), served by the stack's own proxy beside
# path 3, priced as path 3's deployment is (config.yaml's zero prices), so that LiteLLM does the same work for both.
LEAST_MODEL = "least-handler"
LEAST_PROVIDER = {"provider": "least", "custom_handler": "bench.least_handler.handler"}


class BenchStack:
    """Our stack (via ./start_services.sh) plus an untuned LiteLLM reference proxy, on free ports."""

    def __init__(self, tmp: Path, workers: int | None):
        self.tmp = tmp
        business_port, proxy_port, untuned_port, untuned_ours_port = free_ports(4)
        env_file = tmp / ".env"
        stack_settings.create_env_file(env_file)
        names = [f.upper() for f in stack_settings.Settings.__dataclass_fields__]
        self.env = {k: v for k, v in os.environ.items() if k not in names and k != "CONFIG_FILE_PATH"}
        self.env.update(ENV_FILE=str(env_file), LOG_DIR=str(tmp / "logs"), BUSINESS_API_PORT=str(business_port),
                        LITELLM_PROXY_PORT=str(proxy_port), VENV=sys.prefix, NO_COLOR="1",
                        CONFIG_FILE_PATH=str(tmp / "config.yaml"), KEYS_FILE=str(tmp / "keys.yaml"))
        # start_services.sh puts src/ in front: scripts/ is where path 2b's handler lives (bench/least_handler.py).
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "scripts"), os.environ.get("PYTHONPATH")]))
        if workers:
            self.env["LITELLM_PROXY_WORKERS"] = str(workers)
        self.settings = stack_settings.load(self.env)
        self.business = f"http://127.0.0.1:{business_port}"
        self.proxy = f"http://127.0.0.1:{proxy_port}"
        self.untuned = f"http://127.0.0.1:{untuned_port}"
        self.untuned_ours = f"http://127.0.0.1:{untuned_ours_port}"
        self.untuned_processes: list[subprocess.Popen] = []
        self.variants: dict[str, tuple[str, subprocess.Popen]] = {}  # name → (url, process)
        self.write_configs()

    def write_configs(self) -> None:
        config = yaml.safe_load((ROOT / "src" / "config.yaml").read_text())
        floor = {"model_name": "litellm-floor",
                 "litellm_params": {"model": "openai/floor", "mock_response": "Mock answer", "api_key": "unused"}}
        compat = {"model_name": "openai-compatible",
                  "litellm_params": {"model": "openai/my-custom-model", "api_base": f"{self.business}/v1",
                                     "api_key": self.settings.business_api_key}}
        # LiteLLM's own OpenAI-like provider with no Messages or Responses API of its own: both are bridged to its chat
        # path, so its ratios to its own chat show what LiteLLM's bridges cost without this project's code.
        bridged = {"model_name": "litellm-bridged",
                   "litellm_params": {"model": "xinference/my-custom-model", "api_base": f"{self.business}/v1",
                                      "api_key": self.settings.business_api_key}}
        # The business path priced, so that a budgeted key's calls are charged (a zero cost is not counted).
        priced = {"model_name": "priced-chat", "litellm_params": {"model": "mapped/business/priced-chat"},
                  "model_info": {"mode": "chat", "input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6}}
        config["model_list"] += [floor, compat, bridged, priced]
        business = next(model for model in config["model_list"] if model["model_name"] == "my-custom-model")
        least = {"model_name": LEAST_MODEL, "litellm_params": {"model": f"least/{LEAST_MODEL}"},
                 "model_info": business["model_info"]}
        save_keys(self.tmp / "keys.yaml", [Key("bench-plain", hash_key(PLAIN_KEY)), Key(
            "bench-budgeted", hash_key(BUDGETED_KEY), max_budget=1e9, budget_duration="1d")])
        # Only the stack's proxy serves path 2b: its handler is imported from scripts/ (self.env's PYTHONPATH).
        settings = config["litellm_settings"]
        (self.tmp / "config.yaml").write_text(yaml.safe_dump({
            **config, "model_list": [*config["model_list"], least],
            "litellm_settings": {**settings, "custom_provider_map": [*settings["custom_provider_map"], LEAST_PROVIDER]}}))
        for name, callbacks in METRICS_VARIANTS.items():
            config["litellm_settings"]["callbacks"] = callbacks
            (self.tmp / f"config-{name}.yaml").write_text(yaml.safe_dump(config))
        untuned = {"model_list": [floor], "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"}}
        (self.tmp / "untuned.yaml").write_text(yaml.safe_dump(untuned))

    def start(self, references: bool = True) -> None:
        result = subprocess.run([str(ROOT / "start_services.sh")], cwd=ROOT, env=self.env, capture_output=True,
                                text=True, timeout=600)
        if result.returncode:
            raise SystemExit(f"benchmark: start_services.sh failed:\n{result.stdout}\n{result.stderr}")
        if not references:
            return
        # The reference: plain LiteLLM, one worker, uvicorn's pure-Python HTTP parser, no adapter at all, run as
        # a plain `pip install 'litellm[proxy]'` has it; and the same server with this project's packages.
        self.untuned_processes = [self.start_untuned(self.untuned, [str(UNTUNED_RUNNER)]),
                                  self.start_untuned(self.untuned_ours, ["-m", "uvicorn"])]
        for url in (self.untuned, self.untuned_ours):
            wait_http(f"{url}/health/liveliness", 120)

    def start_variants(self) -> None:
        """Our proxy again for each METRICS_VARIANTS entry, run as start_services.sh runs it, on the same business API."""
        for name in METRICS_VARIANTS:
            port = free_ports(1)[0]
            logs = self.tmp / f"logs-{name}"
            logs.mkdir(exist_ok=True)
            env = {**self.env, "CONFIG_FILE_PATH": str(self.tmp / f"config-{name}.yaml"), "LOG_DIR": str(logs),
                   "LITELLM_PROXY_PORT": str(port), "PROXY_METRICS_DIR": str(logs / "prometheus"),
                   "PYTHONPATH": str(ROOT / "src")}
            command = proxy_command(ROOT / "src", port, self.settings.litellm_proxy_workers,
                                    log_level=self.settings.log_level.lower())
            self.variants[name] = (f"http://127.0.0.1:{port}", start_logged(command, env, logs / "proxy.log", ROOT))
        for url, _ in self.variants.values():
            wait_http(f"{url}/health/liveliness", 180)

    def start_untuned(self, url: str, runner: list[str], config: str = "untuned.yaml", workers: int = 1,
                      loop: str = "uvloop") -> subprocess.Popen:
        """A LiteLLM proxy without this project's adapter or tuning, with a config file written into tmp.

        h11 and uvloop, as the `litellm` command of a plain install runs it (uvloop comes with litellm[proxy]).
        """
        env = {**self.env, "CONFIG_FILE_PATH": str(self.tmp / config),
               "LITELLM_MASTER_KEY": self.settings.litellm_master_key, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        port = url.rsplit(":", 1)[1]
        return start_logged(
            [sys.executable, *runner, "litellm.proxy.proxy_server:app", "--host", "127.0.0.1",
             "--port", port, "--workers", str(workers), "--http", "h11", "--loop", loop],
            env, self.tmp / "logs" / f"untuned-{port}.log")

    def stop(self) -> None:
        for process in [*self.untuned_processes, *(process for _, process in self.variants.values())]:
            stop_process(process)
        subprocess.run([str(ROOT / "stop_services.sh")], cwd=ROOT, env=self.env, capture_output=True, timeout=120)

    def pid(self, service: str) -> int:
        """The main pid of `litellm_proxy` or `business_api`, from the pid file start_services.sh wrote."""
        return int((self.tmp / "logs" / f"{service}.pid").read_text())

    def mock_server(self) -> str:
        """How the business API runs, e.g. "gunicorn gevent, 2 workers × 10000 connections"."""
        settings = self.settings
        per_worker = (f"{settings.business_api_threads} threads" if settings.business_api_worker_class == "gthread"
                      else f"{settings.business_api_worker_connections} connections")
        return f"gunicorn {settings.business_api_worker_class}, {settings.business_api_workers} workers × {per_worker}"
