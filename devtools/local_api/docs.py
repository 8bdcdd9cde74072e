"""The local-only documentation routes: /openapi.json and Swagger UI under /docs (see devtools.local_api)."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from devtools.local_api.events import IncomingRequest
from devtools.local_api.responses import GatewayResponse, content_response, json_response

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
# Swagger UI's files as Powertools ships them (aws_lambda_powertools/event_handler/openapi/swagger_ui/).
SWAGGER_UI_ASSETS = {
    "swagger-ui-bundle.min.js": "text/javascript; charset=utf-8",
    "swagger-ui.min.css": "text/css; charset=utf-8",
}


def swagger_ui_directory() -> Path:
    """Where Powertools keeps Swagger UI's files."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui

    return Path(swagger_ui.__file__).parent


def swagger_ui_html(title: str = "API documentation") -> str:
    """The Swagger UI page: it loads the document from /openapi.json and its assets from /docs/, nothing
    from elsewhere (no CDN, and `validatorUrl: null` so it does not send the document to swagger.io)."""
    from html import escape

    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{escape(title)}</title>
  <link rel="stylesheet" type="text/css" href="{DOCS_PATH}/swagger-ui.min.css">
</head>
<body>
  <div id="swagger-ui">Loading ...</div>
  <script src="{DOCS_PATH}/swagger-ui-bundle.min.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "{OPENAPI_PATH}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      docExpansion: "list",
      filter: true,
      persistAuthorization: true,
      showExtensions: true,
      showCommonExtensions: true,
      validatorUrl: null,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout"
    }});
  </script>
</body>
</html>
"""


class DocsRoutes:
    """Serves an OpenAPI document (or a function that builds it, called once, on the first request for it)
    on /openapi.json, and Swagger UI for it on /docs."""

    def __init__(self, openapi: dict[str, Any] | Callable[[], dict[str, Any]]) -> None:
        self._openapi = openapi
        self._openapi_lock = threading.Lock()
        self._assets: dict[str, bytes] = {}

    def document(self, base_url: str | None = None) -> dict[str, Any]:
        """The OpenAPI document, its `servers` set to `base_url`."""
        with self._openapi_lock:
            if callable(self._openapi):
                self._openapi = self._openapi()
            document = copy.deepcopy(self._openapi)
        if base_url:
            document["servers"] = [{"url": base_url, "description": "this local server (make run)"}]
        return document

    def answer(self, request: IncomingRequest, request_id: str) -> GatewayResponse | None:
        """/openapi.json, /docs and Swagger UI's assets under /docs/; None for any other path."""
        path = request.raw_path
        asset = path.removeprefix(DOCS_PATH + "/") if path.startswith(DOCS_PATH + "/") else None
        if asset not in SWAGGER_UI_ASSETS:
            asset = None
            if path not in (OPENAPI_PATH, DOCS_PATH, DOCS_PATH + "/"):
                return None
        if request.method.upper() not in ("GET", "HEAD"):
            return json_response(405, {"message": "Method Not Allowed"}, request_id, allow="GET, HEAD")
        if asset is not None:
            if asset not in self._assets:
                self._assets[asset] = (swagger_ui_directory() / asset).read_bytes()
            return content_response(200, SWAGGER_UI_ASSETS[asset], self._assets[asset], request_id)
        query = dict(parse_qsl(request.raw_query_string))
        if path == OPENAPI_PATH or query.get("format") == "json":
            host = request.header("host")
            document = self.document(f"http://{host}" if host else None)
            return content_response(200, "application/json", json.dumps(document).encode(), request_id)
        return content_response(200, "text/html; charset=utf-8", swagger_ui_html().encode(), request_id)
