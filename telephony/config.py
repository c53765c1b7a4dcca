"""Configuration sections of the telephony backends: ``[telephony]``, ``.sip``, ``.ami``, ``.sim``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SipSettings(_Section):
    """``[telephony.sip]``: the pjsua2 backend."""

    #: SIP URI of the trunk or outbound proxy, e.g. ``sip:proxy.example.net:5060``.
    proxy: str = ""
    #: host[:port] put in the request URI ``sip:{number}@{domain}``.
    domain: str = "127.0.0.1:5060"
    username: str = ""
    password: str = ""
    #: register with digest auth (True) or peer by IP (False); the key is ``register``.
    registration: bool = Field(default=False, alias="register")
    transport: Literal["udp", "tcp"] = "udp"
    bind_address: str = "127.0.0.1"
    #: first local SIP port; worker i listens on ``port + i``.
    port: int = Field(default=5070, ge=1024, le=65535)
    rtp_port_min: int = Field(default=20000, ge=1024, le=65535)
    rtp_port_max: int = Field(default=29999, ge=1024, le=65535)
    caller_id: str = ""
    ring_timeout_s: float = Field(default=20.0, ge=15.0, le=300.0)
    #: number of pjsua2 worker processes (each holds at most 4 calls).
    workers: int = Field(default=4, ge=1, le=256)
    #: new calls per second per worker (pjsua2 aborts above ~60; refused above 50).
    max_cps_per_worker: float = Field(default=30.0, gt=0, le=50.0)

    @model_validator(mode="after")
    def _rtp_range(self) -> SipSettings:
        if self.rtp_port_max <= self.rtp_port_min:
            raise ValueError("rtp_port_max must be above rtp_port_min")
        return self


class AmiSettings(_Section):
    """``[telephony.ami]``: the Asterisk Manager Interface backend."""

    host: str = "127.0.0.1"
    port: int = Field(default=5038, ge=1, le=65535)
    username: str = ""
    secret: str = ""
    #: channel template, e.g. ``PJSIP/{number}@trunk`` or ``Local/{number}@from-dialer``.
    channel: str = "PJSIP/{number}@trunk"
    context: str = "dialer-connect"
    exten: str = "s"
    priority: int = 1
    caller_id: str = ""
    ring_timeout_s: float = Field(default=20.0, ge=15.0, le=300.0)
    #: answering-machine detection through the dialplan's AMD().
    amd: bool = False

    @model_validator(mode="after")
    def _channel_template(self) -> AmiSettings:
        if "{number}" not in self.channel:
            raise ValueError("channel must contain {number}, e.g. PJSIP/{number}@trunk")
        return self


class SimSettings(_Section):
    """``[telephony.sim]``: the simulated carrier."""

    seed: int = 1
    #: "real" (wall clock, demos) or "virtual" (benchmarks).
    clock: Literal["real", "virtual"] = "real"
    live: float = Field(default=0.25, ge=0, le=1)
    machine: float = Field(default=0.15, ge=0, le=1)
    busy: float = Field(default=0.10, ge=0, le=1)
    rejected: float = Field(default=0.02, ge=0, le=1)
    failed: float = Field(default=0.01, ge=0, le=1)
    answer_delay_mean_s: float = Field(default=9.0, gt=0)
    #: coefficient of variation of the (lognormal) answer delay.
    answer_delay_cv: float = Field(default=0.5, ge=0)
    talk_mean_s: float = Field(default=120.0, gt=0)
    talk_cv: float = Field(default=0.8, ge=0)
    wrap_mean_s: float = Field(default=15.0, ge=0)
    wrap_cv: float = Field(default=0.3, ge=0)
    #: agent time lost on an answering machine that AMD did not catch.
    machine_handling_s: float = Field(default=8.0, ge=0)
    #: AMD accuracy: live judged machine, machine judged live (0 and 0: AMD off).
    amd_false_positive: float = Field(default=0.0, ge=0, le=1)
    amd_false_negative: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _probabilities(self) -> SimSettings:
        total = self.live + self.machine + self.busy + self.rejected + self.failed
        if total > 1.0 + 1e-9:
            raise ValueError("live + machine + busy + rejected + failed must not exceed 1")
        return self


class TelephonySettings(_Section):
    """``[telephony]``: which backend places calls, and each backend's section."""

    backend: Literal["sim", "sip", "ami"] = "sim"
    sip: SipSettings = SipSettings()
    ami: AmiSettings = AmiSettings()
    sim: SimSettings = SimSettings()
