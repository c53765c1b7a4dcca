"""Log in, sessions with CSRF, API tokens, the login rate limit, roles (F2), error shape (F3)."""

from __future__ import annotations

import pytest

from campaigns.store import audit
from tests.api.conftest import login_token, password_of, submit_login


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"id", "message", "fields"}
    return body["error"]


@pytest.mark.req("F2")
def test_login_sets_an_httponly_session_cookie_and_returns_the_csrf_token(web) -> None:
    client = web.anonymous()
    response = client.post("/api/auth/login",
                           json={"username": "admin", "password": password_of("admin")})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "dialer_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = client.get("/api/auth/me").json()
    assert me["name"] == "admin" and me["role"] == "administrator"
    assert me["csrf_token"] == response.json()["csrf_token"]


@pytest.mark.req("F2")
def test_a_wrong_password_is_refused_and_audited(web) -> None:
    response = web.anonymous().post("/api/auth/login",
                                    json={"username": "admin", "password": "nope"})
    assert response.status_code == 401
    assert _error(response)["id"] == "login-failed"
    with web.factory() as session:
        actions = [e.action for e in audit.events(session, entity="user")]
    assert "login_failed" in actions


@pytest.mark.req("F2")
def test_passwords_are_stored_as_argon2_hashes(web) -> None:
    from campaigns.store import users

    with web.factory() as session:
        stored = users.get_by_name(session, "admin").password_hash
    assert stored.startswith("$argon2id$") and password_of("admin") not in stored


@pytest.mark.req("F2")
def test_unsafe_requests_with_the_cookie_need_the_csrf_token(web) -> None:
    client = web.client("admin")
    token = client.headers.pop("X-CSRF-Token")
    refused = client.post("/api/tokens", json={"name": "x"})
    assert refused.status_code == 403 and _error(refused)["id"] == "csrf-failed"
    wrong = client.post("/api/tokens", json={"name": "x"}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    accepted = client.post("/api/tokens", json={"name": "x"}, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201


@pytest.mark.req("F2")
def test_api_tokens_authenticate_without_csrf_and_can_be_revoked(web) -> None:
    admin = web.client("admin")
    created = admin.post("/api/tokens", json={"name": "crm"}).json()
    assert created["token"].startswith("dlr_")
    integration = web.anonymous()
    integration.headers["Authorization"] = f"Bearer {created['token']}"
    assert integration.get("/api/auth/me").json()["via"] == "token"
    assert integration.post("/api/tokens", json={"name": "other"}).status_code == 201
    assert admin.delete(f"/api/tokens/{created['id']}").status_code == 200
    assert integration.get("/api/auth/me").status_code == 401


@pytest.mark.req("F2")
def test_logins_are_rate_limited_per_user_and_address(web_sqlite) -> None:
    client = web_sqlite.anonymous()
    limit = web_sqlite.settings.web.login_attempts
    for _ in range(limit):
        assert client.post("/api/auth/login",
                           json={"username": "agent1", "password": "bad"}).status_code == 401
    blocked = client.post("/api/auth/login",
                          json={"username": "agent1", "password": password_of("agent1")})
    assert blocked.status_code == 429 and _error(blocked)["id"] == "too-many-logins"
    other = client.post("/api/auth/login",
                        json={"username": "agent2", "password": password_of("agent2")})
    assert other.status_code == 200


@pytest.mark.req("F2")
def test_logout_ends_the_session(web_sqlite) -> None:
    client = web_sqlite.client("agent1")
    assert client.post("/api/auth/logout").status_code == 200
    assert client.get("/api/auth/me").status_code == 401


@pytest.mark.req("F18")
def test_agents_cannot_make_tokens(web_sqlite) -> None:
    response = web_sqlite.client("agent1").post("/api/tokens", json={"name": "x"})
    assert response.status_code == 403 and _error(response)["id"] == "forbidden"


@pytest.mark.req("F3")
def test_validation_errors_name_the_field(web_sqlite) -> None:
    response = web_sqlite.anonymous().post("/api/auth/login", json={"username": ""})
    assert response.status_code == 422
    error = _error(response)
    assert error["id"] == "invalid-input"
    assert set(error["fields"]) == {"username", "password"}


@pytest.mark.req("F3")
def test_unknown_routes_and_anonymous_requests_use_the_error_shape(web_sqlite) -> None:
    client = web_sqlite.anonymous()
    assert _error(client.get("/api/nothing-here"))["id"] == "not-found"
    anonymous = client.get("/api/auth/me")
    assert anonymous.status_code == 401 and _error(anonymous)["id"] == "not-authenticated"


@pytest.mark.req("F1")
def test_openapi_docs_and_health_are_served(web_sqlite) -> None:
    client = web_sqlite.anonymous()
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "engine": "absent"}
    spec = client.get("/openapi.json").json()
    assert "/api/auth/login" in spec["paths"]
    assert "swagger" in client.get("/docs").text.lower()


@pytest.mark.req("F2")
def test_the_login_page_logs_in_and_redirects_each_role(web_sqlite) -> None:
    client = web_sqlite.anonymous()
    assert client.get("/account", follow_redirects=False).headers["location"] \
        .startswith("/login?next=")
    page = client.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    bad = submit_login(client, "agent1", "x")
    assert bad.status_code == 401 and "wrong user name or password" in bad.text
    response = submit_login(client, "agent1", password_of("agent1"))
    assert response.status_code == 303 and response.headers["location"] == "/agent"


@pytest.mark.req("F2")
def test_the_login_form_only_works_with_the_token_its_page_set(web_sqlite) -> None:
    """Login CSRF: another site can post the form, but not with this browser's token."""
    data = {"username": "agent1", "password": password_of("agent1"), "next": ""}
    client = web_sqlite.anonymous()
    forged = client.post("/login", data=data, follow_redirects=False)  # no page, no cookie
    assert forged.status_code == 403 and "expired" in forged.text
    assert "dialer_session" not in forged.cookies and client.get("/account").url.path == "/login"
    token = login_token(client)
    guessed = client.post("/login", data={**data, "login_token": token[::-1]},
                          follow_redirects=False)
    assert guessed.status_code == 403
    other = web_sqlite.anonymous()  # a token without its cookie (another browser's page)
    assert other.post("/login", data={**data, "login_token": login_token(client)},
                      follow_redirects=False).status_code == 403
    ok = client.post("/login", data={**data, "login_token": login_token(client)},
                     follow_redirects=False)
    assert ok.status_code == 303 and client.get("/account").status_code == 200
    assert "samesite=strict" in login_cookie_header(web_sqlite.anonymous()).lower()


def login_cookie_header(client) -> str:
    page = client.get("/login")
    return next(v for k, v in page.headers.multi_items()
                if k == "set-cookie" and v.startswith("dialer_login="))


@pytest.mark.req("F2")
def test_the_account_page_shows_the_user_and_its_campaigns(web_sqlite) -> None:
    page = web_sqlite.client("agent1").get("/account")
    assert page.status_code == 200
    assert "agent1" in page.text and "alpha" in page.text and "beta" not in page.text
    assert 'name="csrf-token"' in page.text
