"""Pacing scenarios (``config/scenarios/*.toml``): load, validate, turn into simulator profiles.

Keys (D20): ``shift_h``, ``agents``, ``live``, ``machine``, ``busy`` (the rest
is no answer), ``answer_delay = {mean_s, cv}`` (lognormal, truncated at
``ring_timeout_s``, default 20), ``busy_resolve_s`` (4), ``talk`` and ``wrap``
as ``{mean_s, cv}`` (lognormal), ``machine_handling_s`` (8), ``amd =
{false_positive, false_negative, live_decision_s = 0.5, machine_decision_s =
3.0}`` or absent, ``breaks = {per_agent, minutes, between_h = [from, to]}`` or
absent, and optionally ``name``, ``description`` and ``abandon_cap`` (0.03).

A time-varying number (``agents``, ``live``, ``machine``, ``busy``,
``machine_handling_s``, and the ``mean_s``/``cv`` of ``answer_delay``, ``talk``
and ``wrap``) is a constant, ``{from = …, to = …}`` (linear over the shift) or
``[[hour, value], …]`` (steps).  Errors name the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialer import errors
from telephony import sim

_KEYS = {"name", "description", "shift_h", "agents", "live", "machine", "busy",
         "answer_delay", "ring_timeout_s", "busy_resolve_s", "talk", "wrap",
         "machine_handling_s", "amd", "breaks", "abandon_cap"}
_AMD_KEYS = {"false_positive", "false_negative", "live_decision_s", "machine_decision_s"}
_BREAK_KEYS = {"per_agent", "minutes", "between_h"}


class ScenarioError(errors.DialerError):
    """The scenario file is not valid."""

    error_id = "scenario-invalid"
    is_input_error = True

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}", fields={key: message})
        self.key = key


@dataclass(frozen=True)
class Scenario:
    """One pacing scenario, ready for the simulator."""

    name: str
    shift_h: float
    customers: sim.CustomerProfile
    workforce: sim.WorkforceProfile
    ring_timeout_s: float = 20.0
    abandon_cap: float = 0.03
    description: str = ""

    @property
    def has_amd(self) -> bool:
        return self.customers.amd is not None

    @property
    def ceiling_rpc_per_agent_hour(self) -> float:
        """3600 / (mean talk + mean wrap), the means time-weighted over the shift."""
        talk = self.customers.talk.mean_s.mean(self.shift_h)
        wrap = self.workforce.wrap.mean_s.mean(self.shift_h)
        return 3600.0 / (talk + wrap)


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file.

    Raises
    ------
    ScenarioError
        naming the first key that is missing or wrong.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError("scenario", f"cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("scenario", f"not valid TOML: {exc}") from exc
    return parse(data, default_name=path.stem)


def parse(data: dict[str, Any], default_name: str = "scenario") -> Scenario:
    """Validate a scenario given as a dict (the parsed TOML)."""
    for key in data:
        if key not in _KEYS:
            raise ScenarioError(key, "unknown key")
    shift_h = _number(data, "shift_h", low=0.01, required=True)
    ring_timeout_s = _number(data, "ring_timeout_s", default=20.0, low=1.0)
    customers = sim.CustomerProfile(
        live=_varying(data, "live", shift_h, high=1.0, required=True),
        machine=_varying(data, "machine", shift_h, high=1.0, required=True),
        busy=_varying(data, "busy", shift_h, high=1.0, required=True),
        answer_delay=_distribution(data, "answer_delay", shift_h),
        busy_resolve_s=_number(data, "busy_resolve_s", default=4.0, low=0.0),
        talk=_distribution(data, "talk", shift_h),
        machine_handling_s=_varying(data, "machine_handling_s", shift_h, default=8.0),
        amd=_amd(data.get("amd")))
    _check_shares(customers, shift_h)
    workforce = sim.WorkforceProfile(
        agents=_varying(data, "agents", shift_h, required=True, low=0.0, is_integer=True),
        wrap=_distribution(data, "wrap", shift_h),
        breaks=_breaks(data.get("breaks"), shift_h))
    if max(v for _, v in workforce.agents.points) < 1:
        raise ScenarioError("agents", "at least one agent must log in")
    return Scenario(name=str(data.get("name", default_name)), shift_h=shift_h,
                    customers=customers, workforce=workforce, ring_timeout_s=ring_timeout_s,
                    abandon_cap=_number(data, "abandon_cap", default=0.03, low=0.0, high=1.0),
                    description=str(data.get("description", "")))


def _number(data: dict[str, Any], key: str, *, default: float | None = None,
            low: float | None = None, high: float | None = None, required: bool = False,
            path: str | None = None) -> float:
    name = path or key
    if key not in data:
        if required or default is None:
            raise ScenarioError(name, "is required")
        return default
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(name, "must be a number")
    _check_range(name, float(value), low, high)
    return float(value)


def _check_range(name: str, value: float, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise ScenarioError(name, f"must be at least {low:g}")
    if high is not None and value > high:
        raise ScenarioError(name, f"must be at most {high:g}")


def _varying(data: dict[str, Any], key: str, shift_h: float, *, default: float | None = None,
             low: float = 0.0, high: float | None = None, required: bool = False,
             is_integer: bool = False, path: str | None = None) -> sim.Schedule:
    """A constant, ``{from, to}`` or ``[[hour, value], …]``."""
    name = path or key
    if key not in data:
        if required or default is None:
            raise ScenarioError(name, "is required")
        return sim.Schedule.constant(default)
    value = data[key]
    if isinstance(value, dict):
        if set(value) != {"from", "to"}:
            raise ScenarioError(name, "a linear value is {from = …, to = …}")
        ends = [_number(value, k, path=f"{name}.{k}", low=low, high=high) for k in ("from", "to")]
        schedule = sim.Schedule.linear(ends[0], ends[1], shift_h)
    elif isinstance(value, list):
        steps = []
        for i, step in enumerate(value):
            if not (isinstance(step, list) and len(step) == 2):
                raise ScenarioError(f"{name}[{i}]", "a step is [hour, value]")
            hour = _number({"h": step[0]}, "h", low=0.0, high=shift_h, path=f"{name}[{i}][0]")
            level = _number({"v": step[1]}, "v", low=low, high=high, path=f"{name}[{i}][1]")
            steps.append((hour, level))
        if not steps or steps[0][0] != 0:
            raise ScenarioError(name, "steps must start at hour 0")
        schedule = sim.Schedule.steps(steps)
    else:
        schedule = sim.Schedule.constant(_number(data, key, low=low, high=high, path=name))
    if is_integer and any(v != int(v) for _, v in schedule.points):
        raise ScenarioError(name, "must be whole numbers")
    return schedule


def _distribution(data: dict[str, Any], key: str, shift_h: float) -> sim.Distribution:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ScenarioError(key, "is required, as {mean_s = …, cv = …}")
    for inner in value:
        if inner not in ("mean_s", "cv"):
            raise ScenarioError(f"{key}.{inner}", "unknown key")
    mean = _varying(value, "mean_s", shift_h, low=0.001, required=True, path=f"{key}.mean_s")
    cv = _varying(value, "cv", shift_h, low=0.0, required=True, path=f"{key}.cv")
    return sim.Distribution(mean, cv)


def _amd(value: Any) -> sim.AmdProfile | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ScenarioError("amd", "must be a table or absent")
    for inner in value:
        if inner not in _AMD_KEYS:
            raise ScenarioError(f"amd.{inner}", "unknown key")
    return sim.AmdProfile(
        false_positive=_number(value, "false_positive", low=0, high=1, required=True,
                               path="amd.false_positive"),
        false_negative=_number(value, "false_negative", low=0, high=1, required=True,
                               path="amd.false_negative"),
        live_decision_s=_number(value, "live_decision_s", default=0.5, low=0,
                                path="amd.live_decision_s"),
        machine_decision_s=_number(value, "machine_decision_s", default=3.0, low=0,
                                   path="amd.machine_decision_s"))


def _breaks(value: Any, shift_h: float) -> sim.BreakProfile | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ScenarioError("breaks", "must be a table or absent")
    for inner in value:
        if inner not in _BREAK_KEYS:
            raise ScenarioError(f"breaks.{inner}", "unknown key")
    per_agent = _number(value, "per_agent", low=0, required=True, path="breaks.per_agent")
    minutes = _number(value, "minutes", low=0, required=True, path="breaks.minutes")
    between = value.get("between_h")
    if not (isinstance(between, list) and len(between) == 2):
        raise ScenarioError("breaks.between_h", "is [from, to] in hours")
    start = _number({"v": between[0]}, "v", low=0, high=shift_h, path="breaks.between_h[0]")
    end = _number({"v": between[1]}, "v", low=start, high=shift_h, path="breaks.between_h[1]")
    return sim.BreakProfile(int(per_agent), minutes, (start, end))


def _check_shares(customers: sim.CustomerProfile, shift_h: float) -> None:
    for i in range(int(shift_h * 60) + 1):
        hour = i / 60
        total = customers.live.at(hour) + customers.machine.at(hour) + customers.busy.at(hour)
        if total > 1.0 + 1e-9:
            raise ScenarioError("live", f"live + machine + busy is {total:.3f} at hour {hour:.2f}"
                                " (must not exceed 1)")
