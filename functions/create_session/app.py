"""POST /v1/sessions — sign in to the console: a token with the `console` scope for a session cookie."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.params import Body
from tokensmith.http.request import bearer_of, request_meta
from tokensmith.http.responses import session_response
from tokensmith.observability import api_entrypoint, count
from tokensmith.sessions.cookies import set_cookie
from tokensmith.sessions.models import CreateSessionRequest
from tokensmith.sessions.service import SessionService, refused, session_service

router = create_router()


@router.post(
    "/v1/sessions",
    **operation(
        201,
        "tokensmith.sessions.models:Session",
        (400, 401, 413, 415, 422),
        SessionService.sign_in,
        """Sign in to the console: exchange a token that holds the `console` scope (or `admin`) for a
session.

Give the token as `{"token": "<secret>"}` or as `Authorization: Bearer <secret>`. The answer sets the
cookie `__Host-tokensmith_session` (HttpOnly, Secure, SameSite=Strict) and carries the `csrf_token`
to send as `Authorization: Session <csrf_token>` with every request made with the cookie (a reloaded
page gets it again from `GET /v1/sessions/current`, which needs the cookie alone). The session acts with the
token's organization and scopes and ends with it, after `SessionIdleMinutes` without a request, or
`SessionMaxHours` after sign-in.

401, one and the same problem, for every secret that cannot open a session: malformed, unknown,
disabled, revoked, expired, deleted, or lacking `console` (no oracle for a stolen secret). An attempt
with a live secret is recorded as a use of its token and, when refused, as a `session.refused` event.""",
        public=True,
    ),
)
def create_session(body: Annotated[CreateSessionRequest, Body()] = None):
    secret = (body.token if body else None) or bearer_of(router)
    if not secret:
        raise refused()
    meta = request_meta(router)
    sessions = session_service()
    signed_in = sessions.sign_in(secret, meta.ip, meta.user_agent)
    count("session.created")
    return session_response(signed_in, 201, cookies=[set_cookie(signed_in.cookie, sessions.cookie_max_age())])


app = create_app(router)
handler = api_entrypoint(app.resolve)
