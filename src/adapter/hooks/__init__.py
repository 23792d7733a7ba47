"""The objects src/config.yaml names: the handlers and the auth hook, built once from the settings.

A package, not a module file: LiteLLM execs a module *file* next to config.yaml afresh for every
name it resolves, but imports a package normally, so these objects exist once per process.
"""

import stack_settings
from adapter import client
from adapter.auth import make_auth
from adapter.handlers import BusinessHandler, LaasHandler
from adapter.media_handlers import EmbeddingHandler, ImageHandler

_settings = stack_settings.load()
client.configure(_settings.business_api_max_connections)

business_handler = BusinessHandler(_settings)
laas_handler = LaasHandler(_settings)
embedding_handler = EmbeddingHandler(_settings)
image_handler = ImageHandler(_settings)
user_api_key_auth = make_auth(_settings.litellm_master_key)
