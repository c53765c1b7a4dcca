"""List uploads streamed to disk, background imports with progress, summary and reject file;
lists' activation, priority and recycling (F6, F1), with role checks and error shapes (F18)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from campaigns import models
from campaigns.store import audit
from dialer import import_jobs
from tests.api.conftest import Web
from tests.api.test_admin_campaigns import error_of

CSV = ("First Name,Surname,Tel 1,Other,ZIP\n"
       "Ann,Lee,+1 212 555 0101,,10001\n"
       "Bob,Kay,+1 212 555 0102,+1 212 555 0103,10001\n"
       "Cid,Roe,not a number,,10001\n"
       "Dee,Poe,+1 212 555 0101,,10001\n")


def wait_for_job(client, job_id: int, deadline_s: float = 60.0) -> dict:
    """Poll the job until it is done or failed (a deadline, no fixed sleep)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/import-jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"import job {job_id} did not finish: {job}")


def upload(client, text: str = CSV, name: str = "march.csv"):
    return client.post("/api/uploads", files={"file": (name, text.encode(), "text/csv")})


@pytest.mark.req("F6")
def test_upload_map_import_summary_and_rejects(web) -> None:
    admin = web.client("admin")
    sent = upload(admin)
    assert sent.status_code == 201, sent.text
    described = sent.json()
    assert described["header"] == ["First Name", "Surname", "Tel 1", "Other", "ZIP"]
    assert described["mapping"]["first_name"] == "First Name"
    assert described["sample"][0][0] == "Ann" and described["size_bytes"] == len(CSV)
    assert not described["has_phone"]  # "Tel 1" is not a name the loader knows: map it
    started = admin.post("/api/import-jobs", json={
        "upload": described["upload"], "campaign": web.ids["alpha"], "list_name": "march",
        "mapping": {"phone": "Tel 1", "last_name": "Surname", "alt_phone": ["Other"]},
        "priority": 5})
    assert started.status_code == 202, started.text
    job = wait_for_job(admin, started.json()["id"])
    assert job["status"] == "done", job["error"]
    assert (job["rows"], job["imported"]) == (4, 2)
    assert job["rejected"] == {"no_valid_number": 1, "duplicate": 1} and job["percent"] == 100
    rejects = admin.get(f"/api/import-jobs/{job['id']}/rejects")
    assert rejects.status_code == 200 and "march.rejects.csv" in rejects.headers[
        "content-disposition"]
    assert "Cid" in rejects.text and "Dee" in rejects.text and "Ann" not in rejects.text
    shown = admin.get(f"/api/lists/{job['list_id']}").json()
    assert shown["name"] == "march" and shown["priority"] == 5 and shown["rows_imported"] == 2
    assert shown["column_map"]["phone"] == "Tel 1"
    with web.factory() as session:
        loads = audit.events(session, entity="calling_list", entity_id=job["list_id"])
    assert [e.action for e in loads] == ["list.load"] and loads[0].actor == "administrator:admin"


@pytest.mark.req("F6")
def test_the_event_stream_ends_with_the_summary(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    described = upload(admin).json()
    job = admin.post("/api/import-jobs", json={
        "upload": described["upload"], "campaign": "alpha",
        "mapping": {"phone": "Tel 1"}}).json()
    assert job["list_name"] == "march"
    with admin.stream("GET", f"/api/import-jobs/{job['id']}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line.startswith("event:")]
    assert events[-1] == "event: done" and set(events[:-1]) <= {"event: progress"}


@pytest.mark.req("F6")
def test_uploads_past_the_limit_are_cut_off_and_deleted(sqlite_url, tmp_path: Path) -> None:
    web = Web(sqlite_url, tmp_path, settings_overrides={"web": {"max_upload_mb": 1}})
    try:
        admin = web.client("admin")
        big = b"phone\n" + b"+12125550101\n" * 100_000  # 1.3 MB

        def chunks():  # no Content-Length: the limit must hold while streaming
            head = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
                    b"Content-Type: text/csv\r\n\r\n")
            yield head
            for start in range(0, len(big), 65536):
                yield big[start:start + 65536]
            yield b"\r\n--B--\r\n"

        response = admin.post("/api/uploads", content=chunks(),
                              headers={"Content-Type": "multipart/form-data; boundary=B"})
        assert error_of(response, 413)["id"] == "too-large"
        declared = admin.post("/api/uploads", files={"file": ("big.csv", big, "text/csv")})
        assert error_of(declared, 413)["id"] == "too-large"
        assert [p.name for p in web.ctx.upload_dir.iterdir()] == []
    finally:
        web.close()


@pytest.mark.req("F6")
def test_unusable_files_and_mappings_are_refused(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    assert error_of(upload(admin, text=""), 422)["id"] == "list-file-unusable"
    assert error_of(admin.post("/api/uploads", data={"x": "1"}), 400)["id"] == "not-multipart"
    assert list(web_sqlite.ctx.upload_dir.glob("[0-9a-f]*[0-9a-f]")) == []
    described = upload(admin).json()
    no_phone = admin.post("/api/import-jobs", json={"upload": described["upload"],
                                                    "campaign": "alpha"})
    assert "phone" in error_of(no_phone, 422)["fields"]
    bad_column = admin.post("/api/import-jobs", json={
        "upload": described["upload"], "campaign": "alpha", "mapping": {"phone": "Nope"}})
    assert error_of(bad_column, 422)["fields"] == {"map": "Nope"}
    unknown = admin.post("/api/import-jobs", json={"upload": "../../etc/passwd",
                                                   "campaign": "alpha"})
    assert error_of(unknown, 404)["id"] == "no-such-upload"
    assert error_of(admin.post("/api/import-jobs", json={
        "upload": described["upload"], "campaign": "nope", "mapping": {"phone": "Tel 1"}}),
        404)["id"] == "no-such-campaign"


@pytest.mark.req("F6")
def test_a_failed_import_keeps_nothing_and_stale_jobs_fail_at_start(web_sqlite) -> None:
    ctx = web_sqlite.ctx
    binary = ctx.upload_dir / ("ab" * 16)
    binary.write_bytes(b"phone\n\x00\x01\x02\xff" * 10)
    with ctx.unit_of_work() as session:
        job = models.ImportJob(campaign_id=web_sqlite.ids["alpha"], list_name="bin",
                               filename="bin.csv", path=str(binary), size_bytes=50,
                               mapping={"phone": "phone"}, created_at=ctx.clock()
                               if hasattr(ctx, "clock") else ctx.now())
        stale = models.ImportJob(campaign_id=web_sqlite.ids["alpha"], list_name="old",
                                 filename="old.csv", path="/nowhere", status="running",
                                 created_at=ctx.now())
        session.add_all([job, stale])
        session.flush()
        job_id, stale_id = job.id, stale.id
    service = import_jobs.service(ctx)
    assert service.recovered == 2  # the queued one too: no server runs it
    with ctx.unit_of_work() as session:
        session.get(models.ImportJob, job_id).status = "queued"
    service.submit(job_id)
    admin = web_sqlite.client("admin")
    failed = wait_for_job(admin, job_id)
    assert failed["status"] == "failed" and "binary" in failed["error"]
    assert str(binary) not in failed["error"]
    assert admin.get(f"/api/import-jobs/{stale_id}").json()["status"] == "failed"
    assert error_of(admin.get(f"/api/import-jobs/{job_id}/rejects"), 404)
    with ctx.unit_of_work() as session:
        assert session.query(models.CallingList).filter_by(name="bin").count() == 0


@pytest.mark.req("F1")
def test_lists_activate_deactivate_update_and_recycle(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    described = upload(admin).json()
    job = wait_for_job(admin, admin.post("/api/import-jobs", json={
        "upload": described["upload"], "campaign": "alpha", "list_name": "l1",
        "mapping": {"phone": "Tel 1"}}).json()["id"])
    list_id = job["list_id"]
    lists = admin.get(f"/api/campaigns/{web_sqlite.ids['alpha']}/lists").json()["lists"]
    assert [item["name"] for item in lists] == ["l1"]
    assert admin.post(f"/api/lists/{list_id}/deactivate").json()["is_active"] is False
    refused = admin.post(f"/api/lists/{list_id}/recycle", json={"outcomes": ["busy"]})
    assert error_of(refused, 409)["id"] == "list-inactive"
    assert admin.post(f"/api/lists/{list_id}/activate").json()["is_active"] is True
    recycled = admin.post(f"/api/lists/{list_id}/recycle", json={"outcomes": ["busy"]})
    assert recycled.json()["requeued"] == 0 and recycled.json()["pass"] == 2
    unknown = admin.post(f"/api/lists/{list_id}/recycle", json={"outcomes": ["nope"]})
    assert "outcomes" in error_of(unknown, 422)["fields"]
    patched = admin.patch(f"/api/lists/{list_id}", json={"priority": 9, "expires_on": "2026-12-31",
                                                          "name": "l2"}).json()
    assert patched["priority"] == 9 and patched["expires_on"] == "2026-12-31"
    assert error_of(admin.patch(f"/api/lists/{list_id}", json={"expires_on": "soon"}), 422)


@pytest.mark.req("F18")
def test_list_and_import_routes_check_roles_and_membership(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    described = upload(admin).json()
    job = wait_for_job(admin, admin.post("/api/import-jobs", json={
        "upload": described["upload"], "campaign": "beta", "list_name": "b",
        "mapping": {"phone": "Tel 1"}}).json()["id"])
    agent, supervisor = web_sqlite.client("agent1"), web_sqlite.client("super")
    beta, list_id = web_sqlite.ids["beta"], job["list_id"]
    assert error_of(agent.get(f"/api/campaigns/{beta}/lists"), 403)["id"] == "not-a-member"
    assert error_of(agent.get(f"/api/lists/{list_id}"), 403)["id"] == "not-a-member"
    assert supervisor.get(f"/api/lists/{list_id}").status_code == 200
    assert supervisor.get(f"/api/import-jobs/{job['id']}/rejects").status_code == 200
    for client in (agent, supervisor):
        for method, path, body in [
                ("PATCH", f"/api/lists/{list_id}", {"priority": 1}),
                ("POST", f"/api/lists/{list_id}/activate", None),
                ("POST", f"/api/lists/{list_id}/deactivate", None),
                ("POST", f"/api/lists/{list_id}/recycle", {"outcomes": ["busy"]}),
                ("POST", "/api/import-jobs", {"upload": described["upload"], "campaign": "beta"})]:
            assert error_of(client.request(method, path, json=body), 403)["id"] == "forbidden"
        assert error_of(upload(client), 403)["id"] == "forbidden"
    for path in (f"/api/import-jobs/{job['id']}", f"/api/import-jobs/{job['id']}/rejects",
                 f"/api/import-jobs/{job['id']}/events", "/api/import-jobs"):
        assert error_of(agent.get(path), 403)["id"] == "forbidden"
    assert error_of(web_sqlite.anonymous().post("/api/uploads"), 401)


@pytest.mark.req("F6")
def test_the_lists_page_has_the_upload_mapping_and_progress_steps(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    described = upload(admin).json()
    wait_for_job(admin, admin.post("/api/import-jobs", json={
        "upload": described["upload"], "campaign": "alpha", "list_name": "shown",
        "mapping": {"phone": "Tel 1"}}).json()["id"])
    page = admin.get("/admin/lists")
    assert page.status_code == 200
    for testid in ("list-upload-form", "list-file", "list-campaign", "list-name", "list-upload",
                   "list-mapping", "list-import", "import-progress", "import-summary",
                   "reject-download"):
        assert f'data-testid="{testid}"' in page.text, testid
    assert '<option value="%d">alpha</option>' % web_sqlite.ids["alpha"] in page.text
    assert 'data-list="shown"' in page.text and "/static/admin-lists.js" in page.text
    assert admin.get("/static/admin-lists.js").status_code == 200
    supervisor = web_sqlite.client("super").get("/admin/lists")
    assert supervisor.status_code == 200 and "list-upload-form" not in supervisor.text
    assert web_sqlite.client("agent1").get("/admin/lists").status_code == 403
