"""Every route of the app, its least role and its error shapes, in one table (F18, F2).

``ROLE_OF`` names the least role of every (method, path) the app serves: ``public`` (no login),
``any`` (any logged-in user), ``agent`` (agents only: the desk), ``staff`` (supervisors and
administrators) or ``admin``.  The app's routes and the table must be the same set, so a new
route cannot ship without being classified here.  For every route: anonymous callers get 401
(API) or the login page (pages); each role the table leaves out gets 403 ``forbidden`` before
the body is validated; each role it lets in passes the role check (and never gets a 500).
``MEMBERSHIP`` sends ``agent1`` (member of ``alpha`` only) to ``beta``'s objects through every
API route that takes a campaign, record, list, callback, attempt or import-job id; the
unsafe cookie-session routes refuse a missing or wrong CSRF token.  One app and one SQLite
database serve the whole module: nothing here is allowed to change them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from campaigns import db, models, schema
from campaigns.enums import Channel
from campaigns.store import outbox, web_auth
from campaigns.store import webhooks as webhook_store
from dialer import callbacks_service
from tests.api import callback_world as world
from tests.api.conftest import NOW, Web

P, ANY, AGENT, STAFF, ADMIN = "public", "any", "agent", "staff", "admin"
#: who passes each least role (``agent1`` stands for the agents).
ALLOWED = {P: ("agent1", "super", "admin"), ANY: ("agent1", "super", "admin"),
           AGENT: ("agent1",), STAFF: ("super", "admin"), ADMIN: ("admin",)}
USERS = ("agent1", "super", "admin")
MISSING = 999_999
CB = "/api/callbacks/{callback_id}"

ROLE_OF: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): P, ("GET", "/docs"): P, ("GET", "/docs/oauth2-redirect"): P,
    ("GET", "/static/{path}"): P, ("GET", "/healthz"): P,
    # the agent desk: agents only; the dispositions and the Next call check also serve staff
    ("POST", "/api/agent/session"): AGENT, ("DELETE", "/api/agent/session"): AGENT,
    ("POST", "/api/agent/ready"): AGENT, ("POST", "/api/agent/not-ready"): AGENT,
    ("GET", "/api/agent/state"): AGENT, ("GET", "/api/agent/events"): AGENT,
    ("GET", "/api/agent/dispositions"): ANY, ("POST", "/api/agent/next-call/check"): ANY,
    ("POST", "/api/agent/wrapup"): AGENT, ("POST", "/api/agent/preview/dial"): AGENT,
    ("POST", "/api/agent/preview/skip"): AGENT,
    ("GET", "/api/attempts"): ANY, ("GET", "/api/audit"): ADMIN,
    ("POST", "/api/auth/login"): P, ("POST", "/api/auth/logout"): ANY,
    ("GET", "/api/auth/me"): ANY,
    # tokens: your own (administrators: everyone's); agents get theirs from an administrator
    ("GET", "/api/tokens"): ANY, ("POST", "/api/tokens"): STAFF,
    ("DELETE", "/api/tokens/{token_id}"): ANY,
    # callbacks: agents act on their own, in their campaigns (checked in MEMBERSHIP)
    ("GET", "/api/callbacks"): ANY, ("POST", "/api/callbacks"): ANY, ("GET", CB): ANY,
    **{("POST", f"{CB}/{action}"): ANY for action in (
        "reschedule", "request", "propose", "accept", "cancel", "complete", "no-show", "miss",
        "reopen", "reassign", "link", "notes")},
    ("GET", f"{CB}/available"): ANY, ("GET", f"{CB}/notes"): ANY,
    ("PATCH", f"{CB}/notes/{{note_id}}"): ANY,
    ("GET", "/api/campaigns"): ANY, ("POST", "/api/campaigns"): ADMIN,
    ("GET", "/api/campaigns/{campaign_id}"): ANY, ("PATCH", "/api/campaigns/{campaign_id}"): ADMIN,
    ("DELETE", "/api/campaigns/{campaign_id}"): ADMIN,
    ("POST", "/api/campaigns/{campaign_id}/start"): STAFF,
    ("POST", "/api/campaigns/{campaign_id}/pause"): STAFF,
    ("POST", "/api/campaigns/{campaign_id}/stop"): STAFF,
    ("GET", "/api/campaigns/{campaign_id}/diagnose"): STAFF,
    ("GET", "/api/campaigns/{campaign_id}/caller-ids"): STAFF,
    ("POST", "/api/campaigns/{campaign_id}/caller-ids"): ADMIN,
    ("DELETE", "/api/campaigns/{campaign_id}/caller-ids"): ADMIN,
    ("GET", "/api/campaigns/{campaign_id}/lists"): ANY,
    ("GET", "/api/campaigns/{campaign_id}/rules"): STAFF,
    ("PUT", "/api/campaigns/{campaign_id}/rules"): ADMIN,
    # the dashboard: agents see their campaigns, without numbers
    ("GET", "/api/dashboard"): ANY, ("GET", "/api/dashboard/stream"): ANY,
    ("POST", "/api/agents/{user_id}/force-not-ready"): STAFF,
    ("POST", "/api/agents/{user_id}/force-logout"): STAFF, ("GET", "/api/agents"): STAFF,
    ("GET", "/api/dnc"): STAFF, ("POST", "/api/dnc"): STAFF, ("DELETE", "/api/dnc"): STAFF,
    ("POST", "/api/dnc/import"): STAFF,
    ("GET", "/api/hours/rules"): STAFF, ("GET", "/api/hours/check"): ANY,
    ("POST", "/api/uploads"): ADMIN, ("POST", "/api/import-jobs"): ADMIN,
    ("GET", "/api/import-jobs"): STAFF, ("GET", "/api/import-jobs/{job_id}"): STAFF,
    ("GET", "/api/import-jobs/{job_id}/events"): STAFF,
    ("GET", "/api/import-jobs/{job_id}/rejects"): STAFF,
    ("GET", "/api/lists/{list_id}"): ANY, ("PATCH", "/api/lists/{list_id}"): ADMIN,
    ("POST", "/api/lists/{list_id}/activate"): ADMIN,
    ("POST", "/api/lists/{list_id}/deactivate"): ADMIN,
    ("POST", "/api/lists/{list_id}/recycle"): ADMIN,
    ("GET", "/api/notifications"): STAFF, ("GET", "/api/notifications/{message_id}"): STAFF,
    ("POST", "/api/notifications/{message_id}/retry"): STAFF,
    ("GET", "/api/webhooks"): STAFF, ("POST", "/api/webhooks"): ADMIN,
    ("GET", "/api/webhooks/{endpoint_id}"): STAFF,
    ("DELETE", "/api/webhooks/{endpoint_id}"): ADMIN,
    ("POST", "/api/webhooks/{endpoint_id}/enable"): ADMIN,
    ("POST", "/api/webhooks/{endpoint_id}/disable"): ADMIN,
    ("GET", "/api/webhooks/{endpoint_id}/deliveries"): STAFF,
    ("POST", "/api/webhooks/deliveries/{delivery_id}/redeliver"): ADMIN,
    ("GET", "/api/records"): ANY, ("GET", "/api/records/{record_id}"): ANY,
    ("GET", "/api/calendar"): ANY,
    ("GET", "/api/reports/campaigns/{campaign_id}.csv"): STAFF,
    ("GET", "/api/reports/campaigns/{campaign_id}"): STAFF,
    ("GET", "/api/reports/agents"): STAFF, ("GET", "/api/reports/agents.csv"): STAFF,
    # users: supervisors read, administrators manage
    ("GET", "/api/users"): STAFF, ("POST", "/api/users"): ADMIN,
    ("GET", "/api/users/{user_id}"): STAFF, ("PATCH", "/api/users/{user_id}"): ADMIN,
    ("GET", "/api/users/{user_id}/shifts"): STAFF, ("PUT", "/api/users/{user_id}/shifts"): ADMIN,
    ("PUT", "/api/users/{user_id}/campaigns"): ADMIN,
    # a person's data (GDPR): administrators only
    ("POST", "/api/privacy/export"): ADMIN, ("POST", "/api/privacy/erase"): ADMIN,
    # pages
    ("GET", "/account"): ANY, ("GET", "/agent"): ANY, ("GET", "/agent/callbacks"): ANY,
    **{("GET", path): STAFF for path in (
        "/admin", "/admin/campaigns", "/admin/campaigns/{campaign_id}", "/admin/rules",
        "/admin/dnc", "/admin/lists", "/admin/users", "/admin/users/{user_id}",
        "/admin/dashboard", "/admin/callbacks", "/admin/callbacks/{callback_id}",
        "/admin/reports")},
    ("GET", "/c/{token}"): P, ("POST", "/c/{token}/pick"): P, ("POST", "/c/{token}/suggest"): P,
    ("POST", "/c/{token}/cancel"): P,
    ("GET", "/login"): P, ("POST", "/login"): P, ("POST", "/logout"): P, ("GET", "/"): P,
}

#: query parameters some routes need to answer at all (``@name``: a seeded id).
QUERY: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/api/hours/check"): {"number": "+12125550100"},
    ("GET", "/api/agent/dispositions"): {"campaign_id": "@campaign_id"},
    # a campaign that does not exist: the stream answers an error instead of streaming
    ("GET", "/api/dashboard/stream"): {"campaign_id": MISSING},
}
#: these end the caller's session: probed with a session of their own.
SESSION_ENDING = {("POST", "/api/auth/logout"), ("POST", "/logout")}


# --------------------------------------------------------------------------- the site


#: beta's customer: nothing agent1 reads may show them.
BETA_CUSTOMER = {"first": "Zelda", "last": "Quixote", "numbers": ("+12125550299",)}


def _seed(web: Web, campaign: str, agent: str, **customer: Any) -> dict[str, Any]:
    """A record (and its list), an attempt, a callback with a note, a finished import job,
    an outbox message, a webhook with a delivery in ``campaign``; their ids by parameter."""
    record_id = world.add_record(web, campaign, **(customer or {"first": campaign.title()}))
    callback_id = world.add_callback(web, record_id, owner=agent)
    attempt_id = world.add_attempt(web, record_id, agent=agent)
    campaign_id = web.ids[campaign]
    with db.unit_of_work(web.factory) as session:
        record = session.get(models.Record, record_id)
        note = callbacks_service.add_note(session, callback_id, body="call after 5",
                                          actor=f"agent:{agent}", now=NOW)
        job = models.ImportJob(campaign_id=campaign_id, list_name="l", filename="l.csv",
                               path="/nonexistent/l.csv", status="done", created_at=NOW,
                               finished_at=NOW, list_id=record.list_id)
        session.add(job)
        message = outbox.enqueue(session, channel=Channel.EMAIL, recipient="a@example.com",
                                 event="callback.reminder", body="Hello", now=NOW,
                                 campaign_id=campaign_id, callback_id=callback_id)
        endpoint = webhook_store.add_endpoint(session, campaign_id=campaign_id,
                                              url="https://hooks.example.com/x",
                                              secret="s" * 32, now=NOW)
        [delivery] = webhook_store.enqueue_event(session, campaign_id=campaign_id,
                                                 event="callback.cancelled", data={}, now=NOW)
        _, token = web_auth.create_token(session, web.ids[agent], "t", now=NOW)
        session.flush()
        return {"campaign_id": campaign_id, "record_id": record_id, "list_id": record.list_id,
                "callback_id": callback_id, "note_id": note.id, "attempt_id": attempt_id,
                "job_id": job.id, "message_id": message.id, "endpoint_id": endpoint.id,
                "delivery_id": delivery.id, "user_id": web.ids[agent], "token_id": token.id,
                "token": world.link_of(web, callback_id), "path": "app.css"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """One app over one SQLite database for the module, with both campaigns' objects."""
    tmp_path: Path = tmp_path_factory.mktemp("route-roles")
    url = f"sqlite:///{tmp_path / 'dialer.db'}"
    engine = db.make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    web = world.make_web(url, tmp_path)
    try:
        alpha = _seed(web, "alpha", "agent1")
        beta = _seed(web, "beta", "agent2", **BETA_CUSTOMER)
        with db.unit_of_work(web.factory) as session:
            _, admin_token = web_auth.create_token(session, web.ids["admin"], "t", now=NOW)
            admin_token_id = admin_token.id
        clients = {name: web.client(name) for name in USERS}
        yield SimpleNamespace(web=web, alpha=alpha, beta=beta, clients=clients,
                              anonymous=web.anonymous(), admin_token_id=admin_token_id,
                              missing={k: ("x.y.z" if k == "token" else MISSING) for k in alpha})
    finally:
        web.close()


def resolve(value: Any, ids: dict[str, Any]) -> Any:
    """``value`` with every ``"@name"`` replaced by ``ids[name]``."""
    if isinstance(value, str) and value.startswith("@"):
        return ids[value[1:]]
    if isinstance(value, dict):
        return {k: resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, ids) for v in value]
    return value


def fill(path: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


def send(client: TestClient, method: str, path: str, ids: dict[str, Any], *,
         params: dict[str, Any] | None = None, body: Any = ..., **kwargs: Any) -> Any:
    """``method path`` with the ids filled in; unsafe methods send ``body`` (default ``{}``)."""
    query = resolve(QUERY.get((method, path), {}) if params is None else params, ids)
    if body is ...:
        body = None if method == "GET" else {}
    with client.stream(method, fill(path, ids), params=query, json=resolve(body, ids),
                       follow_redirects=False, **kwargs) as response:
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            response.read()  # an event stream is never read to its end: it has none
    return response


def error_of(response: Any, status: int, error_id: str | None = None) -> dict[str, Any]:
    """The one error shape (F3) with ``status`` (and ``error_id``)."""
    assert response.status_code == status, (status, response.status_code, response.text[:300])
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"id", "message", "fields"}, body
    assert error_id is None or body["error"]["id"] == error_id, body
    return body["error"]


def is_api(path: str) -> bool:
    return path.startswith("/api/")


# --------------------------------------------------------------------------- the table


def app_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves (HEAD left out; a mount as GET)."""
    try:
        from fastapi.routing import iter_route_contexts
        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # older FastAPI flattens included routers into app.routes
        routes = list(app.routes)
    found = set()
    for route in routes:
        if isinstance(getattr(route, "original_route", route), Mount):
            found.add(("GET", route.path + "/{path}"))
            continue
        found.update((method, route.path) for method in (route.methods or set()) - {"HEAD"})
    return found


@pytest.mark.req("F18")
def test_the_table_classifies_every_route_of_the_app_and_nothing_else(site) -> None:
    served = app_routes(site.web.app)
    unclassified, unknown = sorted(served - set(ROLE_OF)), sorted(set(ROLE_OF) - served)
    assert unclassified == [], "routes the table does not classify"
    assert unknown == [], "routes the table names that the app does not serve"


@pytest.mark.req("F18")
def test_agents_reach_no_administrative_route() -> None:
    """The console's data (users, audit, DNC, outbox, webhooks, reports, imports, the admin
    pages) is staff's; managing users, memberships, tokens of others and the audit trail is
    the administrators'."""
    staff_areas = ("/api/users", "/api/agents", "/api/audit", "/api/dnc", "/api/notifications",
                   "/api/webhooks", "/api/reports", "/api/import-jobs", "/api/uploads",
                   "/api/hours/rules", "/admin")
    for (method, path), role in ROLE_OF.items():
        if path.startswith(staff_areas):
            assert role in (STAFF, ADMIN), (method, path, role)
        if path.startswith(("/api/users", "/api/audit", "/api/privacy")) and method != "GET":
            assert role == ADMIN, (method, path, role)
    assert ROLE_OF[("GET", "/api/audit")] == ADMIN


# --------------------------------------------------------------------------- roles


def _anonymous(site: Any, method: str, path: str, role: str) -> None:
    """No login: public routes answer (customer links: a bad one here, see below), the API
    says 401, pages send the browser to the login page and back."""
    response = send(site.anonymous, method, path, site.alpha if method == "GET" else site.missing)
    if (method, path) == ("POST", "/login"):  # no form token: the login page again
        assert response.status_code == 403 and 'name="password"' in response.text
    elif role == P:
        assert response.status_code not in (401, 403), response.text[:300]
        assert response.status_code < 500, response.text[:300]
    elif is_api(path):
        error_of(response, 401, "not-authenticated")
    else:
        target = fill(path, site.alpha)
        assert response.status_code == 303, response.text[:300]
        assert response.headers["location"] == f"/login?next={quote(target)}"


def _passes(site: Any, name: str, method: str, path: str) -> None:
    """``name`` gets past the role check: reads with real ids, changes with missing ones."""
    client = site.clients[name]
    if (method, path) in SESSION_ENDING:
        client = site.web.client(name)
    ids = site.alpha if method == "GET" else site.missing
    response = send(client, method, path, ids)
    status = response.status_code
    if status in (401, 403) or status >= 500:
        error = error_of(response, status)
        # a 503 is the desk answering that no engine runs in this server
        assert status == 403 and error["id"] != "forbidden" or status == 503 and error["id"] \
            == "engine-not-running", (name, error)


@pytest.mark.req("F18")
@pytest.mark.req("F2")
@pytest.mark.parametrize("route", sorted(ROLE_OF), ids=lambda r: f"{r[0]} {r[1]}")
def test_each_route_admits_its_roles_and_refuses_the_others(site, route) -> None:
    method, path = route
    role = ROLE_OF[route]
    _anonymous(site, method, path, role)
    if role == P:
        return
    for name in USERS:
        if name in ALLOWED[role]:
            _passes(site, name, method, path)
            continue
        response = send(site.clients[name], method, path, site.alpha)
        if path.startswith("/api/"):
            error_of(response, 403, "forbidden")
        else:  # a page: an HTML page that says so, with the user's own navigation
            assert response.status_code == 403, response.text[:300]
            assert "text/html" in response.headers["content-type"]
            assert 'data-testid="forbidden"' in response.text and "needs the role" in response.text


# --------------------------------------------------------------------------- membership

#: every way into one campaign's data; the names an API route may take them by.
ID_PARAMS = {"campaign_id", "campaign", "campaign_ids", "record_id", "list_id", "callback_id",
             "attempt_id", "job_id"}
WINDOW = {"date": "2026-11-23", "from": "10:00", "to": "11:00"}
C = "/api/campaigns/{campaign_id}"
REFUSED = "refused"
#: (method, path, query, body, expected): ``agent1`` asks for ``beta``'s objects; "refused" is
#: 403/404 with the error shape, (key, field) a 200 whose ``key`` list holds nothing of beta.
MEMBERSHIP: list[tuple[str, str, dict[str, Any], Any, Any]] = [
    ("POST", "/api/agent/session", {}, {"campaign_ids": ["@campaign_id"]}, REFUSED),
    ("GET", "/api/agent/dispositions", {"campaign_id": "@campaign_id"}, None, REFUSED),
    ("POST", "/api/agent/next-call/check", {}, {"record_id": "@record_id", **WINDOW}, REFUSED),
    ("POST", "/api/agent/wrapup", {}, {"attempt_id": "@attempt_id", "code": "callback",
                                       "callback": WINDOW}, REFUSED),
    ("POST", "/api/agent/preview/dial", {}, {"record_id": "@record_id"}, REFUSED),
    ("POST", "/api/agent/preview/skip", {}, {"record_id": "@record_id"}, REFUSED),
    ("GET", "/api/attempts", {"campaign_id": "@campaign_id"}, None, REFUSED),
    ("GET", "/api/attempts", {"record_id": "@record_id"}, None, ("attempts", "campaign_id")),
    ("GET", "/api/callbacks", {"campaign_id": "@campaign_id"}, None, REFUSED),
    ("POST", "/api/callbacks", {}, {"record_id": "@record_id", **WINDOW}, REFUSED),
    ("GET", CB, {}, None, REFUSED), ("GET", f"{CB}/available", {}, None, REFUSED),
    ("GET", f"{CB}/notes", {}, None, REFUSED), ("POST", f"{CB}/link", {}, None, REFUSED),
    *[("POST", f"{CB}/{action}", {}, body, REFUSED) for action, body in (
        ("reschedule", WINDOW), ("request", {}), ("propose", {"slots": [WINDOW]}),
        ("accept", {}), ("cancel", {"reason": "moved"}), ("complete", {"outcome": "sold"}),
        ("no-show", {}), ("miss", {}), ("reopen", {}), ("reassign", {"to": "agent2"}),
        ("notes", {"body": "mine now"}))],
    ("PATCH", f"{CB}/notes/{{note_id}}", {}, {"body": "mine now"}, REFUSED),
    ("GET", C, {}, None, REFUSED), ("PATCH", C, {}, {"mode": "preview"}, REFUSED),
    ("DELETE", C, {}, None, REFUSED),
    *[("POST", f"{C}/{action}", {}, None, REFUSED) for action in ("start", "pause", "stop")],
    ("GET", f"{C}/diagnose", {}, None, REFUSED), ("GET", f"{C}/caller-ids", {}, None, REFUSED),
    ("POST", f"{C}/caller-ids", {}, {"numbers": ["+12125550199"]}, REFUSED),
    ("DELETE", f"{C}/caller-ids", {"number": "+12125550199"}, None, REFUSED),
    ("GET", f"{C}/lists", {}, None, REFUSED), ("GET", f"{C}/rules", {}, None, REFUSED),
    ("PUT", f"{C}/rules", {}, {"text": ""}, REFUSED),
    ("GET", "/api/dashboard", {"campaign_id": "@campaign_id"}, None, REFUSED),
    ("GET", "/api/dashboard/stream", {"campaign_id": "@campaign_id"}, None, REFUSED),
    ("GET", "/api/dnc", {"campaign": "@campaign_id"}, None, REFUSED),
    ("POST", "/api/dnc", {}, {"numbers": ["+12125550199"], "campaign": "@campaign_id"}, REFUSED),
    ("DELETE", "/api/dnc", {"number": "+12125550199", "campaign": "@campaign_id"}, None,
     REFUSED),
    ("GET", "/api/hours/check", {"number": "+12125550100", "campaign": "@campaign_id"}, None,
     REFUSED),
    ("POST", "/api/import-jobs", {}, {"upload": "x", "campaign": "@campaign_id"}, REFUSED),
    ("GET", "/api/import-jobs", {"campaign_id": "@campaign_id"}, None, REFUSED),
    *[("GET", f"/api/import-jobs/{{job_id}}{tail}", {}, None, REFUSED)
      for tail in ("", "/events", "/rejects")],
    ("GET", "/api/lists/{list_id}", {}, None, REFUSED),
    ("PATCH", "/api/lists/{list_id}", {}, {"priority": 1}, REFUSED),
    *[("POST", f"/api/lists/{{list_id}}/{action}", {}, body, REFUSED) for action, body in (
        ("activate", None), ("deactivate", None), ("recycle", {"outcomes": ["busy"]}))],
    ("GET", "/api/notifications", {"campaign_id": "@campaign_id", "callback_id": "@callback_id"},
     None, REFUSED),
    ("GET", "/api/webhooks", {"campaign_id": "@campaign_id"}, None, REFUSED),
    ("POST", "/api/webhooks", {}, {"campaign_id": "@campaign_id",
                                   "url": "https://hooks.example.com/y"}, REFUSED),
    ("POST", "/api/privacy/export", {}, {"record_id": "@record_id"}, REFUSED),
    ("POST", "/api/privacy/erase", {}, {"record_id": "@record_id", "confirm": True}, REFUSED),
    ("GET", "/api/records", {"campaign_id": "@campaign_id"}, None, REFUSED),
    ("GET", "/api/records", {"list_id": "@list_id"}, None, ("records", "campaign_id")),
    ("GET", "/api/records/{record_id}", {}, None, REFUSED),
    ("GET", "/api/calendar", {"campaign_id": "@campaign_id"}, None, REFUSED),
    ("GET", "/api/reports/campaigns/{campaign_id}", {}, None, REFUSED),
    ("GET", "/api/reports/campaigns/{campaign_id}.csv", {}, None, REFUSED),
    ("GET", "/api/reports/agents", {"campaign_id": "@campaign_id"}, None, REFUSED),
    ("GET", "/api/reports/agents.csv", {"campaign_id": "@campaign_id"}, None, REFUSED),
]


def _id_params(openapi: dict[str, Any], method: str, path: str) -> set[str]:
    """The campaign-reaching names a route takes in its path, query or JSON body."""
    operation = openapi["paths"][path][method.lower()]
    names = {p["name"] for p in operation.get("parameters", [])}
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = body.get("schema", {}).get("$ref", "")
    if ref:
        names |= set(openapi["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"])
    return names & ID_PARAMS


@pytest.mark.req("F18")
@pytest.mark.req("F2")
def test_every_route_into_a_campaigns_data_has_a_membership_probe(site) -> None:
    openapi = site.web.app.openapi()
    covered: dict[tuple[str, str], set[str]] = {}
    for method, path, query, body, _ in MEMBERSHIP:
        names = set(re.findall(r"\{(\w+)\}", path)) | set(query) | set(body or {})
        covered.setdefault((method, path), set()).update(names)
    missing = []
    for method, path in sorted(ROLE_OF):
        if not is_api(path):
            continue
        assert path in openapi["paths"], f"{path} is not in the OpenAPI schema"
        wanted = _id_params(openapi, method, path)
        if wanted - covered.get((method, path), set()):
            missing.append((method, path, sorted(wanted - covered.get((method, path), set()))))
    assert missing == [], "routes taking a campaign's ids without a MEMBERSHIP probe"
    assert set(covered) <= set(ROLE_OF), sorted(set(covered) - set(ROLE_OF))


@pytest.mark.req("F18")
@pytest.mark.req("F2")
@pytest.mark.parametrize("probe", MEMBERSHIP,
                         ids=lambda p: f"{p[0]} {p[1]} {','.join(p[2])}".strip())
def test_an_agent_never_reaches_another_campaigns_objects(site, probe) -> None:
    method, path, query, body, expected = probe
    response = send(site.clients["agent1"], method, path, site.beta, params=query, body=body)
    if expected == REFUSED:
        assert response.status_code in (403, 404), response.text[:300]
        error_of(response, response.status_code)
        return
    key, field = expected
    assert response.status_code == 200, response.text[:300]
    assert [row for row in response.json()[key]
            if row[field] == site.beta["campaign_id"]] == []
    seen = send(site.clients["admin"], method, path, site.beta, params=query, body=body).json()
    assert [row for row in seen[key] if row[field] == site.beta["campaign_id"]]  # not vacuous


@pytest.mark.req("F18")
@pytest.mark.req("F2")
def test_nothing_an_agent_reads_shows_another_campaigns_customer(site) -> None:
    """Every page and API read open to agents, as agent1: beta's customer is never in it."""
    number = BETA_CUSTOMER["numbers"][0]
    secrets = (BETA_CUSTOMER["last"], number, number[2:], f"{number[-7:-4]}-{number[-4:]}")
    read = 0
    for (method, path), role in sorted(ROLE_OF.items()):
        if method != "GET" or role == P or "agent1" not in ALLOWED[role]:
            continue
        response = send(site.clients["agent1"], method, path, site.alpha)
        if response.is_stream_consumed:
            read += 1
            assert not [s for s in secrets if s in response.text], (path, response.text[:300])
    assert read >= 15
    everything = site.clients["admin"].get("/api/records").text + site.clients["admin"].get(
        "/api/callbacks").text
    assert all(s in everything for s in secrets[:3])  # the probe can see them


@pytest.mark.req("F18")
@pytest.mark.req("F2")
def test_tokens_are_their_owners_and_only_administrators_make_others(site) -> None:
    superv, agent = site.clients["super"], site.clients["agent1"]
    error_of(superv.post("/api/tokens", json={"name": "x", "user": "agent1"}), 403, "forbidden")
    error_of(superv.delete(f"/api/tokens/{site.admin_token_id}"), 404, "no-such-token")
    error_of(agent.delete(f"/api/tokens/{site.beta['token_id']}"), 404, "no-such-token")
    assert {t["user_id"] for t in agent.get("/api/tokens").json()["tokens"]} \
        == {site.web.ids["agent1"]}
    assert superv.get("/api/tokens").json()["tokens"] == []
    everyone = site.clients["admin"].get("/api/tokens").json()["tokens"]
    assert {t["id"] for t in everyone} >= {site.admin_token_id, site.beta["token_id"]}


# --------------------------------------------------------------------------- CSRF and public

UNSAFE = sorted(route for route, role in ROLE_OF.items()
                if route[0] not in ("GET", "HEAD", "OPTIONS") and role != P) + [("POST", "/logout")]


@pytest.mark.req("F18")
@pytest.mark.req("F2")
@pytest.mark.parametrize("route", UNSAFE, ids=lambda r: f"{r[0]} {r[1]}")
def test_unsafe_cookie_session_requests_need_the_csrf_token(site, route) -> None:
    method, path = route
    name = ALLOWED[ROLE_OF[route]][0] if ROLE_OF[route] != P else "agent1"
    client = site.clients[name]
    for sent in ("", "not-the-token"):
        response = send(client, method, path, site.missing, headers={"X-CSRF-Token": sent})
        assert error_of(response, 403, "csrf-failed")["fields"] == {"csrf_token":
                                                                   "missing or wrong"}
    assert client.get("/api/auth/me").status_code == 200  # still logged in


@pytest.mark.req("F18")
def test_customer_pages_answer_without_login_and_explain_a_bad_link(site) -> None:
    anonymous, token = site.anonymous, site.alpha["token"]
    page = anonymous.get(f"/c/{token}")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for method, tail in (("GET", ""), ("POST", "/pick"), ("POST", "/suggest"),
                         ("POST", "/cancel")):
        bad = anonymous.request(method, f"/c/{token}x{tail}")
        assert bad.status_code == 404, bad.text[:300]
        assert "This link is not valid" in bad.text and "text/html" in bad.headers["content-type"]
        if method == "POST":  # a link's forms need the link's form token, not a session
            forged = anonymous.post(f"/c/{token}{tail}", data={"reason": "x"})
            assert forged.status_code == 403 and "This form has expired" in forged.text
    for path in ("/healthz", "/openapi.json", "/docs", "/login", "/static/app.css"):
        assert anonymous.get(path).status_code == 200, path
    assert anonymous.get("/", follow_redirects=False).headers["location"] == "/login"


@pytest.mark.req("F18")
def test_unknown_api_paths_and_methods_answer_the_error_shape(site) -> None:
    admin = site.clients["admin"]
    error_of(admin.get("/api/no-such-thing"), 404, "not-found")
    error_of(admin.delete("/api/records"), 405, "method-not-allowed")
    error_of(site.anonymous.get("/api/records/not-a-number"), 401, "not-authenticated")
    assert error_of(admin.get("/api/records/not-a-number"), 422, "invalid-input")["fields"]
