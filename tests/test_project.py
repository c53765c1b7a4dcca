"""The project's shape: layout, the README's two commands, CI, test-suite budget rules."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests import needs

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.req("A1")
def test_layout_and_distribution() -> None:
    for name in ("pyproject.toml", "dialer", "campaigns", "telephony", "tests", "config", "README.md"):
        assert (ROOT / name).exists(), name
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "campaign-dialer"
    assert project["scripts"] == {"dialer": "dialer.cli:run"}
    assert project["requires-python"] == ">=3.11"
    named = " ".join(project["dependencies"])
    for dependency in ("pjsua2-python", "asterisk-ami", "apscheduler", "sqlalchemy", "phonenumbers",
                       "pytz"):
        assert dependency in named
    assert "phonenumberslite" not in named
    assert re.search(r"apscheduler>=3[^,]*,<4", named)
    assert re.search(r"sqlalchemy>=2[^,]*,<3", named)


def _quick_start() -> list[str]:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", section, re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines()
            if line.strip() and not line.strip().startswith("#")]


@pytest.mark.req("A2")
def test_readme_quick_start_is_exactly_two_commands() -> None:
    assert _quick_start() == ["make demo", "make test"]


@pytest.mark.req("A2")
def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    commands = [line for line in script.splitlines() if line.strip() and not line.startswith("#")]
    assert any(re.fullmatch(r"(exec )?make test", line.strip()) for line in commands)


@pytest.mark.req("A2")
def test_make_targets_do_their_own_setup_and_no_node() -> None:
    demo = subprocess.run(["make", "-n", "-B", "demo"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert demo.returncode == 0, demo.stderr
    assert "-m venv .venv" in demo.stdout and "pip install" in demo.stdout
    assert ".venv/bin/dialer demo" in demo.stdout
    test = subprocess.run(["make", "-n", "-B", "test"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert test.returncode == 0, test.stderr
    assert "apt-get install" in test.stdout and "apt-get update" in test.stdout
    assert "postgresql" in (ROOT / "Makefile").read_text() and "sip-tester" in (ROOT / "Makefile").read_text()
    assert "-m pytest" in test.stdout
    for text in (ROOT / "Makefile").read_text(), (ROOT / "pyproject.toml").read_text():
        assert not re.search(r"\b(npm|npx|node)\b", text)
    assert not (ROOT / "package.json").exists()


@pytest.mark.req("A3")
def test_suite_budget_settings() -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert options["timeout"] <= 600
    assert "--durations=25" in options["addopts"]
    assert "--strict-markers" in options["addopts"]
    for marker in ("postgres", "sipp", "chromium", "asterisk", "req"):
        assert any(m.startswith(marker + ":") or m.startswith(marker + "(") for m in options["markers"])
    assert "error" in options["filterwarnings"]


@pytest.mark.req("A3")
def test_hypothesis_ci_profile_is_bounded(monkeypatch) -> None:
    from hypothesis import settings as hsettings

    profile = hsettings.get_profile("ci")
    assert profile.max_examples <= 100
    assert profile.deadline is None


@pytest.mark.req("A3")
def test_missing_component_skips_locally_and_fails_in_ci(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        needs.binary("no-such-binary-for-dialer-tests")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        needs.binary("no-such-binary-for-dialer-tests")


@pytest.mark.req("A3")
def test_no_test_file_loads_more_than_50000_rows() -> None:
    pattern = re.compile(r"rows\s*=\s*(\d[\d_]*)|--rows\",\s*\"(\d+)\"")
    for path in (ROOT / "tests").rglob("test_*.py"):
        for match in pattern.finditer(path.read_text("utf-8")):
            value = int((match.group(1) or match.group(2)).replace("_", ""))
            assert value <= 50_000, f"{path.name} uses {value} rows"
