"""Real servers on 127.0.0.1 for the notification tests: SMTP (aiosmtpd) and an HTTP recorder.

The SMTP handler answers from a script (``refusals``: how many DATA commands
to answer 451 before accepting) and keeps every accepted message, parsed.
The HTTP recorder keeps every request and answers from a script of statuses
(then 200).  Both are stopped by their fixtures.
"""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class RecordingHandler:
    """aiosmtpd handler: refuse ``refusals`` times with 451, then accept and keep."""

    def __init__(self) -> None:
        self.refusals = 0
        #: recipients answered 550 (a permanent refusal).
        self.unknown_recipients: set[str] = set()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.unknown_recipients:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals > 0:
            self.refusals -= 1
            return "451 4.3.0 try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1; with ``credentials`` it offers AUTH over plain TCP and records logins.

    (AUTH is offered, not required: aiosmtpd warns about requiring it without TLS.)
    """

    def __init__(self, port: int, credentials: tuple[str, str] | None = None) -> None:
        self.port = port
        self.credentials = credentials
        self.handler = RecordingHandler()
        self.logins: list[tuple[str, bool]] = []
        self._controller: Controller | None = None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        given = (auth_data.login.decode(), auth_data.password.decode())
        is_valid = isinstance(auth_data, LoginPassword) and given == self.credentials
        self.logins.append((given[0], is_valid))
        # handled=False: aiosmtpd itself answers a failure with 535.
        return AuthResult(success=is_valid, handled=False)

    def start(self) -> SmtpServer:
        auth: dict[str, Any] = {}
        if self.credentials:
            auth = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                      ready_timeout=10, **auth)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        from urllib.parse import parse_qs

        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8")).items()}


@dataclass
class HttpRecorder:
    """Records requests; answers with the scripted statuses, then ``200``."""

    requests: list[Request] = field(default_factory=list)
    statuses: deque[int] = field(default_factory=deque)
    reply: dict[str, Any] = field(default_factory=lambda: {"sid": "SM0001"})
    _server: http.server.ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HttpRecorder:
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                recorder.requests.append(Request("POST", self.path, dict(self.headers.items()),
                                                 body))
                status = recorder.statuses.popleft() if recorder.statuses else 200
                payload = json.dumps(recorder.reply if status < 400 else
                                     {"message": f"scripted {status}"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=10)
            self._server = None
