"""``/api/dnc``: search, add, remove and import do-not-call numbers, and the DNC page (F7),
with role checks and error shapes (F18)."""

from __future__ import annotations

import pytest

from campaigns import models
from campaigns.store import audit
from tests.api.test_admin_campaigns import error_of


@pytest.mark.req("F7")
def test_add_search_and_remove_numbers(web) -> None:
    supervisor = web.client("super")
    added = supervisor.post("/api/dnc", json={"numbers": ["(212) 555-0101", "+1 212 555 0102"],
                                              "source": "complaint"})
    assert added.status_code == 201, added.text
    assert added.json()["added"] == ["+12125550101", "+12125550102"]
    again = supervisor.post("/api/dnc", json={"numbers": ["2125550101"],
                                              "campaign": web.ids["alpha"],
                                              "expires": "2027-01-01"}).json()
    assert again["scope"] == f"campaign:{web.ids['alpha']}" and again["added"] == ["+12125550101"]
    found = supervisor.get("/api/dnc", params={"number": "212-555-0101"}).json()
    assert found["total"] == 2 and {e["scope"] for e in found["entries"]} == {
        "global", f"campaign:{web.ids['alpha']}"}
    partial = supervisor.get("/api/dnc", params={"number": "0102"}).json()
    assert [e["e164"] for e in partial["entries"]] == ["+12125550102"]
    scoped = supervisor.get("/api/dnc", params={"campaign": "global"}).json()
    assert scoped["total"] == 2
    removed = supervisor.delete("/api/dnc", params={"number": "+12125550101"}).json()
    assert removed["removed"] == ["+12125550101"] and removed["scope"] == "global"
    assert supervisor.get("/api/dnc", params={"number": "2125550101"}).json()["total"] == 1
    with web.factory() as session:
        actions = sorted(e.action for e in audit.events(session, entity="dnc_entry"))
    assert actions == ["dnc.add", "dnc.add", "dnc.add", "dnc.remove"]


@pytest.mark.req("F7")
def test_bad_numbers_and_dates_are_refused(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    assert "numbers" in error_of(admin.post("/api/dnc", json={"numbers": ["call me"]}),
                                 422)["fields"]
    assert "expires" in error_of(admin.post("/api/dnc", json={"numbers": ["2125550101"],
                                                              "expires": "soon"}), 422)["fields"]
    assert error_of(admin.post("/api/dnc", json={"numbers": ["2125550101"], "campaign": "nope"}),
                    404)["id"] == "no-such-campaign"
    assert error_of(admin.get("/api/dnc", params={"number": "abc"}), 422)


@pytest.mark.req("F7")
def test_import_a_registry_file(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    admin.post("/api/dnc", json={"numbers": ["2125550103"]})
    text = "# US registry extract\n212-555-0101\n2125550102\n\nnot a number\n212 555 0103\n"
    done = admin.post("/api/dnc/import", data={"source": "us-national"},
                      files={"file": ("registry.txt", text.encode(), "text/plain")})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["lines"], body["added"], body["already_listed"], body["unreadable"]) \
        == (4, 2, 1, 1)
    assert body["unreadable_lines"] == [5]
    with web_sqlite.factory() as session:
        assert session.query(models.RegistryScrub).filter_by(source="us-national").count() == 1
    assert list(web_sqlite.ctx.upload_dir.iterdir()) == []
    empty = admin.post("/api/dnc/import", files={"file": ("empty.txt", b"", "text/plain")})
    assert "empty.txt" in error_of(empty, 422)["message"]


@pytest.mark.req("F18")
def test_dnc_routes_refuse_agents(web_sqlite) -> None:
    agent = web_sqlite.client("agent1")
    assert error_of(agent.get("/api/dnc"), 403)["id"] == "forbidden"
    assert error_of(agent.post("/api/dnc", json={"numbers": ["2125550101"]}), 403)
    assert error_of(agent.delete("/api/dnc", params={"number": "2125550101"}), 403)
    assert error_of(agent.post("/api/dnc/import",
                               files={"file": ("x.txt", b"2125550101\n", "text/plain")}), 403)
    assert error_of(web_sqlite.anonymous().get("/api/dnc"), 401)


@pytest.mark.req("F7")
def test_the_dnc_page(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    admin.post("/api/dnc", json={"numbers": ["2125550101"]})
    page = admin.get("/admin/dnc", params={"number": "0101"})
    assert page.status_code == 200
    for testid in ("dnc-number", "dnc-add", "dnc-table"):
        assert f'data-testid="{testid}"' in page.text
    assert 'data-number="+12125550101"' in page.text
    assert web_sqlite.client("agent1").get("/admin/dnc").status_code == 403
