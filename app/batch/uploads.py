"""A job's items from an uploaded file, read incrementally: CSV with a header row, or JSON Lines
(one JSON object a line). The file is the upload's spooled temporary file; it is read a chunk of
lines at a time in a worker thread, so neither the whole file nor all its items are ever held
in memory, and the event loop is not blocked by parsing."""

from __future__ import annotations

import asyncio
import codecs
import csv
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import IO, Any, Literal

from pydantic import BaseModel, ValidationError

from app.batch.repository import NewBatchItem

UploadFormat = Literal["csv", "jsonl", "json"]
# Lines parsed per thread hop and inserted per statement.
CHUNK_ROWS = 1000
# A single line longer than this is refused (CSV fields may not span lines beyond it either).
MAX_LINE_BYTES = 64 * 1024


class UploadRowError(Exception):
    """A row of the upload that is not a valid item: its line number (1-based, the header is
    line 1 in a CSV) and why."""

    def __init__(self, *, line: int, message: str, field: str | None = None) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message
        self.field = field


def detect_format(filename: str | None, content_type: str | None) -> UploadFormat | None:
    """The upload's format from its file name, else its content type; None when neither says."""
    name = (filename or "").lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".json"):
        return "json"
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("text/csv", "application/csv"):
        return "csv"
    if media in ("application/jsonl", "application/x-ndjson", "application/x-jsonlines"):
        return "jsonl"
    if media == "application/json":
        return "json"
    return None


def _csv_rows(text: Iterator[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise UploadRowError(line=1, message=f"not CSV: {exc}") from None
    names = [h.strip() for h in header]
    if not any(names) or len(set(names)) != len(names):
        raise UploadRowError(line=1, message="the header needs distinct, non-empty column names")
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UploadRowError(line=reader.line_num, message=f"not CSV: {exc}") from None
        if not values or all(not v.strip() for v in values):
            continue  # a blank line
        if len(values) != len(names):
            raise UploadRowError(
                line=reader.line_num,
                message=f"{len(values)} fields where the header has {len(names)}",
            )
        # An empty cell is an absent field (e.g. no `context`), not an empty string.
        yield reader.line_num, {n: v for n, v in zip(names, values, strict=True) if v != ""}


def _reason(exc: ValueError) -> str:
    # JSONDecodeError's own message adds a position within the buffer, not within the file.
    return exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)


def _jsonl_rows(text: Iterator[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise UploadRowError(line=number, message=f"not JSON: {_reason(exc)}") from None
        if not isinstance(value, dict):
            raise UploadRowError(line=number, message="each line must be a JSON object")
        yield number, value


def _utf8_lines(raw: IO[bytes]) -> Iterator[str]:
    """The binary upload as UTF-8 lines (a BOM allowed), refusing over-long lines and bad bytes
    with the number of the line they are on."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    number = 0
    while True:
        data = raw.readline(MAX_LINE_BYTES + 1)
        if not data:
            break
        number += 1
        if len(data) > MAX_LINE_BYTES and not data.endswith(b"\n"):
            raise UploadRowError(line=number, message=f"longer than {MAX_LINE_BYTES} bytes")
        try:
            yield decoder.decode(data)
        except UnicodeDecodeError:
            raise UploadRowError(line=number, message="not UTF-8 text") from None
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UploadRowError(line=number, message="not UTF-8 text") from None


# Bytes decoded per read of a JSON array upload.
_READ_BYTES = 64 * 1024


def _json_array_rows(raw: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The objects of a JSON array, decoded one at a time from a bounded buffer (the line each
    one starts on); the array is never held whole."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    parser = json.JSONDecoder()
    buf, pos, line, eof = "", 0, 1, False

    def fill() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        data = raw.read(_READ_BYTES)
        try:
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise UploadRowError(line=line, message="not UTF-8 text") from None
        eof = not data
        buf = buf[pos:] + text
        pos = 0
        return bool(data)

    def skip_space() -> str:
        nonlocal pos, line
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                line += buf[pos] == "\n"
                pos += 1
            if pos < len(buf):
                return buf[pos]
            if not fill():
                return ""

    if skip_space() != "[":
        raise UploadRowError(line=line, message="a JSON file must hold one array of items")
    pos += 1
    if skip_space() == "]":
        return
    while True:
        skip_space()
        while True:
            try:
                value, end = parser.raw_decode(buf, pos)
                break
            except ValueError as exc:
                # Incomplete (the buffer ends inside the item) until the file says otherwise.
                if len(buf) - pos > MAX_LINE_BYTES:
                    raise UploadRowError(
                        line=line, message=f"an item longer than {MAX_LINE_BYTES} bytes"
                    ) from None
                if not fill():
                    raise UploadRowError(line=line, message=f"not JSON: {_reason(exc)}") from None
        if not isinstance(value, dict):
            raise UploadRowError(line=line, message="each item must be a JSON object")
        yield line, value
        line += buf.count("\n", pos, end)
        pos = end
        after = skip_space()
        if after == "]":
            pos += 1
            if skip_space() != "":
                raise UploadRowError(line=line, message="data after the array")
            return
        if after != ",":
            raise UploadRowError(line=line, message="expected `,` or `]` after an item")
        pos += 1


def validated_items(
    raw: IO[bytes],
    *,
    fmt: UploadFormat,
    model: type[BaseModel],
    to_input: Callable[[BaseModel], tuple[str | None, dict[str, Any]]],
) -> Iterator[NewBatchItem]:
    """Each row of the upload validated by `model` and turned into an item; UploadRowError at
    the first bad row."""
    if fmt == "json":
        rows = _json_array_rows(raw)
    elif fmt == "csv":
        rows = _csv_rows(_utf8_lines(raw))
    else:
        rows = _jsonl_rows(_utf8_lines(raw))
    for line, data in rows:
        try:
            item = model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise UploadRowError(
                line=line, field=where or None, message=f"{where}: {first['msg']}"
            ) from None
        ref, data_in = to_input(item)
        yield NewBatchItem(ref=ref, input=data_in)


async def chunked(
    items: Iterator[NewBatchItem], size: int = CHUNK_ROWS
) -> AsyncIterator[list[NewBatchItem]]:
    """The items in lists of `size`, each list parsed in a worker thread (file reads block)."""

    def take() -> list[NewBatchItem]:
        out: list[NewBatchItem] = []
        for item in items:
            out.append(item)
            if len(out) >= size:
                break
        return out

    while True:
        chunk = await asyncio.to_thread(take)
        if not chunk:
            return
        yield chunk
