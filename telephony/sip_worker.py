"""One pjsua2 worker process: one ``Endpoint``, at most four calls, driven over pipes.

The parent (:mod:`telephony.sip`) starts ``python -m telephony.sip_worker CONFIG_JSON``
and talks JSON lines: commands on our stdin, events on our stdout (the original
stdout is kept for events; fd 1 is pointed at /dev/null so that nothing pjproject
prints can corrupt the stream).

Answered calls that receive no RTP for ``rtp_timeout_s`` (config) are hung up with
cause ``rtp_timeout``: a BYE lost under load must not leave a call up forever.

Commands (``op``): ``call`` (id, uri, caller_id, timeout_s, headers), ``hangup`` (id),
``connect`` (a, b: mix two calls both ways), ``play`` (id, file), ``stats`` (ids),
``quit``.  Events (``ev``): ``ready``, ``ringing``, ``answered``, ``ended`` (status,
reason, q850, cause, is_answered), ``incoming`` (id, leg), ``stats``, ``error``.

An incoming call whose request URI user is ``bridge-<leg>-<id>`` is a loopback
bridge leg from another worker: it is answered and mixed with the local call
``<leg>`` (an agent leg).  Anything else is refused with 403.

pjsua2 rules kept here and nowhere else: ``threadCnt = 0`` and
``mainThreadOnly``, this process's main thread polls ``libHandleEvents``; every
Call, Account and player keeps a Python reference until PJSIP reports it gone
and is deleted before ``libDestroy``.  The worker hangs up its calls and exits
on pipe EOF, on ``quit``, on SIGTERM, and when its parent dies
(``PR_SET_PDEATHSIG`` sends SIGTERM).
"""

from __future__ import annotations

import ctypes
import faulthandler
import json
import os
import re
import select
import signal
import sys
import time
from typing import Any

import pjsua2 as pj

_PR_SET_PDEATHSIG = 1
_Q850 = re.compile(r"^Reason:\s*Q\.850\s*;\s*cause=(\d+)", re.IGNORECASE | re.MULTILINE)
_BRIDGE_USER = re.compile(r"^INVITE sip:bridge-([A-Za-z0-9_.]+)-([A-Za-z0-9_.]+)@")


class Worker:
    """The event loop of one worker process."""

    def __init__(self, config: dict[str, Any], out_fd: int) -> None:
        self.config = config
        self.out_fd = out_fd
        self.calls: dict[str, WorkerCall] = {}
        self.dead: list[WorkerCall] = []
        self.pairs: dict[str, str] = {}
        self.players: dict[str, list[Any]] = {}
        self.is_stopping = False
        self.next_rtp_check = 0.0
        self.inbuf = b""
        self.ep = pj.Endpoint()
        self.account: WorkerAccount | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        cfg = self.config
        self.ep.libCreate()
        ep_cfg = pj.EpConfig()
        ep_cfg.uaConfig.threadCnt = 0
        ep_cfg.uaConfig.mainThreadOnly = True
        ep_cfg.uaConfig.maxCalls = 4
        ep_cfg.uaConfig.userAgent = "campaign-dialer"
        ep_cfg.logConfig.level = int(cfg.get("log_level", 0))
        ep_cfg.logConfig.consoleLevel = int(cfg.get("log_level", 0))
        ep_cfg.medConfig.noVad = True
        ep_cfg.medConfig.ecTailLen = 0
        ep_cfg.medConfig.clockRate = 8000
        ep_cfg.medConfig.sndClockRate = 8000
        ep_cfg.medConfig.channelCount = 1
        self.ep.libInit(ep_cfg)
        tp_cfg = pj.TransportConfig()
        tp_cfg.port = int(cfg["port"])
        tp_cfg.boundAddress = cfg["bind_address"]
        kind = pj.PJSIP_TRANSPORT_TCP if cfg["transport"] == "tcp" else pj.PJSIP_TRANSPORT_UDP
        self.ep.transportCreate(kind, tp_cfg)
        self.ep.libStart()
        self.ep.audDevManager().setNullDev()
        for codec in ("speex", "iLBC", "GSM", "G722", "opus", "L16", "AMR"):
            for info in self.ep.codecEnum2():
                if info.codecId.lower().startswith(codec.lower()):
                    self.ep.codecSetPriority(info.codecId, 0)
        self.account = WorkerAccount(self)
        self.account.create(self._account_config())

    def _account_config(self) -> Any:
        cfg = self.config
        acc = pj.AccountConfig()
        host = f"{cfg['bind_address']}:{cfg['port']}"
        user = cfg.get("username") or "dialer"
        acc.idUri = f"sip:{user}@{cfg['domain'] if cfg.get('register') else host}"
        if cfg.get("register"):
            acc.regConfig.registrarUri = f"sip:{cfg['domain']}{self._tp_param()}"
            acc.regConfig.timeoutSec = 300
        if cfg.get("username"):
            cred = pj.AuthCredInfo("digest", "*", cfg["username"], 0, cfg.get("password", ""))
            acc.sipConfig.authCreds.append(cred)
        if cfg.get("proxy"):
            proxy = cfg["proxy"]
            acc.sipConfig.proxies.append(proxy if ";lr" in proxy else proxy + ";lr")
        media = acc.mediaConfig.transportConfig
        media.port = int(cfg["rtp_port"])
        media.portRange = int(cfg["rtp_port_range"])
        media.boundAddress = cfg["bind_address"]
        return acc

    def _tp_param(self) -> str:
        return ";transport=tcp" if self.config["transport"] == "tcp" else ""

    def run(self) -> None:
        parent = os.getppid()
        self.emit({"ev": "ready", "port": self.config["port"], "pid": os.getpid()})
        while not self.is_stopping:
            # pjsua returns early on its own events; the timeout only bounds how long a
            # command waits on stdin: short while calls are up, longer (less CPU) when idle
            self.ep.libHandleEvents(10 if self.calls else 40)
            self._read_commands()
            self._check_ring_timeouts()
            self._check_rtp()
            self._reap()
            if os.getppid() != parent:
                self.is_stopping = True
        self.shutdown()

    def shutdown(self) -> None:
        """Hang up every call, let the BYEs/CANCELs go, then free pjsua2 in the right order.

        No local variable may hold a Call here: one still referenced when
        ``libDestroy`` returns is destroyed afterwards and aborts the process.
        """
        self._hangup_all()
        deadline = time.monotonic() + 2.0
        while self.calls and time.monotonic() < deadline:
            self.ep.libHandleEvents(20)
            self._reap()
        for _ in range(5):
            self.ep.libHandleEvents(10)
        self._reap()
        self.calls.clear()
        self.players.clear()
        self.dead.clear()
        if self.account is not None:
            self.account.shutdown()
            self.account = None
        self.ep.libDestroy()

    def _hangup_all(self) -> None:
        for call in list(self.calls.values()):
            self._hangup(call, cause="worker_exit")

    # -- pipes ---------------------------------------------------------------------------

    def emit(self, event: dict[str, Any]) -> None:
        data = (json.dumps(event) + "\n").encode()
        try:
            while data:
                written = os.write(self.out_fd, data)
                data = data[written:]
        except (BrokenPipeError, OSError):
            self.is_stopping = True

    def _read_commands(self) -> None:
        while select.select([0], [], [], 0)[0]:
            chunk = os.read(0, 65536)
            if not chunk:
                self.is_stopping = True
                return
            self.inbuf += chunk
            while b"\n" in self.inbuf:
                line, self.inbuf = self.inbuf.split(b"\n", 1)
                if line.strip():
                    self._dispatch(json.loads(line))

    def _dispatch(self, cmd: dict[str, Any]) -> None:
        op = cmd.get("op")
        try:
            if op == "call":
                self._make_call(cmd)
            elif op == "hangup":
                call = self.calls.get(cmd["id"])
                if call is not None:
                    self._hangup(call, cause=cmd.get("cause", "hangup"))
            elif op == "connect":
                self._pair(cmd["a"], cmd["b"])
            elif op == "play":
                self._play(cmd["id"], cmd["file"])
            elif op == "stats":
                self.emit({"ev": "stats", "req": cmd.get("req"),
                           "calls": {cid: self._stats(cid) for cid in cmd.get("ids", [])}})
            elif op == "quit":
                self.is_stopping = True
            else:
                self.emit({"ev": "error", "id": cmd.get("id"), "msg": f"unknown op {op!r}"})
        except pj.Error as exc:
            self.emit({"ev": "error", "id": cmd.get("id"), "op": op, "msg": exc.info()})
            if op == "call":
                self.emit({"ev": "ended", "id": cmd["id"], "status": 0, "reason": exc.reason,
                           "q850": None, "cause": "not_placed", "is_answered": False})

    # -- calls ---------------------------------------------------------------------------

    def _make_call(self, cmd: dict[str, Any]) -> None:
        assert self.account is not None
        call = WorkerCall(self, self.account, cmd["id"])
        call.deadline = time.monotonic() + float(cmd["timeout_s"]) if cmd.get("timeout_s") else None
        prm = pj.CallOpParam(True)
        prm.opt.audioCount = 1
        prm.opt.videoCount = 0
        caller_id = cmd.get("caller_id")
        headers = dict(cmd.get("headers") or {})
        if caller_id:
            host = self.config["domain"]
            prm.txOption.localUri = f"<sip:{caller_id}@{host}>"
            headers.setdefault("P-Asserted-Identity", f"<sip:{caller_id}@{host}>")
        for name, value in headers.items():
            header = pj.SipHeader()
            header.hName = name
            header.hValue = str(value)
            prm.txOption.headers.append(header)
        self.calls[call.call_id] = call
        call.makeCall(cmd["uri"] + self._tp_param(), prm)

    def _hangup(self, call: WorkerCall, cause: str) -> None:
        if not call.cause:
            call.cause = cause
        prm = pj.CallOpParam()
        if call.is_answered:
            prm.statusCode = 200
        try:
            call.hangup(prm)
        except pj.Error:
            pass

    def _check_ring_timeouts(self) -> None:
        now = time.monotonic()
        for call in list(self.calls.values()):
            if call.deadline is not None and not call.is_answered and now >= call.deadline:
                call.deadline = None
                self._hangup(call, cause="ring_timeout")

    def _check_rtp(self) -> None:
        """Hang up answered calls that received no RTP for ``rtp_timeout_s`` (a lost BYE)."""
        timeout = float(self.config.get("rtp_timeout_s") or 0)
        now = time.monotonic()
        if timeout <= 0 or now < self.next_rtp_check:
            return
        self.next_rtp_check = now + min(1.0, timeout / 2)
        for call in list(self.calls.values()):
            if not call.is_answered or call.cause:
                continue
            try:
                received = call.getStreamStat(0).rtcp.rxStat.pkt
            except pj.Error:
                continue
            if received != call.rx_pkt:
                call.rx_pkt, call.rx_at = received, now
            elif now - call.rx_at > timeout:
                self._hangup(call, cause="rtp_timeout")

    def _reap(self) -> None:
        while self.dead:
            call = self.dead.pop()
            self.players.pop(call.call_id, None)
            self.calls.pop(call.call_id, None)
            partner = self.pairs.pop(call.call_id, None)
            if partner is not None:
                self.pairs.pop(partner, None)

    def on_incoming(self, call_id: int, rdata: Any) -> None:
        assert self.account is not None
        match = _BRIDGE_USER.match(rdata.wholeMsg)
        leg = match.group(1) if match else None
        # the other worker knows this leg as <id>; here it is <id>i (ids are unique per parent)
        call = WorkerCall(self, self.account, f"{match.group(2)}i" if match else f"in{call_id}",
                          pj_call_id=call_id)
        prm = pj.CallOpParam()
        if leg is None or leg not in self.calls or len(self.calls) >= 4:
            prm.statusCode = 403 if leg is None else 480
            call.is_refused = True
            self.dead.append(call)
            call.answer(prm)
            return
        self.calls[call.call_id] = call
        self.emit({"ev": "incoming", "id": call.call_id, "leg": leg})
        self.pairs[call.call_id] = leg
        self.pairs[leg] = call.call_id
        prm.statusCode = 200
        call.answer(prm)

    def _pair(self, a: str, b: str) -> None:
        for cid in (a, b):
            old = self.pairs.pop(cid, None)
            if old is not None:
                self.pairs.pop(old, None)
                self._unmix(cid, old)
        self.pairs[a] = b
        self.pairs[b] = a
        self.mix(a)

    def mix(self, call_id: str) -> None:
        """Connect ``call_id`` and its partner both ways, once both have audio."""
        partner = self.pairs.get(call_id)
        first, second = self.calls.get(call_id), self.calls.get(partner or "")
        if first is None or second is None:
            return
        a, b = first.audio(), second.audio()
        if a is None or b is None:
            return
        a.startTransmit(b)
        b.startTransmit(a)
        self.emit({"ev": "mixed", "a": call_id, "b": partner})

    def _unmix(self, a: str, b: str) -> None:
        first, second = self.calls.get(a), self.calls.get(b)
        if first is None or second is None:
            return
        ma, mb = first.audio(), second.audio()
        if ma is not None and mb is not None:
            ma.stopTransmit(mb)
            mb.stopTransmit(ma)

    def _play(self, call_id: str, path: str) -> None:
        call = self.calls.get(call_id)
        media = call.audio() if call is not None else None
        if media is None:
            self.emit({"ev": "error", "id": call_id, "op": "play", "msg": "no audio"})
            return
        player = pj.AudioMediaPlayer()
        player.createPlayer(path, pj.PJMEDIA_FILE_NO_LOOP)
        player.startTransmit(media)
        self.players.setdefault(call_id, []).append(player)

    def _stats(self, call_id: str) -> dict[str, Any] | None:
        call = self.calls.get(call_id)
        if call is None or not call.is_answered:
            return None
        try:
            stat = call.getStreamStat(0)
            media = call.audio()
            transport = call.getMedTransportInfo(0)
            return {"rx_pkt": stat.rtcp.rxStat.pkt, "tx_pkt": stat.rtcp.txStat.pkt,
                    "local_rtp": transport.localRtpName,
                    "rx_level": media.getRxLevel() if media else 0,
                    "tx_level": media.getTxLevel() if media else 0}
        except pj.Error:
            return None


class WorkerAccount(pj.Account):
    """The worker's only account; incoming calls are loopback bridge legs."""

    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self.worker = worker

    def onIncomingCall(self, prm: Any) -> None:
        self.worker.on_incoming(prm.callId, prm.rdata)

    def onRegState(self, prm: Any) -> None:
        self.worker.emit({"ev": "reg", "code": prm.code, "reason": prm.reason,
                          "expiration": prm.expiration})


class WorkerCall(pj.Call):
    """A call of this worker, known to the parent by ``call_id``."""

    def __init__(self, worker: Worker, account: WorkerAccount, call_id: str,
                 pj_call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(account, pj_call_id)
        self.worker = worker
        self.call_id = call_id
        self.deadline: float | None = None
        self.is_answered = False
        self.is_ringing = False
        self.is_refused = False
        self.cause = ""
        self.q850: int | None = None
        #: RTP packets received at the last check, and when that count last changed.
        self.rx_pkt = -1
        self.rx_at = time.monotonic()

    def audio(self) -> Any:
        """The call's conference port, or None while it has no active audio."""
        try:
            info = self.getInfo()
        except pj.Error:
            return None
        for index, media in enumerate(info.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                return self.getAudioMedia(index)
        return None

    def onCallState(self, prm: Any) -> None:
        info = self.getInfo()
        self._note_q850(prm)
        if self.is_refused:
            if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
                self.worker.dead.append(self)
            return
        if info.state == pj.PJSIP_INV_STATE_EARLY and not self.is_ringing and info.role == 0:
            self.is_ringing = True
            self.worker.emit({"ev": "ringing", "id": self.call_id, "status": info.lastStatusCode})
        elif info.state == pj.PJSIP_INV_STATE_CONFIRMED and not self.is_answered:
            self.is_answered = True
            self.rx_at = time.monotonic()
            self.deadline = None
            self.worker.emit({"ev": "answered", "id": self.call_id})
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.worker.emit({"ev": "ended", "id": self.call_id, "status": info.lastStatusCode,
                              "reason": info.lastReason, "q850": self.q850,
                              "cause": self.cause, "is_answered": self.is_answered,
                              "talk_s": info.connectDuration.sec + info.connectDuration.msec / 1e3})
            self.worker.dead.append(self)

    def _note_q850(self, prm: Any) -> None:
        try:
            if prm.e.type != pj.PJSIP_EVENT_TSX_STATE:
                return
            message = prm.e.body.tsxState.src.rdata.wholeMsg
        except (AttributeError, pj.Error):
            return
        match = _Q850.search(message or "")
        if match:
            self.q850 = int(match.group(1))

    def onCallMediaState(self, prm: Any) -> None:
        self.worker.mix(self.call_id)


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: pipe EOF still ends the worker


def main(argv: list[str]) -> int:
    config = json.loads(argv[1])
    faulthandler.enable()  # a pjproject assertion prints the Python stack before the abort
    expected_parent = int(config.get("parent_pid", os.getppid()))
    _die_with_parent()
    if os.getppid() != expected_parent:
        return 1
    out_fd = os.dup(1)
    if int(config.get("log_level", 0)) > 0:
        os.dup2(2, 1)  # pjproject's console log (fd 1) goes to stderr
    else:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    worker = Worker(config, out_fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def stop(_signum: int, _frame: Any) -> None:
        worker.is_stopping = True

    signal.signal(signal.SIGTERM, stop)
    try:
        worker.start()
    except pj.Error as exc:
        worker.emit({"ev": "failed", "msg": exc.info()})
        return 1
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
