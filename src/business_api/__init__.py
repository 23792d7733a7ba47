"""Flask app factory for the mock business API (/api/process, /api/embed, /api/image), the mock LaaS preset API
and /metrics."""

from __future__ import annotations

import logging

from flask import Flask

import stack_settings


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app; `test_config` may carry SETTINGS (a stack_settings.Settings) and Flask options."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = None
    if test_config:
        app.config.update(test_config)
    if "SETTINGS" not in app.config:
        app.config["SETTINGS"] = stack_settings.load()
    settings = app.config["SETTINGS"]
    app.config["MAX_CONTENT_LENGTH"] = int(settings.max_request_body_mb * 1024 * 1024)
    logging.getLogger(__name__).setLevel(settings.log_level)

    from . import embed, errors, health, image, laas, metrics, openai_compat, process

    errors.register_error_handlers(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(process.bp)
    app.register_blueprint(embed.bp)
    app.register_blueprint(image.bp)
    app.register_blueprint(laas.bp)
    app.register_blueprint(openai_compat.bp)
    metrics.install(app)
    return app
