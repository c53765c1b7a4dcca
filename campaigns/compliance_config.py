"""``[compliance]`` configuration: overrides of the shipped calling rules.

The shipped rules (``campaigns/data/calling-rules.toml``) are loaded by
:func:`campaigns.calling_rules.load`, which applies these settings and
validates the result; errors name the file, the entry and the field.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ComplianceSettings(BaseModel):
    """``[compliance]``: where extra rules come from and which shipped rules are disabled."""

    model_config = ConfigDict(extra="forbid")

    #: a TOML file of ``[[rule]]``, ``[[jurisdiction]]`` and ``[[holiday_set]]`` entries
    #: (same schema as the shipped file): an entry whose id (code) exists replaces the
    #: shipped one, a new one is added.  ``dialer hours rules`` shows the effective set.
    rules_file: str = ""
    #: ids of shipped rules that do not apply here (an unknown id is an error).
    disabled_rules: list[str] = []
