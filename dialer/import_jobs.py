"""List uploads imported in the background: one ``import_job`` row per import (F6).

The web application streams an upload to ``[web] upload_dir`` (``dialer.api.routes._uploads``),
the administrator maps its columns, and :meth:`ImportJobs.submit` runs the list loader
(:func:`dialer.list_loader.load_file`, exactly as ``dialer list load`` does) on one worker
thread, one import at a time.  The load and the job's summary are committed in one unit of
work, so a failed import keeps nothing but the job's error.

Progress: the loader reads the file from this process, so a watcher reads the file's
position from ``/proc/self/fdinfo`` every half second (Linux); the bytes read are kept in
memory (the load's transaction holds SQLite's write lock, so the row cannot be written until
the end) and merged into the job by :meth:`ImportJobs.view`.  Rows, imported and rejected
counts come with the summary.  Jobs a crashed server left ``queued`` or ``running`` are
marked failed when the service starts.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import update

from campaigns import errors as campaign_errors, lists, models
from campaigns.store import audit, campaigns as campaign_store, lists as list_store
from dialer import errors as dialer_errors, list_loader

logger = logging.getLogger(__name__)

#: files smaller than this are parsed in-process (as ``dialer list load`` does).
PARALLEL_MIN_BYTES = 16 << 20
#: the watcher's period.
WATCH_S = 0.5
FINISHED = ("done", "failed")


def service(ctx: Any) -> "ImportJobs":
    """The server's import service (built, and stale jobs failed, on first use)."""
    return ctx.service("import-jobs", lambda: ImportJobs(ctx))


class ImportJobs:
    """Runs list imports one at a time on a worker thread."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="list-import")
        self._progress: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        #: job -> server path and client file name (errors name the latter).
        self._paths: dict[int, str] = {}
        self._names: dict[int, str] = {}
        self.recovered = self.recover()

    def recover(self) -> int:
        """Mark jobs left unfinished by a server that stopped as failed; returns how many."""
        with self.ctx.unit_of_work() as session:
            result = session.execute(
                update(models.ImportJob)
                .where(models.ImportJob.status.in_(("queued", "running")))
                .values(status="failed", finished_at=self.ctx.now(),
                        error="the server stopped before the import finished: upload again"))
            return result.rowcount or 0

    def submit(self, job_id: int) -> None:
        with self._lock:
            self._progress[job_id] = {"bytes_read": 0}
        self._executor.submit(self._run, job_id)

    def progress(self, job_id: int) -> dict[str, Any]:
        with self._lock:
            return dict(self._progress.get(job_id, {}))

    def view(self, job: models.ImportJob) -> dict[str, Any]:
        """A job as JSON, with the live progress of a running one."""
        shown = job_json(job)
        live = self.progress(job.id) if job.status not in FINISHED else {}
        if live.get("bytes_read"):
            shown["bytes_read"] = max(shown["bytes_read"], live["bytes_read"])
        size = max(shown["size_bytes"], 1)
        shown["percent"] = (100.0 if job.status == "done"
                            else round(min(99.0, 100.0 * shown["bytes_read"] / size), 1))
        return shown

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)

    def _run(self, job_id: int) -> None:
        stop = threading.Event()
        try:
            with self.ctx.unit_of_work() as session:
                job = session.get(models.ImportJob, job_id)
                if job is None or job.status != "queued":
                    return
                job.status = "running"
                path = Path(job.path)
                self._paths[job_id], self._names[job_id] = str(path), job.filename
            watcher = threading.Thread(target=self._watch, args=(job_id, path, stop),
                                       name=f"import-watch-{job_id}", daemon=True)
            watcher.start()
            with self.ctx.unit_of_work() as session:
                list_store.suspend_foreign_keys(session)
                self._load(session, session.get(models.ImportJob, job_id))
        except Exception as exc:  # the job records every failure
            self._failed(job_id, exc)
        finally:
            stop.set()
            with self._lock:
                self._progress.pop(job_id, None)
            self._paths.pop(job_id, None)
            self._names.pop(job_id, None)

    def _load(self, session: Any, job: models.ImportJob) -> None:
        """Run the loader as ``dialer list load`` does and record the summary on the job."""
        section = self.ctx.settings.lists
        now = self.ctx.now()
        path = Path(job.path)
        shape = lists.sniff(path)
        campaign = campaign_store.get(session, job.campaign_id)
        calling_list = list_store.find_by_name(session, campaign.id, job.list_name)
        options = dict(job.mapping.get("_options", {})) if isinstance(job.mapping, dict) else {}
        mapping = {k: v for k, v in job.mapping.items() if not k.startswith("_")}
        if calling_list is None:
            calling_list = list_store.create_list(session, campaign, job.list_name, now=now,
                                                  priority=int(options.get("priority") or 0))
        changes: dict[str, Any] = {"column_map": mapping, "source_file": job.filename}
        if options.get("priority") is not None:
            changes["priority"] = int(options["priority"])
        list_store.update_list(session, calling_list, **changes)
        workers = 0
        if path.stat().st_size >= PARALLEL_MIN_BYTES:
            workers = section.workers or max(1, (os.cpu_count() or 2) - 1)
        reject_path = path.with_name(f"{path.name}.{job.id}.rejects.csv")
        summary = list_loader.load_file(session, calling_list, path, shape, mapping,
                                        options.get("region") or section.default_region,
                                        now=now, reject_path=reject_path,
                                        batch_size=section.batch_size, workers=workers)
        audit.record(session, action="list.load", entity="calling_list",
                     entity_id=calling_list.id, actor=job.created_by, at=now,
                     details={"rows": summary["rows"], "imported": summary["imported"],
                              "rejected": summary["rejected"], "file": job.filename,
                              "import_job": job.id})
        job.status, job.finished_at = "done", self.ctx.now()
        job.bytes_read, job.rows, job.imported = job.size_bytes, summary["rows"], summary["imported"]
        job.rejected = {k: v for k, v in summary["rejected"].items() if v}
        job.reject_file, job.list_id = summary["reject_file"], calling_list.id

    def _failed(self, job_id: int, exc: Exception) -> None:
        if isinstance(exc, (campaign_errors.CampaignError, dialer_errors.DialerError)) \
                and getattr(exc, "is_input_error", False):
            message = (getattr(exc, "message", "") or str(exc)).replace(
                str(self._paths.get(job_id, "\0")), self._names.get(job_id, "the file"))
            logger.info("import job %s refused: %s", job_id, message)
        else:
            message = "the import failed on the server: see its log"
            logger.error("import job %s failed", job_id, exc_info=exc)
        with self.ctx.unit_of_work() as session:
            job = session.get(models.ImportJob, job_id)
            if job is not None:
                job.status, job.error, job.finished_at = "failed", message, self.ctx.now()

    def _watch(self, job_id: int, path: Path, stop: threading.Event) -> None:
        """Keep the bytes the loader has read of ``path`` (Linux: ``/proc/self/fdinfo``)."""
        while not stop.wait(WATCH_S):
            position = read_position(path)
            if position is not None:
                with self._lock:
                    if job_id in self._progress:
                        self._progress[job_id]["bytes_read"] = position


def read_position(path: Path) -> int | None:
    """The offset of this process's open file ``path``, where ``/proc`` tells it; else None."""
    target = str(path.resolve())
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return None
    for fd in descriptors:
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != target:
                continue
            with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as info:
                for line in info:
                    if line.startswith("pos:"):
                        return int(line.split()[1])
        except (OSError, ValueError):
            continue
    return None


def job_json(job: models.ImportJob) -> dict[str, Any]:
    """An import job as JSON-ready values (the server's paths left out)."""
    options = job.mapping.get("_options", {}) if isinstance(job.mapping, dict) else {}
    return {"id": job.id, "campaign_id": job.campaign_id, "list_name": job.list_name,
            "filename": job.filename, "size_bytes": job.size_bytes, "status": job.status,
            "mapping": {k: v for k, v in (job.mapping or {}).items() if not k.startswith("_")},
            "priority": options.get("priority"), "bytes_read": job.bytes_read,
            "rows": job.rows, "imported": job.imported,
            "rejected": dict(job.rejected or {}),
            "rejected_total": sum((job.rejected or {}).values()),
            "has_rejects": bool(job.reject_file) and sum((job.rejected or {}).values()) > 0,
            "list_id": job.list_id, "error": job.error, "created_by": job.created_by,
            "created_at": job.created_at, "finished_at": job.finished_at}
