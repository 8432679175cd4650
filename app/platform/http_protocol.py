"""The HTTP protocol `python -m app serve` gives uvicorn: its httptools protocol plus a deadline
on request headers.

uvicorn bounds an idle keep-alive connection (`timeout_keep_alive`) and the edge bounds a body
(`BODY_READ_TIMEOUT_S`), but nothing bounds the time between a connection opening (or a request's
first byte) and the end of its headers: a client trickling header bytes, or connecting and
sending nothing, would hold the connection forever. Here the headers of each request must arrive
in full within HEADER_READ_TIMEOUT_S; past it the server answers 408 REQUEST_TIMEOUT and closes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.platform.config import get_settings
from app.platform.errors import RequestTimeoutError, problem_bytes
from app.platform.logging import get_logger

_log = get_logger("app.http")

# After the 408 the server stops writing but keeps reading (and dropping) what the client still
# sends, for at most this long: closing a socket with unread bytes makes the kernel send a reset,
# which can destroy the 408 before the client reads it ("lingering close", as nginx does).
LINGER_S = 2.0


def header_timeout_response(timeout_s: float) -> bytes:
    """The whole 408 response (status line, headers, problem body) sent when headers are late."""
    error = RequestTimeoutError(
        f"The request headers did not arrive within {timeout_s:g} s; the connection is closed."
    )
    _status, body = problem_bytes(error, instance="")
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; a request's headers must arrive within
    HEADER_READ_TIMEOUT_S of the connection opening or of the request's first byte."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read here, in the worker process: uvicorn builds the protocol once per connection
        # from a class it may have pickled into a worker, so the class carries no settings.
        self.header_timeout_s = get_settings().header_read_timeout_s
        self.header_deadline: asyncio.TimerHandle | None = None
        self.lingering: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the first request's deadline as the connection opens (a silent client too)."""
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the deadline (and a lingering close's timer) with the connection."""
        self._disarm()
        if self.lingering is not None:
            self.lingering.cancel()
            self.lingering = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Bytes of a request; after a 408, dropped until the lingering close ends."""
        if self.lingering is not None:
            return
        super().data_received(data)

    def on_message_begin(self) -> None:
        """A request's first byte: its headers' deadline starts (unless the connection's runs)."""
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        """The headers are in: the body has its own deadline (the edge's)."""
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        if self.header_deadline is None:
            loop = asyncio.get_running_loop()
            self.header_deadline = loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _headers_too_slow(self) -> None:
        self.header_deadline = None
        if self.transport.is_closing():
            return
        _log.info("request_headers_too_slow", timeout_s=self.header_timeout_s)
        # A 408 only between responses: pipelined headers arriving while the previous request
        # is still answered would cut into its response, so that connection is just closed.
        if (self.cycle is None or self.cycle.response_complete) and self.transport.can_write_eof():
            self.transport.write(header_timeout_response(self.header_timeout_s))
            self.transport.write_eof()  # the client reads the 408, then its end of file
            self.lingering = asyncio.get_running_loop().call_later(LINGER_S, self.transport.close)
            return
        self.transport.close()
