"""PUT /v1/tokens/{id} — replace every editable field."""

from tokensmith.http import create_app, parse_body, principal_of, request_meta, token_response
from tokensmith.models import ReplaceTokenRequest
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service

app = create_app()


@app.put("/v1/tokens/<token_id>")
def replace_token(token_id: str):
    request = parse_body(app, ReplaceTokenRequest)
    return token_response(token_service().replace_token(principal_of(app), token_id, request, request_meta(app)))


handler = api_entrypoint(app.resolve)
