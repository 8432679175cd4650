"""The route label the edge layer records per request, for the access log and the HTTP metrics.

The route label is the matched route template (`/api/sessions/{session_id}`), never the raw
path, so neither the log nor Prometheus grows a label per id.
"""

from __future__ import annotations

from app.middleware.types import Scope

_UNMATCHED = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The path template of the route that served the request."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path:
        return str(path)
    # Plain Starlette routes (docs, openapi) set only the endpoint; they have no parameters,
    # so their path is already the template.
    if "endpoint" in scope and not scope.get("path_params"):
        return str(scope["path"])
    return _UNMATCHED
