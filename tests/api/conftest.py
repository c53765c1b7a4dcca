"""Fixtures of the API and page tests: an app over a real database, users of every role,
and logged-in clients (cookie session with its CSRF token, or an API token).

``web`` builds the app on ``db_url`` (SQLite and PostgreSQL); ``web_sqlite`` on SQLite only,
for tests whose subject is not storage.  ``web.client("admin")`` is a logged-in
``TestClient`` sending the session's CSRF token on every request; ``web.anonymous()`` is not
logged in.  Users: ``admin`` (administrator), ``super`` (supervisor), ``agent1`` and ``agent2``
(agents), all with password ``pw-<name>-12345``; campaigns ``alpha`` (agent1 is a member) and
``beta`` (agent2 is a member).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from campaigns import db, models, passwords
from campaigns.enums import Role
from campaigns.store import campaigns as campaign_store
from campaigns.store import users as user_store
from dialer import settings as settings_mod
from dialer.api import context, server

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)
ROLES = {"admin": Role.ADMINISTRATOR, "super": Role.SUPERVISOR, "agent1": Role.AGENT,
         "agent2": Role.AGENT}


def password_of(name: str) -> str:
    return f"pw-{name}-12345"


def login_token(client: TestClient, next: str = "") -> str:
    """The token of a fresh login form (its cookie is now in ``client``)."""
    page = client.get("/login", params={"next": next} if next else None)
    assert page.status_code == 200, page.text
    found = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def submit_login(client: TestClient, username: str, password: str, next: str = "") -> Any:
    """Log in through the login page's form, as a browser does."""
    return client.post("/login", data={"username": username, "password": password, "next": next,
                                       "login_token": login_token(client, next)},
                       follow_redirects=False)


class Web:
    """An app over one database, with helpers to log in as each user."""

    def __init__(self, url: str, tmp_path: Path, *, now: dt.datetime | None = None,
                 engine: Any = None, settings_overrides: dict[str, Any] | None = None) -> None:
        overrides = {"database": {"url": url},
                     "web": {"upload_dir": str(tmp_path / "uploads")}}
        for key, value in (settings_overrides or {}).items():
            overrides.setdefault(key, {}).update(value)
        self.settings = settings_mod.load_settings(None, overrides=overrides, environ={})
        self.db_engine = db.make_engine(url)
        self.factory = db.make_sessionmaker(self.db_engine)
        self.clock = [now or NOW]
        self.ctx = context.WebContext(self.settings, self.factory, now=lambda: self.clock[0],
                                      engine=engine)
        self.app = server.create_app(self.ctx)
        self.ids: dict[str, int] = {}
        self._clients: list[TestClient] = []
        self._seed()

    def _seed(self) -> None:
        with db.unit_of_work(self.factory) as session:
            for name, role in ROLES.items():
                user = user_store.create(session, name, role=role, now=NOW,
                                         password_hash=passwords.hash_password(password_of(name)))
                self.ids[name] = user.id
            for campaign_name, member in (("alpha", "agent1"), ("beta", "agent2")):
                campaign = campaign_store.create(session, campaign_name, now=NOW)
                self.ids[campaign_name] = campaign.id
                session.add(models.CampaignMember(campaign_id=campaign.id,
                                                  user_id=self.ids[member]))

    def anonymous(self) -> TestClient:
        client = TestClient(self.app, base_url="http://127.0.0.1")
        self._clients.append(client)
        return client

    def client(self, name: str) -> TestClient:
        """A client logged in as ``name`` whose requests carry the CSRF token."""
        client = self.anonymous()
        response = client.post("/api/auth/login",
                               json={"username": name, "password": password_of(name)})
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client

    def token_client(self, name: str) -> TestClient:
        """A client using an API token of ``name`` (no cookie, no CSRF token)."""
        token = self.client("admin").post("/api/tokens", json={"name": "t", "user": name})
        assert token.status_code == 201, token.text
        client = self.anonymous()
        client.headers["Authorization"] = f"Bearer {token.json()['token']}"
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self.db_engine.dispose()


@pytest.fixture
def web(db_url: str, tmp_path: Path) -> Iterator[Web]:
    app = Web(db_url, tmp_path)
    yield app
    app.close()


@pytest.fixture
def web_sqlite(sqlite_url: str, tmp_path: Path) -> Iterator[Web]:
    app = Web(sqlite_url, tmp_path)
    yield app
    app.close()
