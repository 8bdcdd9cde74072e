"""Where a route's parameters come from, declared in its signature: ``Annotated[Model, Body()]`` for its
JSON body, ``Annotated[int, Query(ge=1, le=100, description=...)]`` for a query parameter.

They mean what Powertools' own ``Body`` and ``Query`` mean (and become them for the OpenAPI document,
``devtools/openapi.py``), but importing them costs nothing: importing Powertools' pulls in its whole
event handler, about a fifth of an API function's cold start (docs/performance.md, *Cold start*).
``tokensmith.http.binding`` also accepts Powertools' markers, so a function that imports those still
works, only slower to start.
"""

from __future__ import annotations

from typing import Any


class Body:
    """The route's JSON body, parsed and checked by ``tokensmith.http.binding.parse_body``."""

    def __init__(self, **options: Any) -> None:
        self.options = options

    def powertools(self) -> Any:
        """The same declaration as Powertools' marker (for the OpenAPI document)."""
        from aws_lambda_powertools.event_handler.openapi.params import Body as PowertoolsBody

        return PowertoolsBody(**self.options)


class Query:
    """A query parameter: pydantic's field constraints (``ge``, ``max_length``…) and its description."""

    def __init__(self, **options: Any) -> None:
        self.options = options

    @property
    def metadata(self) -> list[Any]:
        """The constraints a validator applies (``annotated_types`` objects), as on pydantic's ``FieldInfo``."""
        from pydantic import Field

        return list(Field(**self.options).metadata)

    def powertools(self) -> Any:
        from aws_lambda_powertools.event_handler.openapi.params import Query as PowertoolsQuery

        return PowertoolsQuery(**self.options)
