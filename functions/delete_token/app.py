"""DELETE /v1/tokens/{id} — soft delete: unusable at once, gone from lists, purged later."""

from aws_lambda_powertools.event_handler import Response

from tokensmith.http import create_app, principal_of, request_meta
from tokensmith.observability import api_entrypoint
from tokensmith.service import token_service

app = create_app()


@app.delete("/v1/tokens/<token_id>")
def delete_token(token_id: str):
    token_service().delete_token(principal_of(app), token_id, request_meta(app))
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


handler = api_entrypoint(app.resolve)
