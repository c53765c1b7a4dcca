"""``/api/uploads`` and ``/api/import-jobs``: list files streamed to disk, then imported in the
background by the list loader, with progress (JSON and server-sent events), summary and
reject file (F6).

1. ``POST /api/uploads`` (multipart, field ``file``) streams the file to ``[web] upload_dir``
   within ``[web] max_upload_mb`` and answers the sniffed header, a few sample rows and the
   suggested column mapping;
2. ``POST /api/import-jobs`` ``{upload, campaign, list_name, mapping, priority}`` checks the
   mapping and queues the import (202);
3. ``GET /api/import-jobs/{id}`` (or ``/events``, a ``text/event-stream``) follows it;
   ``GET /api/import-jobs/{id}/rejects`` downloads the rejected rows with their reasons.

Administrators upload and import; supervisors follow imports and download reject files.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from campaigns import errors as campaign_errors
from campaigns import lists, models
from campaigns.store import lists as list_store
from dialer import import_jobs
from dialer.api import auth, errors
from dialer.api.routes import _admin, _uploads

router = APIRouter(tags=["lists"])
SAMPLE_ROWS = 3
EVENT_PERIOD_S = 0.5


class ImportIn(BaseModel):
    upload: str = Field(min_length=1, max_length=64)
    campaign: int | str
    list_name: str = Field("", max_length=200)
    #: field -> column (``alt_phone`` may take a list); empty values are ignored.
    mapping: dict[str, str | list[str]] = Field(default_factory=dict)
    priority: int | None = None
    #: region of numbers written without a country code (default ``[lists] default_region``).
    region: str | None = Field(None, max_length=2)


def _describe(path: Path, filename: str) -> dict[str, Any]:
    """The file's shape, sample rows and suggested mapping (a file the loader cannot use is
    refused with its message)."""
    shape = _uploads.sniff(path, filename)
    rows = list(itertools.islice(lists.read_rows(path, shape), SAMPLE_ROWS))
    suggested = lists.recognise(shape.header)
    return {"header": list(shape.header), "encoding": shape.encoding,
            "delimiter": shape.delimiter, "sample": rows,
            "mapping": {f: cols if f == "alt_phone" else cols[0] for f, cols in suggested.items()},
            "has_phone": "phone" in suggested, "fields": list(lists.FIELDS)}


@router.post("/api/uploads", status_code=201)
async def upload(request: Request, user: auth.Admin, ctx: auth.Ctx) -> dict[str, Any]:
    """Stream a list file to disk; answer its columns and the suggested mapping."""
    limit = ctx.settings.web.max_upload_mb << 20
    received = await _uploads.receive(request, ctx.upload_dir, limit)
    try:
        described = await run_in_threadpool(_describe, received.path, received.filename)
    except Exception:
        received.path.unlink(missing_ok=True)
        raise
    meta = {"filename": received.filename, "size_bytes": received.size, "by": user.actor}
    (ctx.upload_dir / f"{received.id}.json").write_text(json.dumps(meta), encoding="utf-8")
    return {"upload": received.id, "filename": received.filename, "size_bytes": received.size,
            "fields_sent": received.fields, **described}


def _mapping(header: tuple[str, ...], wanted: dict[str, Any],
             saved: dict[str, Any] | None) -> dict[str, Any]:
    overrides: dict[str, list[str]] = {}
    for field, columns in wanted.items():
        if field not in lists.ALIASES:
            raise campaign_errors.InvalidInput(
                f"unknown field {field!r} (known: {', '.join(lists.FIELDS)})",
                fields={f"mapping.{field}": "unknown field"})
        chosen = [c for c in ([columns] if isinstance(columns, str) else columns) if c]
        if chosen:
            overrides[field] = chosen
    return lists.resolve_mapping(header, overrides, saved)


def _create_job(ctx: Any, user: auth.Principal, body: ImportIn) -> dict[str, Any]:
    service = import_jobs.service(ctx)  # first: it fails the jobs a stopped server left
    path = _uploads.path_of(ctx.upload_dir, body.upload)
    meta = _uploads.meta_of(ctx.upload_dir, body.upload)
    shape = _uploads.sniff(path, meta.get("filename") or "upload")
    with ctx.unit_of_work() as session:
        campaign = _admin.campaign_ref(session, body.campaign)
        user.check_campaign(campaign.id)
        name = body.list_name.strip() or Path(meta.get("filename") or "upload").stem or "upload"
        existing = list_store.find_by_name(session, campaign.id, name)
        mapping = _mapping(shape.header, body.mapping, existing.column_map if existing else None)
        options = {"priority": body.priority, "region": (body.region or "").upper() or None}
        job = models.ImportJob(campaign_id=campaign.id, list_name=name,
                               filename=meta.get("filename") or path.name, path=str(path),
                               size_bytes=path.stat().st_size, status="queued",
                               mapping={**mapping, "_options": options}, created_by=user.actor,
                               created_at=ctx.now())
        session.add(job)
        session.flush()
        job_id = job.id
    service.submit(job_id)
    with ctx.unit_of_work() as session:
        return service.view(session.get(models.ImportJob, job_id))


@router.post("/api/import-jobs", status_code=202)
def start_import(body: ImportIn, user: auth.Admin, ctx: auth.Ctx) -> dict[str, Any]:
    """Queue the import of an upload into a list of a campaign (created when new)."""
    return _create_job(ctx, user, body)


def _job(session: Any, user: auth.Principal, job_id: int) -> models.ImportJob:
    job = session.get(models.ImportJob, job_id)
    if job is None:
        raise errors.NotFound("import_job", job_id)
    user.check_campaign(job.campaign_id)
    return job


@router.get("/api/import-jobs")
def list_jobs(session: auth.Db, user: auth.Staff, ctx: auth.Ctx,
              campaign_id: int | None = None, limit: int = 20) -> dict[str, Any]:
    service = import_jobs.service(ctx)
    query = select(models.ImportJob).order_by(models.ImportJob.id.desc()).limit(min(limit, 200))
    if campaign_id is not None:
        query = query.where(models.ImportJob.campaign_id == campaign_id)
    return {"jobs": [service.view(job) for job in session.scalars(query)]}


@router.get("/api/import-jobs/{job_id}")
def get_job(job_id: int, session: auth.Db, user: auth.Staff, ctx: auth.Ctx) -> dict[str, Any]:
    return import_jobs.service(ctx).view(_job(session, user, job_id))


@router.get("/api/import-jobs/{job_id}/events")
async def job_events(job_id: int, request: Request, user: auth.Staff,
                     ctx: auth.Ctx) -> StreamingResponse:
    """Server-sent events: ``progress`` while the job runs, then ``done`` (or ``failed``)."""
    service = import_jobs.service(ctx)
    first = await ctx.run(lambda s: service.view(_job(s, user, job_id)))

    async def stream() -> AsyncIterator[str]:
        shown = first
        while True:
            data = json.dumps(jsonable_encoder(shown))
            if shown["status"] in import_jobs.FINISHED:
                yield f"event: {shown['status']}\ndata: {data}\n\n"
                return
            yield f"event: progress\ndata: {data}\n\n"
            await asyncio.sleep(EVENT_PERIOD_S)
            if await request.is_disconnected():
                return
            shown = await ctx.run(lambda s: service.view(_job(s, user, job_id)))

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/api/import-jobs/{job_id}/rejects")
def job_rejects(job_id: int, session: auth.Db, user: auth.Staff) -> FileResponse:
    """The rejected rows as they came, with a ``reject_reason`` column."""
    job = _job(session, user, job_id)
    path = Path(job.reject_file) if job.reject_file else None
    if job.status != "done" or path is None or not path.is_file():
        raise errors.NotFound("reject_file", job_id)
    return FileResponse(path, media_type="text/csv",
                        filename=f"{Path(job.filename).stem or 'list'}.rejects.csv")
