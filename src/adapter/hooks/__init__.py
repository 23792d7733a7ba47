"""The objects src/config.yaml names: the handlers and the auth hook, built once from the settings.

A package, not a module file: LiteLLM execs a module *file* next to config.yaml afresh for every
name it resolves, but imports a package normally, so these objects exist once per process.
Importing it loads every backend file the config's models name (mapped/<name>) and the keys file: a bad one
stops the proxy here, with a message naming the file and the key, before it serves anything.
"""

import stack_settings
from adapter import client
from adapter.auth import make_auth
from adapter.handlers import LaasHandler
from adapter.keys import KeyRing, KeysError
from adapter.mapped import MappedHandler
from adapter.mapping.load import MappingError
from adapter.mapping.registry import load_backends
from adapter.media_handlers import ImageHandler
from adapter.metering import UsageLog
from adapter.metering_lago import register as register_lago

_settings = stack_settings.load()
client.configure(_settings.business_api_max_connections)

try:
    _backends = load_backends(_settings.config_file, _settings.backends_dir, stack_settings.variables())
    # Looked at on every request (a stat, ~1 µs): a key added or revoked works or stops at once.
    _keys = KeyRing(_settings.keys_file, check_every=0)
except (MappingError, KeysError) as error:
    raise SystemExit(f"configuration error: {error}") from None

mapped_handler = MappedHandler(_settings, _backends)
laas_handler = LaasHandler(_settings)
image_handler = ImageHandler(_settings)
user_api_key_auth = make_auth(_settings.litellm_master_key, _keys)
usage_log = UsageLog(_settings.log_dir)
# Not in config.yaml's callbacks, whose entries must all exist: added to LiteLLM's callbacks here, only when
# LAGO_API_BASE, LAGO_API_KEY and LAGO_API_EVENT_CODE are set (CONFIGURATION_GUIDE.md, "Billing with Lago").
lago_meter = register_lago(_settings)
