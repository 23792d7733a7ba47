"""gunicorn settings for the business API, taken from src/.env and the environment."""

import stack_settings

_settings = stack_settings.load()

bind = f"{_settings.business_api_host}:{_settings.business_api_port}"
workers = _settings.business_api_workers
# Threads, not processes, carry the concurrency: the mock mostly sleeps ([mock:sleep]) or answers at once.
worker_class = "gthread"
threads = _settings.business_api_threads
# Longer than the adapter's pooled connections stay idle (30 s), so it never reuses one gunicorn is closing.
keepalive = 75
timeout = 600  # [mock:sleep] may hold a request up to 300 s; gthread's timeout is a heartbeat, not per request
graceful_timeout = 5
loglevel = _settings.log_level.lower()
accesslog = "-"
errorlog = "-"
wsgi_app = "business_api:create_app()"
