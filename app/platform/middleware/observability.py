"""What the edge layer records per answered request: its HTTP metrics and its access line.

The route label is the matched route template (`/api/sessions/{session_id}`), never the raw
path, so neither the log nor Prometheus grows a label per id.
"""

from __future__ import annotations

import time

from app.platform.deferred import flush_later
from app.platform.logging import AccessLogWriter, Answered, access_log
from app.platform.metrics import METRICS_BUFFER, MetricsBuffer
from app.platform.middleware.types import Scope

_UNMATCHED = "<unmatched>"
# Paths too frequent and too dull for the access log (still counted in the metrics).
QUIET_PATHS = frozenset({"/health/live", "/metrics"})


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


class RequestLog:
    """Answered requests, noted by the edge layer with one list append each and handed to the
    HTTP metrics and the access log together, at most every 100 ms or 1,024 requests, before
    `/metrics` renders (it is a feeder of the metrics buffer) and at shutdown.

    Counting and formatting a request's line cost the same instructions wherever they run, but
    noticeably less time in one loop over many requests than spread between them
    (docs/benchmarks.md). A hard kill loses at most those 100 ms of lines and tallies.
    """

    FLUSH_DELAY_S = 0.1
    MAX_PENDING = 1024

    def __init__(
        self,
        *,
        metrics: bool,
        access: AccessLogWriter = access_log,
        buffer: MetricsBuffer = METRICS_BUFFER,
    ) -> None:
        self.metrics = metrics
        self._access = access
        self._buffer = buffer
        self._pending: list[Answered] = []
        self._scheduled = False
        buffer.add_feeder(self.flush)

    def note(self, answered: Answered) -> None:
        """Keep one answered request for the next flush."""
        pending = self._pending
        pending.append(answered)
        if len(pending) >= self.MAX_PENDING:
            self.flush()
        elif not self._scheduled:
            self._scheduled = flush_later(self.FLUSH_DELAY_S, self.flush)

    def flush(self) -> None:
        """Count every noted request in the metrics and write its access line."""
        self._scheduled = False
        pending, self._pending = self._pending, []
        if not pending:
            return
        if self.metrics:
            self._buffer.requests((a[0], a[2], a[3], a[4]) for a in pending)
        logged = [a for a in pending if a[1] not in QUIET_PATHS]
        if logged:
            self._access.write(logged, time.time() - time.perf_counter())
