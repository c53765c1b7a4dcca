"""No Node at build or run time: server-rendered pages, vendored scripts with licences (F16)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "dialer" / "web"


@pytest.mark.req("F16")
def test_there_is_no_node_toolchain_in_the_project() -> None:
    tracked = [p for p in ROOT.rglob("*") if ".venv" not in p.parts and ".git" not in p.parts]
    names = {p.name for p in tracked}
    assert not names & {"package.json", "package-lock.json", "yarn.lock", "node_modules",
                        "pnpm-lock.yaml", "webpack.config.js", "vite.config.js"}


@pytest.mark.req("F16")
def test_every_vendored_library_ships_with_its_licence() -> None:
    vendor = WEB / "static" / "vendor"
    readme = (vendor / "README.md").read_text()
    for script in vendor.glob("*.js"):
        assert script.name in readme
    for row in re.findall(r"^\| `([^`]+)` \|.*\(`([^`]+)`\) \|$", readme, re.MULTILINE):
        assert (vendor / row[0]).is_file() and (vendor / row[1]).is_file()
    assert (vendor / "LICENSE-htmx.txt").read_text().strip()
    assert "MIT" in (vendor / "LICENSE-chartjs.md").read_text()


@pytest.mark.req("F16")
def test_templates_reference_no_remote_script_or_stylesheet() -> None:
    remote = re.compile(r"""<(script|link)[^>]+(src|href)=["'](https?:)?//""", re.IGNORECASE)
    for template in (WEB / "templates").rglob("*.html"):
        assert not remote.search(template.read_text()), template
