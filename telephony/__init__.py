"""How a call is placed: SIP (pjsua2), Asterisk (AMI) and a simulated carrier behind one interface.

``BACKENDS`` maps the configured name (``[telephony] backend``) to a factory
taking the whole :class:`telephony.config.TelephonySettings`; each factory
imports its technology lazily, so choosing ``sim`` never loads pjsua2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telephony import base, errors


def _sim(settings: Any, **options: Any) -> base.Backend:
    from telephony import clock, sim

    return sim.SimulatedBackend.from_settings(settings.sim, options.get("clock") or clock.RealClock())


def _sip(settings: Any, **options: Any) -> base.Backend:
    from telephony import sip

    return sip.PjsuaBackend(settings.sip, **options)


def _ami(settings: Any, **options: Any) -> base.Backend:
    from telephony import ami

    return ami.AmiBackend(settings.ami, **options)


#: backend name -> factory(TelephonySettings, **options) -> Backend.
BACKENDS: dict[str, Callable[..., base.Backend]] = {"sim": _sim, "sip": _sip, "ami": _ami}


def make_backend(settings: Any, name: str | None = None, **options: Any) -> base.Backend:
    """The backend ``name`` (default: ``settings.backend``), built but not started.

    Raises
    ------
    telephony.errors.BackendConfigError
        When the name is unknown or the backend's section is unusable.
    """
    name = name or settings.backend
    factory = BACKENDS.get(name)
    if factory is None:
        raise errors.BackendConfigError(f"telephony.backend: unknown backend {name!r}",
                                        fields={"telephony.backend": "unknown"})
    return factory(settings, **options)


def refuse_unsupported(capabilities: base.Capabilities, *, amd: bool, backend: str,
                       key: str = "amd") -> None:
    """Refuse a campaign asking for what the backend cannot do (AMD on pjsua2).

    >>> refuse_unsupported(base.Capabilities(supports_amd=False), amd=True, backend="sip")
    Traceback (most recent call last):
    ...
    telephony.errors.BackendConfigError: amd: the sip backend has no answering-machine detection
    """
    if amd and not capabilities.supports_amd:
        raise errors.BackendConfigError(
            f"{key}: the {backend} backend has no answering-machine detection",
            fields={key: f"not supported by the {backend} backend"}, error_id="amd-unsupported")
