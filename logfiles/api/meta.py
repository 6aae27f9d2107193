"""Routes outside the contract's /v2: versions, readiness probe, the OpenAPI document."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint, Response, jsonify

from .links import host_url
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


@bp.get("/")
def versions() -> Response:
    """The guide's "retrieve versions": which API versions this endpoint serves."""
    link = {"href": f"{host_url()}/{API_VERSION}/", "rel": "self"}
    version = {"id": API_VERSION, "status": "CURRENT", "updated": UPDATED, "links": [link]}
    return jsonify({"versions": [version]})


@bp.get("/healthz")
def healthz() -> Response:
    """Readiness: the app is loaded and answering; it touches nothing else."""
    return jsonify({"status": "ok"})
