"""Receive a multipart upload straight to disk, refusing it past the size limit (F6).

Starlette's own form parser spools the whole request before the route runs; this one feeds
the request's chunks to ``python-multipart`` as they arrive and writes the ``file`` part to
``upload_dir`` under a random name, so a 500 MB list never sits in memory and an oversized
one is cut off (``too-large``, 413) as soon as it passes the limit, its partial file deleted.
Other form fields (small) are returned as text.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

from dialer.api import errors

#: upload ids are what :func:`new_id` makes: nothing else reaches the file system.
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_FIELD_BYTES = 64 * 1024


@dataclass
class Upload:
    """A stored upload: its id, the client's file name, the bytes written."""

    id: str
    path: Path
    filename: str = ""
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)


def new_id() -> str:
    return secrets.token_hex(16)


def path_of(upload_dir: Path, upload_id: str) -> Path:
    """Where upload ``upload_id`` is stored; ``no-such-upload`` for anything else."""
    if not UPLOAD_ID.match(upload_id or "") or not (upload_dir / upload_id).is_file():
        raise errors.NotFound("upload", upload_id)
    return upload_dir / upload_id


def sniff(path: Path, filename: str) -> Any:
    """:func:`campaigns.lists.sniff`, its errors naming the client's file, not the server's path."""
    from campaigns import errors as campaign_errors
    from campaigns import lists

    try:
        return lists.sniff(path)
    except campaign_errors.CampaignError as exc:
        exc.args = tuple(str(a).replace(str(path), filename) for a in exc.args)
        raise


def meta_of(upload_dir: Path, upload_id: str) -> dict[str, Any]:
    meta = upload_dir / f"{upload_id}.json"
    try:
        return json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class _Receiver:
    """python-multipart callbacks: the ``file`` part to disk, small fields to memory."""

    def __init__(self, upload: Upload, limit: int) -> None:
        self.upload, self.limit = upload, limit
        self.handle: IO[bytes] | None = None
        self._headers: dict[bytes, bytes] = {}
        self._header_name = b""
        self._header_value = b""
        self._name = ""
        self._is_file = False
        self._value = bytearray()

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self.part_begin, "on_part_data": self.part_data,
                "on_part_end": self.part_end, "on_header_field": self.header_field,
                "on_header_value": self.header_value, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished}

    def part_begin(self) -> None:
        self._headers, self._value = {}, bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = self._header_value = b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        self._is_file = b"filename" in options and self._name == "file"
        if self._is_file:
            if self.handle is not None:
                raise errors.ApiError("send one file", fields={"file": "several files"})
            self.upload.filename = Path(options[b"filename"].decode("utf-8", "replace")
                                        .replace("\\", "/")).name[:200]
            self.handle = open(self.upload.path, "wb")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file and self.handle is not None:
            self.upload.size += end - start
            if self.upload.size > self.limit:
                raise errors.TooLarge(
                    f"the file is larger than {self.limit >> 20} MB ([web] max_upload_mb)",
                    fields={"file": f"larger than {self.limit >> 20} MB"})
            self.handle.write(data[start:end])
        else:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                raise errors.TooLarge("a form field is too large", fields={self._name: "too large"})

    def part_end(self) -> None:
        if not self._is_file and self._name:
            self.upload.fields[self._name] = self._value.decode("utf-8", "replace")


async def receive(request: Request, upload_dir: Path, limit_bytes: int) -> Upload:
    """Stream the request's multipart body; the ``file`` part lands in ``upload_dir``."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise errors.ApiError("send the file as multipart/form-data",
                              fields={"file": "multipart/form-data expected"},
                              error_id="not-multipart")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit_bytes + MAX_FIELD_BYTES * 8:
        raise errors.TooLarge(f"the file is larger than {limit_bytes >> 20} MB "
                              "([web] max_upload_mb)", fields={"file": "too large"})
    upload_id = new_id()
    upload = Upload(upload_id, upload_dir / upload_id)
    receiver = _Receiver(upload, limit_bytes)
    parser = MultipartParser(boundary, receiver.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except BaseException as exc:
        if receiver.handle is not None:
            receiver.handle.close()
        upload.path.unlink(missing_ok=True)
        if isinstance(exc, MultipartParseError):
            raise errors.ApiError(f"the upload is not valid multipart/form-data ({exc})",
                                  fields={"file": "malformed"}, error_id="bad-upload") from exc
        raise
    if receiver.handle is None:
        raise errors.ApiError("no file in the upload (field 'file')",
                              fields={"file": "missing"}, error_id="no-file")
    receiver.handle.close()
    return upload
