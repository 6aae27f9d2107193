"""Routes outside the contract's /v2: versions, readiness probe, the OpenAPI document."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint, Response, jsonify

from . import runtime
from .links import version_url
from .openapi import build_spec

bp = Blueprint("meta", __name__)

API_VERSION = "v2"
UPDATED = "2014-09-23T00:00:00Z"


@cache
def _spec() -> dict[str, Any]:
    return build_spec()


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(_spec())


def _version() -> dict[str, Any]:
    link = {"href": version_url(API_VERSION), "rel": "self"}
    return {"id": API_VERSION, "status": "CURRENT", "updated": UPDATED, "links": [link]}


@bp.get("/")
def versions() -> Response:
    """The guide's "retrieve versions": which API versions this endpoint serves."""
    return jsonify({"versions": [_version()]})


@bp.get(f"/{API_VERSION}")
def version() -> Response:
    """(ours) Where the versions document's link leads: that one version, as OpenStack shows it.

    Version discovery needs no token, like `GET /`.
    """
    return jsonify({"version": _version()})


@bp.get("/healthz")
def healthz() -> Response:
    """Readiness: the app is loaded and its store can serve (503, the fault body, if not)."""
    runtime().store.health()
    return jsonify({"status": "ok"})
