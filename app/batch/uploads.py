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

UploadFormat = Literal["csv", "jsonl"]
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
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("text/csv", "application/csv"):
        return "csv"
    if media in ("application/jsonl", "application/x-ndjson", "application/x-jsonlines"):
        return "jsonl"
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


def _jsonl_rows(text: Iterator[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise UploadRowError(line=number, message=f"not JSON: {exc}") from None
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


def validated_items(
    raw: IO[bytes],
    *,
    fmt: UploadFormat,
    model: type[BaseModel],
    to_input: Callable[[BaseModel], tuple[str | None, dict[str, Any]]],
) -> Iterator[NewBatchItem]:
    """Each row of the upload validated by `model` and turned into an item; UploadRowError at
    the first bad row."""
    lines = _utf8_lines(raw)
    rows = _csv_rows(lines) if fmt == "csv" else _jsonl_rows(lines)
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
