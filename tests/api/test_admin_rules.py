"""``/api/campaigns/{id}/rules`` and the rules page: the TOML editor, validated all or nothing
with the line of the first error (F7), role checks and error shapes (F18)."""

from __future__ import annotations

import pytest

from campaigns import dispositions
from campaigns.store import audit
from tests.api.test_admin_campaigns import error_of


@pytest.mark.req("F7")
def test_rules_round_trip_and_replace_all_or_nothing(web) -> None:
    admin = web.client("admin")
    alpha = web.ids["alpha"]
    offered = admin.get(f"/api/campaigns/{alpha}/rules").json()
    assert offered["rules"] == [] and offered["text"] == dispositions.default_rules_text()
    assert admin.put(f"/api/campaigns/{alpha}/rules", json={"text": offered["text"]}).status_code \
        == 200
    shown = admin.get(f"/api/campaigns/{alpha}/rules").json()
    codes = [r["code"] for r in shown["rules"]]
    assert "answered" in codes and "sale" in codes
    assert [r.code for r in dispositions.parse_rules(shown["text"])] == codes
    edited = shown["text"].replace('code = "busy"\n', 'code = "busy"\n', 1) + (
        '\n[[disposition]]\ncode = "promise_to_pay"\nsource = "agent"\naction = "final_success"\n')
    saved = admin.put(f"/api/campaigns/{alpha}/rules", json={"text": edited})
    assert saved.status_code == 200 and "promise_to_pay" in saved.json()["codes"]
    broken = edited + '\n[[disposition]]\ncode = "x"\nsource = "agent"\naction = "explode"\n'
    error = error_of(admin.put(f"/api/campaigns/{alpha}/rules", json={"text": broken}), 422)
    assert error["id"] == "rules-file-invalid"
    assert error["fields"]["line"] == str(len(broken.splitlines()))
    assert "action" in error["fields"]["reason"]
    after = admin.get(f"/api/campaigns/{alpha}/rules").json()
    assert [r["code"] for r in after["rules"]] == saved.json()["codes"]
    raw = admin.put(f"/api/campaigns/{alpha}/rules", content="not = [toml",
                    headers={"Content-Type": "text/plain"})
    assert error_of(raw, 422)["fields"]["line"] == "1"
    with web.factory() as session:
        loads = [e for e in audit.events(session, entity="campaign", entity_id=alpha)
                 if e.action == "rules.load"]
    assert len(loads) == 2 and loads[0].actor == "administrator:admin"


@pytest.mark.req("F18")
def test_rules_routes_check_roles(web_sqlite) -> None:
    alpha = web_sqlite.ids["alpha"]
    text = web_sqlite.client("admin").get(f"/api/campaigns/{alpha}/rules").json()["text"]
    supervisor, agent = web_sqlite.client("super"), web_sqlite.client("agent1")
    assert supervisor.get(f"/api/campaigns/{alpha}/rules").status_code == 200
    assert error_of(agent.get(f"/api/campaigns/{alpha}/rules"), 403)["id"] == "forbidden"
    for client in (supervisor, agent):
        refused = client.put(f"/api/campaigns/{alpha}/rules", json={"text": text})
        assert error_of(refused, 403)["id"] == "forbidden"
    assert error_of(web_sqlite.client("admin").put("/api/campaigns/999/rules",
                                                   json={"text": text}), 404)
    assert error_of(web_sqlite.client("admin").put(f"/api/campaigns/{alpha}/rules",
                                                   json={"nope": 1}), 422)["fields"] == {
        "text": "missing"}


@pytest.mark.req("F7")
def test_the_rules_page(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    page = admin.get(f"/admin/rules?campaign={web_sqlite.ids['beta']}")
    assert page.status_code == 200
    for testid in ("rules-text", "rules-save", "rules-errors"):
        assert f'data-testid="{testid}"' in page.text
    assert "[[disposition]]" in page.text and "Rules of beta" in page.text
    assert 'data-testid="rules-save"' not in web_sqlite.client("super").get("/admin/rules").text
