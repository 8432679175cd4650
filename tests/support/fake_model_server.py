"""A tiny real HTTP model server for provider tests: Ollama `/api/chat` (JSON or NDJSON
stream) and OpenAI `/v1/chat/completions` (JSON or SSE stream), with scripted replies.

It runs on its own event loop in a thread, so both in-process apps and uvicorn subprocesses
can call it. Each request takes the next scripted `Reply` (or the default); every request body
is recorded, and a client that hangs up mid-answer is counted in `disconnects`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tests.support.servers import free_port


@dataclass
class Reply:
    """What the fake model answers to one request."""

    content: str = ""
    # Streaming: the pieces sent one per chunk (default: `content` in pieces of 8 characters).
    chunks: list[str] | None = None
    delay_s: float = 0.0  # before the response starts (a slow model: client read timeout)
    chunk_delay_s: float = 0.0  # between streamed chunks
    status: int = 200
    raw_body: bytes | None = None  # replaces the protocol body entirely
    prompt_tokens: int = 11
    completion_tokens: int = 7

    def pieces(self) -> list[str]:
        """The streamed pieces."""
        if self.chunks is not None:
            return self.chunks
        return [self.content[i : i + 8] for i in range(0, len(self.content), 8)] or [""]


@dataclass
class Seen:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    reply: Reply | None = None


@dataclass
class FakeModelServer:
    """Start with `start()`, point OLLAMA_BASE_URL / OPENAI_BASE_URL at `url` / `openai_url`."""

    default: Reply = field(default_factory=lambda: Reply(content="{}"))
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[Seen] = field(default_factory=list)
    disconnects: int = 0
    completed: int = 0
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.base_events.Server | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Base URL (Ollama style)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        """Base URL including /v1 (OpenAI style)."""
        return f"{self.url}/v1"

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests (then `default` again)."""
        self.replies.extend(replies)

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        """Poll until `predicate(self)` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.01)
        raise TimeoutError("fake model server: condition not reached")

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeModelServer:
        """Serve on a free port in a background thread."""
        ready = threading.Event()
        # A claimed port, not port 0: the kernel could hand out a port another xdist worker has
        # claimed for its uvicorn, whose readiness probes would then land here as requests.
        port = free_port()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", port)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-model-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    # --- HTTP ---------------------------------------------------------------------------------
    def _next_reply(self) -> Reply:
        return self.replies.popleft() if self.replies else self.default

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            _method, path, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            raw = await reader.readexactly(length) if length else b""
            body = json.loads(raw) if raw else {}
            probe = path.endswith(("/api/version", "/models"))
            # Health probes never use up a scripted reply.
            reply = Reply(content="{}") if probe else self._next_reply()
            with self._lock:
                self.requests.append(Seen(path=path, headers=headers, body=body, reply=reply))
            # EOF on the socket = the client hung up; watched while we are slow or streaming.
            hangup = asyncio.ensure_future(reader.read(1))
            try:
                finished = await self._respond(writer, path, body, reply, hangup)
            finally:
                hangup.cancel()
            with self._lock:
                if finished:
                    self.completed += 1
                else:
                    self.disconnects += 1
        except (ConnectionError, asyncio.IncompleteReadError):
            with self._lock:
                self.disconnects += 1
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _pause(self, seconds: float, hangup: asyncio.Future[bytes]) -> bool:
        """Sleep; False if the client hung up meanwhile."""
        if seconds <= 0:
            return not hangup.done()
        done, _ = await asyncio.wait({hangup}, timeout=seconds)
        return not done

    async def _respond(
        self,
        writer: asyncio.StreamWriter,
        path: str,
        body: dict[str, Any],
        reply: Reply,
        hangup: asyncio.Future[bytes],
    ) -> bool:
        if not await self._pause(reply.delay_s, hangup):
            return False
        if path.endswith(("/api/version", "/models")):
            await self._send(writer, 200, b'{"version":"fake","data":[]}', "application/json")
            return True
        ollama = path.endswith("/api/chat")
        if not ollama and not path.endswith("/chat/completions"):
            await self._send(writer, 404, b'{"error":"not found"}', "application/json")
            return True
        if reply.raw_body is not None or reply.status != 200:
            payload = reply.raw_body if reply.raw_body is not None else b'{"error":"boom"}'
            await self._send(writer, reply.status, payload, "application/json")
            return True
        if not body.get("stream"):
            doc = _ollama_final(reply) if ollama else _openai_final(body, reply)
            await self._send(writer, 200, json.dumps(doc).encode(), "application/json")
            return True
        media = "application/x-ndjson" if ollama else "text/event-stream"
        writer.write(
            (
                f"HTTP/1.1 200 OK\r\nContent-Type: {media}\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        frames = _ollama_stream(reply) if ollama else _openai_stream(body, reply)
        for index, frame in enumerate(frames):
            if index and not await self._pause(reply.chunk_delay_s, hangup):
                return False
            try:
                writer.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
                await writer.drain()
            except ConnectionError:
                return False
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    async def _send(
        self, writer: asyncio.StreamWriter, status: int, payload: bytes, media: str
    ) -> None:
        writer.write(
            (
                f"HTTP/1.1 {status} X\r\nContent-Type: {media}\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
            ).encode()
            + payload
        )
        await writer.drain()


def _ollama_final(reply: Reply) -> dict[str, Any]:
    return {
        "model": "fake",
        "message": {"role": "assistant", "content": reply.content},
        "done": True,
        "prompt_eval_count": reply.prompt_tokens,
        "eval_count": reply.completion_tokens,
    }


def _ollama_stream(reply: Reply) -> list[bytes]:
    frames = [
        json.dumps({"message": {"role": "assistant", "content": p}, "done": False}).encode() + b"\n"
        for p in reply.pieces()
    ]
    final = _ollama_final(reply)
    final["message"]["content"] = ""
    frames.append(json.dumps(final).encode() + b"\n")
    return frames


def _openai_final(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": body.get("model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }


def _openai_stream(body: dict[str, Any], reply: Reply) -> list[bytes]:
    frames = []
    for piece in reply.pieces():
        chunk = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
        }
        frames.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    usage = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
        },
    }
    frames.append(b": a comment line servers may send\n\n")
    frames.append(b"data: " + json.dumps(usage).encode() + b"\n\n")
    frames.append(b"data: [DONE]\n\n")
    return frames
