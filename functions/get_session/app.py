"""GET /v1/sessions/current — the console session of this request: its CSRF token, limits and token.

No authorizer (template.yaml): the route checks the session cookie itself, because a reloaded page has
the cookie but not yet the CSRF token every other route needs in ``Authorization: Session <csrf>``."""

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.request import request_meta, session_cookie_of
from tokensmith.http.responses import session_response
from tokensmith.observability import api_entrypoint
from tokensmith.sessions.service import SessionService, session_service

router = create_router()


@router.get(
    "/v1/sessions/current",
    **operation(
        200,
        "tokensmith.sessions.models:Session",
        (401,),
        SessionService.current,
        """The console session of this request: its CSRF token, its limits, its token, and the scope
catalog (so that a reloaded page can go on without signing in again).

Needs only the session cookie (no `Authorization` header): a reloaded page learns its CSRF token here.
Without a cookie, when its session is over, or from an address its token's allowlist refuses, `401`;
a bearer token is ignored.""",
        public=True,  # no authorizer: the cookie is checked here
    ),
)
def get_session():
    return session_response(session_service().current(session_cookie_of(router), ip=request_meta(router).ip))


app = create_app(router)
handler = api_entrypoint(app.resolve)
