"""GET /v1/sessions/current — the console session of this request: its CSRF token, limits and token."""

from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.request import principal_of, session_cookie_of
from tokensmith.http.responses import session_response
from tokensmith.observability import api_entrypoint
from tokensmith.sessions.models import Session
from tokensmith.sessions.service import SessionService, session_service

router = create_router()


@router.get(
    "/v1/sessions/current",
    **operation(
        200,
        Session,
        (401, 403, 404),
        SessionService.current,
        """The console session of this request: its CSRF token, its limits, its token, and the scope
catalog (so that a reloaded page can go on without signing in again).

Needs the session cookie. Without any credentials (no cookie, no bearer token) the authorizer refuses
the request: 403 `{"message": "Forbidden"}`. A request with a bearer token and no cookie (or another
token's) has no session: 404.""",
    ),
)
def get_session():
    caller = principal_of(router)
    return session_response(session_service().current(session_cookie_of(router), caller.token_id))


app = create_app(router)
handler = api_entrypoint(app.resolve)
