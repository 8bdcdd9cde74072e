"""POST /v1/tokens/revoke-leaked — report tokens found in the wild; no token needed, throttled.

The secrets' (id, digest) pairs are queued for functions/revoke_leaked_worker; nothing is read here."""

from typing import Annotated

import tokensmith.startup  # noqa: F401  first: the garbage collector waits while the function starts
from tokensmith.http.app import create_app, create_router, operation
from tokensmith.http.binding import MAX_BODY_EXTENSION
from tokensmith.http.params import Body
from tokensmith.http.request import request_meta
from tokensmith.http.responses import json_response
from tokensmith.observability import api_entrypoint
from tokensmith.tokens.leaks import LeakReports, leak_reports, uniform_answer_time
from tokensmith.tokens.models import RevokeLeakedRequest

router = create_router()


@router.post(
    "/v1/tokens/revoke-leaked",
    **operation(
        202,
        "tokensmith.tokens.models:RevokeLeakedResult",
        (400, 413, 415, 422),
        LeakReports.report,
        """Report up to 1,000 secrets found in the wild (a public repository, a paste, a log).

The report is queued and answered at once: `202 {"received": n}`, the same body, status and (within
noise) time whatever was sent, because nothing is looked up while the caller waits and every answer
waits for the same floor (250 ms by default). Within
seconds a worker revokes, with the reason `leaked`, every real, live token among them, including a
token whose rotated-out secret is still in its grace period; each revocation is in the token's audit
trail (`token.revoked`, actor the system, with the reporter's address). Strings that are not
well-formed secrets of this deployment (the checksum fails) are dropped before anything is queued,
and a secret itself is never stored or queued: only its token id and SHA-256 digest.

No token is needed (whoever found a secret may not have one); API Gateway throttles the route.""",
        public=True,
        openapi_extensions={MAX_BODY_EXTENSION: 640 * 1024},
    ),
)
def revoke_leaked(body: Annotated[RevokeLeakedRequest, Body()]):
    leak_reports().report(body.tokens, request_meta(router))
    return json_response({"received": len(body.tokens)}, status=202)


app = create_app(router)
answer = api_entrypoint(app.resolve)
handler = uniform_answer_time(answer)  # one answer time for any input (tokens/leaks.py)
