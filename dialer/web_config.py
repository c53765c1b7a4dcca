"""``[web]``: the HTTP server of the API, the consoles and the customer pages."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class WebSettings(BaseModel):
    """``[web]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: address the server listens on (keep 127.0.0.1 behind a reverse proxy).
    host: str = "127.0.0.1"
    #: port the server listens on.
    port: int = Field(default=8000, ge=0, le=65535)
    #: serve the web application from ``dialer run`` too.
    serve_with_engine: bool = True
    #: a browser session ends this long after its last request.
    session_idle_s: int = Field(default=8 * 3600, ge=60)
    #: mark cookies Secure (set when served over HTTPS).
    cookie_secure: bool = False
    #: failed logins allowed per user name and client address within login_window_s.
    login_attempts: int = Field(default=5, ge=1, le=1000)
    #: the window of the login rate limit.
    login_window_s: int = Field(default=300, ge=1)
    #: where uploaded lists are streamed to (relative to the working directory).
    upload_dir: str = "uploads"
    #: the largest list upload accepted, in megabytes.
    max_upload_mb: int = Field(default=500, ge=1, le=10_000)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value
