"""``[compliance]`` configuration: overrides of the shipped calling rules."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ComplianceSettings(BaseModel):
    """``[compliance]``: where extra rules come from and which shipped rules are disabled."""

    model_config = ConfigDict(extra="forbid")

    #: a TOML file of extra or overriding ``[[rule]]`` entries (same schema as the shipped file).
    rules_file: str = ""
    #: ids of shipped rules that do not apply here.
    disabled_rules: list[str] = []
