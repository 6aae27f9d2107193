"""Identity v2.0: `POST /v2.0/tokens`, a token and the service catalog, with Identity's error bodies.

The view is thin: the checks in the order every body route uses (415, 413, 400), then the
pure `logfiles.identity` decides who the credentials are (401) and builds the answer. Errors
on this route use Identity's own body, `{"unauthorized": {"code": 401, "message": "..."}}`,
not the /v2 fault body (clients of Identity parse that shape), rendered by api/errors.py.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify

from .. import identity
from ..auth import new_token_id
from ..identity import TOKENS_PATH
from ..journal import mask_members
from ..schemas.identity import REQUEST
from . import checks, now, runtime
from .links import host_url

bp = Blueprint("identity", __name__)


# No automatic OPTIONS: as on /v2, a method the route does not have is 405 with `Allow`.
@bp.post(TOKENS_PATH, provide_automatic_options=False)
def authenticate() -> Response:
    """Identity's "authenticate": credentials in, a token for the user's project out."""
    # Until the body is read and masked, the journal (should it record this route) gets
    # nothing of it: a password must never reach the journal.
    g.body = b""
    checks.require_content_type(checks.JSON)
    data = checks.read_body()
    g.body = mask_members(data, identity.SECRET_MEMBERS)
    credentials = checks.validated(
        REQUEST, checks.parse_json(data), "The authentication request is not valid."
    )
    rt = runtime()
    access = identity.authenticate(credentials, rt.tokens, rt.store.get_token, now)
    token = identity.issue(access, new_token_id(), now())
    rt.store.add_token(token)
    settings = rt.settings
    return jsonify(
        identity.access_document(access, token, host_url(), settings.object_store_url, settings.region)
    )
