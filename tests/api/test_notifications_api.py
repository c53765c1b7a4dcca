"""``/api/notifications`` and ``/api/webhooks`` (F1 resources): the outbox, re-queuing, webhook
endpoints and their delivery log; role checks and error shapes (F18)."""

from __future__ import annotations

from typing import Any

import pytest

from campaigns import db
from campaigns.enums import Channel, MessageStatus
from campaigns.store import audit, outbox
from campaigns.store import webhooks as webhook_store
from tests.api.conftest import NOW
from tests.api.test_dashboard_api import error_of


def seed_outbox(web: Any) -> dict[str, int]:
    with db.unit_of_work(web.factory) as session:
        mail = outbox.enqueue(session, channel=Channel.EMAIL, recipient="ada@example.com",
                              event="callback.reminder", body="Hello", now=NOW,
                              campaign_id=web.ids["alpha"])
        sms = outbox.enqueue(session, channel=Channel.SMS, recipient="+442079460100",
                             event="callback.reminder", body="Hi", now=NOW,
                             campaign_id=web.ids["alpha"])
        sms.status, sms.last_error = MessageStatus.FAILED, "gateway down"
        other = outbox.enqueue(session, channel=Channel.EMAIL, recipient="bob@example.com",
                               event="callback.cancelled", body="Bye", now=NOW,
                               campaign_id=web.ids["beta"])
        return {"mail": mail.id, "sms": sms.id, "other": other.id}


@pytest.mark.req("F1")
def test_the_outbox_is_listed_filtered_and_failed_messages_retried(web) -> None:
    ids = seed_outbox(web)
    client = web.client("super")
    listed = client.get("/api/notifications").json()["messages"]
    assert [m["id"] for m in listed] == [ids["other"], ids["sms"], ids["mail"]]
    assert [m["id"] for m in client.get("/api/notifications?channel=sms").json()["messages"]] \
        == [ids["sms"]]
    failed = client.get("/api/notifications?status=failed").json()["messages"]
    assert [m["last_error"] for m in failed] == ["gateway down"]
    beta = client.get(f"/api/notifications?campaign_id={web.ids['beta']}").json()["messages"]
    assert [m["id"] for m in beta] == [ids["other"]]
    assert client.get(f"/api/notifications/{ids['mail']}").json()["body"] == "Hello"
    retried = client.post(f"/api/notifications/{ids['sms']}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "queued"
    with web.factory() as session:
        [event] = audit.events(session, entity="outbox_message", entity_id=ids["sms"])
    assert event.actor == "supervisor:super"
    error_of(client.post(f"/api/notifications/{ids['mail']}/retry"), 422, "message-not-failed")
    error_of(client.post("/api/notifications/999/retry"), 404, "no-such-message")
    error_of(client.get("/api/notifications?status=lost"), 400, "invalid-input")
    error_of(client.get("/api/notifications?channel=pigeon"), 422, "invalid-input")


@pytest.mark.req("F1", "F18")
def test_administrators_manage_webhooks_and_supervisors_read_them(web) -> None:
    admin, supervisor = web.client("admin"), web.client("super")
    created = admin.post("/api/webhooks", json={"campaign_id": web.ids["alpha"],
                                                "url": "https://hooks.example.com/dialer",
                                                "events": ["callback.cancelled"]})
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret"].startswith("whsec_") and hook["campaign"] == "alpha"
    listed = supervisor.get("/api/webhooks").json()["webhooks"]
    assert [w["id"] for w in listed] == [hook["id"]] and "secret" not in listed[0]
    assert supervisor.get(f"/api/webhooks/{hook['id']}").json()["url"] == hook["url"]
    error_of(supervisor.post("/api/webhooks", json={"campaign_id": web.ids["alpha"],
                                                    "url": "https://x.example.com"}),
             403, "forbidden")
    error_of(supervisor.delete(f"/api/webhooks/{hook['id']}"), 403, "forbidden")
    assert admin.post(f"/api/webhooks/{hook['id']}/disable").json()["is_active"] is False
    assert admin.post(f"/api/webhooks/{hook['id']}/enable").json()["is_active"] is True
    assert admin.delete(f"/api/webhooks/{hook['id']}").json() == {"id": hook["id"],
                                                                 "removed": True}
    error_of(admin.delete(f"/api/webhooks/{hook['id']}"), 404, "no-such-webhook")
    with web.factory() as session:
        actions = [e.action for e in audit.events(session, entity="webhook")]
    assert actions == ["webhook.add", "webhook.disable", "webhook.enable", "webhook.remove"]


@pytest.mark.req("F1", "F18")
def test_webhook_input_errors_name_the_field(web_sqlite) -> None:
    admin = web_sqlite.client("admin")
    alpha = web_sqlite.ids["alpha"]
    error_of(admin.post("/api/webhooks", json={"campaign_id": alpha, "url": "ftp://x"}), 422,
             "usage")
    bad_event = admin.post("/api/webhooks", json={"campaign_id": alpha, "url": "https://x.io",
                                                  "events": ["Callback Cancelled"]})
    assert error_of(bad_event, 400, "invalid-input")["fields"] == {"events": "Callback Cancelled"}
    short = admin.post("/api/webhooks", json={"campaign_id": alpha, "url": "https://x.io",
                                              "secret": "short"})
    assert "secret" in error_of(short, 422, "invalid-input")["fields"]
    error_of(admin.post("/api/webhooks", json={"campaign_id": 999, "url": "https://x.io"}), 404,
             "no-such-campaign")


@pytest.mark.req("F1")
def test_the_delivery_log_and_redelivery(web_sqlite) -> None:
    web = web_sqlite
    admin = web.client("admin")
    hook = admin.post("/api/webhooks", json={"campaign_id": web.ids["alpha"],
                                             "url": "https://hooks.example.com/d"}).json()
    with db.unit_of_work(web.factory) as session:
        [delivery] = webhook_store.enqueue_event(session, campaign_id=web.ids["alpha"],
                                                 event="callback.cancelled",
                                                 data={"callback_id": 7}, now=NOW)
        delivery.status, delivery.last_error = MessageStatus.FAILED, "HTTP 500"
        delivery_id = delivery.id
    log = web.client("super").get(f"/api/webhooks/{hook['id']}/deliveries").json()["deliveries"]
    assert [(d["id"], d["status"], d["last_error"]) for d in log] == [(delivery_id, "failed",
                                                                       "HTTP 500")]
    assert web.client("super").get(
        f"/api/webhooks/{hook['id']}/deliveries?status=sent").json()["deliveries"] == []
    error_of(web.client("super").post(f"/api/webhooks/deliveries/{delivery_id}/redeliver"),
             403, "forbidden")
    again = admin.post(f"/api/webhooks/deliveries/{delivery_id}/redeliver")
    assert again.status_code == 200 and again.json()["status"] == "queued"
    error_of(admin.post(f"/api/webhooks/deliveries/{delivery_id}/redeliver"), 422,
             "delivery-not-failed")
    error_of(admin.get("/api/webhooks/999/deliveries"), 404, "no-such-webhook")


@pytest.mark.req("F18")
def test_agents_and_anonymous_callers_reach_neither_outbox_nor_webhooks(web_sqlite) -> None:
    agent, anonymous = web_sqlite.client("agent1"), web_sqlite.anonymous()
    for method, path in (("GET", "/api/notifications"), ("GET", "/api/notifications/1"),
                         ("POST", "/api/notifications/1/retry"), ("GET", "/api/webhooks"),
                         ("POST", "/api/webhooks"), ("GET", "/api/webhooks/1"),
                         ("DELETE", "/api/webhooks/1"), ("POST", "/api/webhooks/1/enable"),
                         ("POST", "/api/webhooks/1/disable"),
                         ("GET", "/api/webhooks/1/deliveries"),
                         ("POST", "/api/webhooks/deliveries/1/redeliver")):
        body = {"campaign_id": 1, "url": "https://x.io"} if path == "/api/webhooks" else None
        assert error_of(agent.request(method, path, json=body), 403)["id"] == "forbidden"
        assert error_of(anonymous.request(method, path, json=body),
                        401)["id"] == "not-authenticated"
