"""Run the ``dialer`` command in-process and capture what it prints."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from typing import Any

from dialer import cli as dialer_cli


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class CliRunner:
    """Calls :func:`dialer.cli.run` with ``--db`` pointing at a test database."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def __call__(self, *args: str, db: bool = True) -> Result:
        argv = [str(a) for a in args]
        if db and "--db" not in argv:
            argv += ["--db", self.db_url]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = dialer_cli.run(argv)
        return Result(code, out.getvalue(), err.getvalue())
