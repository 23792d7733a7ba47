"""The objects src/config.yaml names: the providers, the auth hook and the callbacks, built once from the settings.

A package, not a module file: LiteLLM execs a module *file* next to config.yaml afresh for every
name it resolves, but imports a package normally, so these objects exist once per process.
Importing it loads every backend file the config's models name (mapped/<name>) and the keys file: a bad one
stops the proxy here, with a message naming the file and the key, before it serves anything.
The names (adapter.hooks.*) are what users' config.yaml files rely on: they stay.
"""

import adapter

# Before LiteLLM is imported (the providers import it): it reads part of its configuration from the environment.
_settings = adapter.settings()

import logging  # noqa: E402
from functools import partial  # noqa: E402

import litellm  # noqa: E402
import yaml  # noqa: E402

import stack_settings  # noqa: E402
from adapter.keys import KeyRing, KeysError  # noqa: E402
from adapter.keys.auth import make_auth, make_budget_check, make_key_check  # noqa: E402
from adapter.keys.budget import Budgets  # noqa: E402
from adapter.keys.budget_metrics import BudgetSeries  # noqa: E402
from adapter.mapping.load import MappingError  # noqa: E402
from adapter.mapping.registry import load_backends  # noqa: E402
from adapter.metering.charging import SpendMeter  # noqa: E402
from adapter.metering.lago import register as register_lago  # noqa: E402
from adapter.metering.metrics import Metrics, exposition, lost_lines, scraped_registry  # noqa: E402
from adapter.metering.prices import unpriced  # noqa: E402
from adapter.metering.spend import SpendReader, open_spend  # noqa: E402
from adapter.metering.usage_log import UsageLog  # noqa: E402
from adapter.providers.image import ImageProvider  # noqa: E402
from adapter.providers.laas import LaasProvider  # noqa: E402
from adapter.providers.mapped import MappedProvider  # noqa: E402
from adapter.upstream import client  # noqa: E402

client.configure(_settings.business_api_max_connections)

try:
    _backends = load_backends(_settings.config_file, _settings.backends_dir, stack_settings.variables(settings=_settings))
    # Looked at on every request (a stat, ~1 µs): a key added or revoked works or stops at once.
    _keys = KeyRing(_settings.keys_file, check_every=0)
except (MappingError, KeysError) as error:
    raise SystemExit(f"configuration error: {error}") from None

with open(_settings.config_file, encoding="utf-8") as _config:
    _litellm_config = yaml.safe_load(_config) or {}
_callbacks = (_litellm_config.get("litellm_settings") or {}).get("callbacks") or []
# LiteLLM's own callback and ours write the same series: both listed, every call would be counted twice.
LITELLM_PROMETHEUS, METRICS_CALLBACK = "prometheus", "adapter.hooks.metrics"
if LITELLM_PROMETHEUS in _callbacks and METRICS_CALLBACK in _callbacks:
    raise SystemExit(f"configuration error: {_settings.config_file}: litellm_settings.callbacks lists both "
                     f'"{LITELLM_PROMETHEUS}" and "{METRICS_CALLBACK}", which count the same series; keep one')

mapped_handler = MappedProvider(_settings, _backends)
laas_handler = LaasProvider(_settings)
image_handler = ImageProvider(_settings)
user_api_key_auth = make_auth(_settings.litellm_master_key, _keys)
# The same rules for the door, which checks the key before anything else (gateway.py).
key_check = make_key_check(_settings.litellm_master_key, _keys)
# A line LOG_DIR does not take is counted, copied to the service log and reported (docs/operations.md).
usage_log = UsageLog(_settings.log_dir, lost_lines())
# Not in config.yaml's callbacks, whose entries must all exist: added to LiteLLM's callbacks here, only when
# LAGO_API_BASE, LAGO_API_KEY and LAGO_API_EVENT_CODE are set (docs/operations.md, "Billing with Lago").
lago_meter = register_lago(_settings)

# Money budgets (keys/budget.py): checked by the door before a call, charged by this callback once LiteLLM has priced
# it. Added here rather than in config.yaml's callbacks so that no config can leave a key's budget unenforced.
_spend = open_spend(_settings.log_dir, _settings.redis_url)
budgets = Budgets(_spend, _keys)
budget_check = make_budget_check(_settings.litellm_master_key, _keys, budgets)
spend_meter = SpendMeter(budgets.charge)
litellm.logging_callback_manager.add_litellm_callback(spend_meter)

# Our metrics (metering/metrics.py) and the keys' budgets, served at GET /metrics by the door; with LiteLLM's
# "prometheus" callback listed instead, LiteLLM serves /metrics and these stay unregistered and unused (their
# series would clash with LiteLLM's).
_litellm_serves_metrics = LITELLM_PROMETHEUS in _callbacks
metrics = Metrics(registry=None) if _litellm_serves_metrics else Metrics()
metrics_page = None
if not _litellm_serves_metrics:
    _scraped = scraped_registry()
    _scraped.register(BudgetSeries(_keys, SpendReader(_settings.log_dir, _settings.redis_url).spent))
    metrics_page = partial(exposition, _scraped)

for _warning in unpriced(_litellm_config.get("model_list") or []):
    logging.getLogger("adapter").warning("%s: %s", _settings.config_file, _warning)
