"""DELETE /v1/sessions/current — sign out of the console: the session is gone, the cookie expired."""

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.request import principal_of, request_meta, session_cookie_of
from tokensmith.http.router import Response
from tokensmith.observability import api_entrypoint, count
from tokensmith.sessions.cookies import expired_cookie
from tokensmith.sessions.service import SessionService, session_service

router = create_router()


@router.delete(
    "/v1/sessions/current",
    **operation(
        204,
        None,
        (401, 403),
        SessionService.sign_out,
        """Sign out: delete the console session of this request and expire its cookie.

The token's audit trail gets a `session.ended` event (and one `session.created` at sign-in).

With the cookie, the request needs `Authorization: Session <csrf_token>`, like every request. Idempotent:
a request without a session cookie (a bearer token) answers 204 too. Only the request's own session
ends: a bearer token of another token sent beside a session cookie is refused (403) and ends nothing.""",
    ),
)
def delete_session():
    meta = request_meta(router)
    caller = principal_of(router)
    session_service().sign_out(session_cookie_of(router), caller.token_id, meta.ip, meta.user_agent)
    count("session.ended")
    return Response(status_code=204, headers={"Cache-Control": "no-store"}, cookies=[expired_cookie()])


app = create_app(router)
handler = api_entrypoint(app.resolve)
