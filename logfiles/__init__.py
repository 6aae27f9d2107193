"""The application factory; the package's only entry point for servers and tests."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .auth import load_tokens
from .config import DEFAULT_TEMP_URL_KEY, MAX_BODY_BYTES, Settings
from .errors import ConfigError
from .runtime import Runtime
from .store import open_store

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["ConfigError", "Settings", "create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app from `settings` (default: the LOGFILES_* variables); ConfigError if bad."""
    # Flask is imported here, not at the top, so that the pure core never loads it.
    from flask import Flask

    from .api import (
        activities,
        agents,
        configurations,
        control,
        cors,
        dashboard,
        errors,
        events,
        health,
        identity,
        jobs,
        logfiles,
        meta,
        objects,
        pipeline,
        requests,
    )
    from .api.jsonio import OrjsonProvider
    from .api.routing import AgentIdConverter, IdConverter, ObjectNameConverter

    settings = settings or Settings.from_env()
    tokens = load_tokens(settings.tokens_file)
    if not tokens.open and settings.temp_url_key == DEFAULT_TEMP_URL_KEY:
        # With tokens, the source's default key would let anyone sign a temp URL.
        settings = dataclasses.replace(settings, temp_url_key=tokens.derived_key())
    store = open_store(settings.store_url, settings.max_stored_bytes)

    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    # SPEC: `project_id` is any non-empty segment; `//` must not be merged into a redirect.
    app.url_map.merge_slashes = False
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["agent"] = AgentIdConverter
    app.url_map.converters["object"] = ObjectNameConverter
    app.extensions["logfiles"] = Runtime(settings=settings, store=store, tokens=tokens)

    pipeline.install(app, control=settings.control)  # the order of checks: see pipeline.py
    cors.install(app, settings.cors_origins)  # its steps 0 and 7; off without origins
    app.register_blueprint(meta.bp)
    app.register_blueprint(agents.bp)
    app.register_blueprint(logfiles.bp)
    app.register_blueprint(events.bp)
    app.register_blueprint(objects.bp)
    app.register_blueprint(configurations.bp)
    app.register_blueprint(activities.bp)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(identity.bp)
    app.register_blueprint(requests.bp)
    app.register_blueprint(health.bp)
    if settings.control:
        app.register_blueprint(control.bp)
        app.register_blueprint(dashboard.bp)  # a page over the control plane: /_control/dashboard
    errors.register(app)
    return app
