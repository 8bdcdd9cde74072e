"""Route selection as API Gateway's HTTP API does it: `RouteTable.match(method, raw_path)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from devtools.template import HttpRoute


@dataclass(frozen=True)
class RouteMatch:
    route: HttpRoute
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _CompiledRoute:
    route: HttpRoute
    segments: tuple[tuple[str, str], ...]  # ("static", text) | ("param", name) | ("greedy", name)

    @property
    def greedy(self) -> bool:
        return bool(self.segments) and self.segments[-1][0] == "greedy"


def _compile(route: HttpRoute) -> _CompiledRoute:
    segments: list[tuple[str, str]] = []
    parts = route.path.strip("/").split("/") if route.path.strip("/") else []
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            if index != len(parts) - 1:
                raise ValueError(f"{route.route_key}: a greedy path variable must be the last segment")
            segments.append(("greedy", part[1:-2]))
        elif part.startswith("{") and part.endswith("}"):
            segments.append(("param", part[1:-1]))
        else:
            segments.append(("static", part))
    return _CompiledRoute(route, tuple(segments))


_SEGMENT_RANK = {"static": 0, "param": 1, "greedy": 2}


class RouteTable:
    """Selects a route the way HTTP API does: exact paths (static segments before `{param}`), then greedy
    `{proxy+}` paths, then `$default`; a method-specific route before `ANY`; a wrong method is a 404."""

    def __init__(self, routes: list[HttpRoute]) -> None:
        self._default = [route for route in routes if route.path == "$default"]
        compiled = [_compile(route) for route in routes if route.path != "$default"]
        self._greedy = [route for route in compiled if route.greedy]
        self._by_length: dict[int, list[_CompiledRoute]] = {}  # the routes a path of n segments may match
        for route in compiled:
            if not route.greedy:
                self._by_length.setdefault(len(route.segments), []).append(route)

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        method = method.upper()
        raw_segments = raw_path.strip("/").split("/") if raw_path.strip("/") else []
        if raw_path.endswith("/") and raw_path != "/":
            raw_segments.append("")  # "/v1/tokens/" is not "/v1/tokens"
        candidates: list[tuple[tuple[Any, ...], RouteMatch]] = []
        for compiled in [*self._by_length.get(len(raw_segments), ()), *self._greedy]:
            if compiled.route.method not in (method, "ANY"):
                continue
            parameters = _match_segments(compiled, raw_segments)
            if parameters is None:
                continue
            rank = (
                compiled.greedy,
                tuple(_SEGMENT_RANK[kind] for kind, _ in compiled.segments),
                compiled.route.method == "ANY",
            )
            candidates.append((rank, RouteMatch(compiled.route, parameters)))
        if candidates:
            return min(candidates, key=lambda candidate: candidate[0])[1]
        for route in sorted(self._default, key=lambda route: route.method == "ANY"):
            if route.method in (method, "ANY"):
                return RouteMatch(route, {})
        return None


def _match_segments(compiled: _CompiledRoute, raw_segments: list[str]) -> dict[str, str] | None:
    parameters: dict[str, str] = {}
    segments = compiled.segments
    if compiled.greedy:
        if len(raw_segments) < len(segments):
            return None
    elif len(raw_segments) != len(segments):
        return None
    for index, (kind, text) in enumerate(segments):
        if kind == "greedy":
            rest = raw_segments[index:]
            if not any(rest):
                return None
            parameters[text] = unquote("/".join(rest))
            break
        raw = raw_segments[index]
        value = unquote(raw)
        if kind == "static":
            if value != text:
                return None
        elif not value:
            return None
        else:
            parameters[text] = value
    return parameters
