"""The composition root: settings -> database -> backend -> timers -> one orchestrator per campaign.

Only this module wires concrete classes together.  :class:`Engine` is what
``dialer run`` starts:

- at start it closes the attempts this engine id left open and gives its
  claims back (D15), then rebuilds the retry timer from the database (D9);
- it polls the campaign rows every ``status_poll_s`` and follows their status
  live (D1): active -> an orchestrator runs the campaign; paused -> no new
  call, live calls finish; stopped -> the same, and agent sessions end; active
  again -> a fresh orchestrator starts;
- each campaign's orchestrator (:mod:`dialer.orchestrator`, the same one the
  benchmark runs: D14) gets a :class:`~dialer.db_hopper.DbHopper`, a line of
  the shared :class:`~dialer.recording.RecordingBackend`, and a desk: the
  people's :class:`~dialer.agent_desk.AgentDesk` (``engine.desk``, what the web
  application calls) and, with ``sim_agents``, a simulated workforce and desk;
- preview campaigns offer each ready agent a claimed record and dial it when
  the agent says so (D3);
- the :class:`~dialer.timers.DueTimer` releases due retries and callbacks (and
  hands missed callbacks to the callbacks workflow's ladder); every
  ``CALLBACK_SWEEP`` it also runs the callbacks workflow's sweep, and every
  ``REFINE_EVERY`` a pass gives far retries of today and tomorrow their hour's slot;
- :meth:`Engine.request_stop` (SIGTERM, SIGINT) stops dialing, lets live calls
  finish for ``shutdown_grace_s``, then closes the backend, which ends the rest.

Every database call runs on one :class:`~dialer.db_thread.DatabaseThread`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import random
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from campaigns import calling_rules, models
from campaigns.enums import CampaignStatus, DialingMode
from campaigns.store import engine_queries, retry_queue
from dialer import (
    agent_desk,
    agents,
    callbacks_engine,
    db_hopper,
    db_thread,
    orchestrator,
    pacing,
    recording,
    startup_checks,
    timers,
    wrapup,
)
from dialer import errors as dialer_errors
from telephony import base
from telephony import clock as clockmod

logger = logging.getLogger(__name__)

#: how often the callbacks workflow's sweep runs (missed windows, due ladder steps).
CALLBACK_SWEEP = dt.timedelta(seconds=60)
#: how often a timer pass also refines far retries' slots (a read of two day slots).
REFINE_EVERY = dt.timedelta(seconds=60)


def default_engine_id() -> str:
    """``hostname-pid``: unique among live engines (pass a fixed id to recover after a crash)."""
    return f"{socket.gethostname()}-{os.getpid()}"[:64]


@dataclass(frozen=True)
class EngineOptions:
    """How ``dialer run`` runs (the rest comes from the settings and the campaign rows)."""

    engine_id: str = field(default_factory=default_engine_id)
    #: campaign names to run (empty: every active campaign).
    campaigns: tuple[str, ...] = ()
    #: stop once the campaigns have nothing left: no new record, no open retry or callback.
    is_until_idle: bool = False
    #: simulated agents per campaign (sim backend).
    sim_agents: int = 0
    #: the simulated agents' dispositions (code -> weight); None: ``wrapup.DEFAULT_DISTRIBUTION``.
    sim_dispositions: Mapping[str, float] | None = None
    #: a simulated agent's callback opens this long after the call, for two hours.
    sim_callback_delay: dt.timedelta = dt.timedelta(minutes=5)
    seed: int = 1
    status_poll_s: float = 2.0
    idle_poll_s: float = 0.25
    tick_s: float = 1.0
    lease: dt.timedelta = dt.timedelta(minutes=30)
    shutdown_grace_s: float = 5.0
    wrap_limit_s: float = 120.0


@dataclass
class CampaignReport:
    campaign_id: int
    name: str
    dials: int = 0
    answered: int = 0
    connected: int = 0
    abandoned: int = 0
    not_placed: int = 0
    runs: int = 0


class Engine:
    """Runs every active campaign until stopped (or, with ``is_until_idle``, until done)."""

    def __init__(self, settings: Any, options: EngineOptions, *,
                 session_factory: sessionmaker[Session], clock: clockmod.Clock | None = None,
                 backend: base.Backend | None = None) -> None:
        self.settings = settings
        self.options = options
        self.factory = session_factory
        self.clock = clock or clockmod.RealClock()
        self._inner = backend
        self.rules = calling_rules.load(settings.compliance)
        self.database: db_thread.DatabaseThread | None = None
        self.recorder: recording.RecordingBackend | None = None
        self.timer: timers.DueTimer | None = None
        self.runners: dict[int, CampaignRunner] = {}
        self.reports: dict[int, CampaignReport] = {}
        self.recovery: engine_queries.Recovery | None = None
        self._stop = asyncio.Event()
        self._idle_done: set[int] = set()
        self._refused: set[int] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        #: the agent desk (people's API), from start to stop.
        self.desk: agent_desk.AgentDesk | None = None
        self._swept_at: dt.datetime | None = None
        self._refined_at: dt.datetime | None = None

    def request_stop(self) -> None:
        """Stop cleanly (safe from a signal handler on the loop)."""
        self._stop.set()

    async def run(self) -> dict[str, Any]:
        """Run until stopped or idle; a summary of what was done."""
        await self._start()
        try:
            while not self._stop.is_set():
                await self._follow_statuses()
                if self.options.is_until_idle and self._is_idle():
                    break
                try:
                    await asyncio.wait_for(self._stop.wait(), self.options.status_poll_s)
                except TimeoutError:
                    pass
        finally:
            await self._shutdown()
        return self.summary()

    def summary(self) -> dict[str, Any]:
        recovery = self.recovery or engine_queries.Recovery(0, 0)
        return {"engine_id": self.options.engine_id,
                "recovered_attempts": recovery.closed_attempts,
                "released_claims": recovery.released_claims,
                "timer_passes": self.timer.passes if self.timer else 0,
                "database_failures": self.database.failures if self.database else 0,
                "campaigns": [vars(r) for r in self.reports.values()]}

    # -- start and stop ----------------------------------------------------------------------

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.database = db_thread.DatabaseThread(self.factory)
        self.database.start()
        now = self.clock.now()
        self.recovery = await self.database.call(lambda s: engine_queries.recover(
            s, engine_id=self.options.engine_id, now=now))
        if self.recovery.closed_attempts:
            logger.warning("closed %d attempts left open by engine %s", self.recovery.closed_attempts,
                           self.options.engine_id)
        inner = self._inner or self._make_backend()
        self.timer = timers.DueTimer(self._blocking(retry_queue.next_due_at), self._on_due,
                                     now=self.clock.now, safety_interval=dt.timedelta(seconds=30))
        self.recorder = recording.RecordingBackend(inner, self.database, now=self.clock.now,
                                                   on_retry=self._poke,
                                                   callbacks_cfg=self._callbacks_cfg())
        await self.recorder.start()
        self.desk = agent_desk.AgentDesk(self)
        await self.timer.start()

    def _make_backend(self) -> base.Backend:
        from telephony import make_backend

        options: dict[str, Any] = {}
        if self.settings.telephony.backend == "sim":
            options["clock"] = self.clock
        return make_backend(self.settings.telephony, **options)

    async def _shutdown(self) -> None:
        for runner in self.runners.values():
            runner.stop(logout=True)
        running = [r.task for r in self.runners.values() if r.task is not None and not r.task.done()]
        if running:
            await asyncio.wait(running, timeout=self.options.shutdown_grace_s)
        assert self.recorder is not None and self.database is not None
        await self.recorder.close()  # ends every call still up; those ends are recorded
        running = [task for task in running if not task.done()]
        if running:
            await asyncio.wait(running, timeout=self.options.shutdown_grace_s)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        if self.timer is not None:
            await self.timer.stop()
        if self.desk is not None:
            await self.desk.close()
        await self.database.drain()
        await self.database.stop()

    # -- campaigns ---------------------------------------------------------------------------

    async def _follow_statuses(self) -> None:
        assert self.database is not None
        statuses = await self.database.call(
            lambda s: engine_queries.campaign_statuses(s, self.options.campaigns))
        for campaign_id, (name, status) in statuses.items():
            runner = self.runners.get(campaign_id)
            is_running = runner is not None and runner.task is not None and not runner.task.done()
            if status is CampaignStatus.ACTIVE:
                if not is_running and campaign_id not in self._idle_done \
                        and campaign_id not in self._refused:
                    await self._start_campaign(campaign_id, name)
            elif is_running and runner is not None:
                runner.stop(logout=status is not CampaignStatus.PAUSED)
            if status is not CampaignStatus.ACTIVE:
                self._refused.discard(campaign_id)
                self._idle_done.discard(campaign_id)

    def _is_idle(self) -> bool:
        busy = any(r.task is not None and not r.task.done() for r in self.runners.values())
        return not busy

    async def _start_campaign(self, campaign_id: int, name: str) -> None:
        assert self.database is not None
        try:
            try:
                campaign = await self.database.call(lambda s: self._load_startable(s, campaign_id))
            except sa_exc.IntegrityError:  # another engine created the simulated agents first
                campaign = await self.database.call(lambda s: self._load_startable(s, campaign_id))
        except dialer_errors.DialerError as exc:
            logger.error("campaign %s not started: %s", name, exc,
                         extra={"campaign_id": campaign_id})
            self._refused.add(campaign_id)
            return
        report = self.reports.setdefault(campaign_id, CampaignReport(campaign_id, name))
        runner = CampaignRunner(self, campaign, report)
        self.runners[campaign_id] = runner
        runner.task = asyncio.create_task(runner.run(), name=f"campaign-{campaign_id}")
        runner.task.add_done_callback(lambda task: self._runner_done(campaign_id, task))

    def _runner_done(self, campaign_id: int, task: asyncio.Task[bool]) -> None:
        if task.cancelled():
            return
        if task.exception() is not None:
            logger.error("campaign runner failed", exc_info=task.exception(),
                         extra={"campaign_id": campaign_id})
            self._refused.add(campaign_id)
        elif task.result():
            self._idle_done.add(campaign_id)

    def _load_startable(self, session: Session, campaign_id: int) -> _CampaignSnapshot:
        campaign = session.get(models.Campaign, campaign_id)
        startup_checks.refuse_unstartable(campaign, self.settings, session=session,
                                          now=self.clock.now())
        agent_ids: list[int] = []
        if self.options.sim_agents:
            agent_ids = engine_queries.simulated_agents(session, campaign_id,
                                                        self.options.sim_agents, self.clock.now())
        return _CampaignSnapshot(campaign.id, campaign.name, DialingMode(campaign.dialing_mode),
                                 campaign.abandon_cap, campaign.amd_false_positive_rate,
                                 float(campaign.ring_timeout_s), bool(campaign.amd),
                                 campaign.caller_id or "", campaign.abandon_message or "",
                                 tuple(agent_ids))

    # -- timers ------------------------------------------------------------------------------

    def _blocking(self, fn: Callable[[Session], Any]) -> Callable[[], Any]:
        """``fn`` run on the database thread, callable from the timer's executor thread."""
        loop = self._loop

        def call() -> Any:
            assert self.database is not None and loop is not None
            return asyncio.run_coroutine_threadsafe(self.database.call(fn), loop).result()

        return call

    def _callbacks_cfg(self) -> Any:
        """The ``[callbacks]`` section, when the callbacks workflow is there."""
        try:
            from dialer import callbacks_config
        except ImportError:
            return None
        return callbacks_config.settings_of(self.settings)

    def _on_due(self, now: dt.datetime) -> None:
        cfg = self._callbacks_cfg()

        def on_missed(session: Session, callback: models.Callback, at: dt.datetime) -> None:
            _on_missed(session, callback, at, cfg)

        refine = self._refined_at is None or now - self._refined_at >= REFINE_EVERY

        def release(session: Session) -> retry_queue.Release:
            engine_queries.stale_claims(session, now)
            return retry_queue.release_due(session, now, rules=self.rules, on_missed=on_missed,
                                           refine=refine)

        report = self._blocking(release)()
        if refine:
            self._refined_at = now
        if (report.ready or report.callbacks_due) and self._loop is not None:
            # released work is dialled now, not up to a pacing tick later (D11's lateness)
            self._loop.call_soon_threadsafe(self._wake_campaigns)
        if self._swept_at is None or now - self._swept_at >= CALLBACK_SWEEP:
            self._swept_at = now
            self._sweep(now, cfg)

    def _wake_campaigns(self) -> None:
        for runner in self.runners.values():
            if runner.orchestrator is not None:
                runner.orchestrator.wake()

    def _sweep(self, now: dt.datetime, cfg: Any) -> None:
        """The callbacks workflow's periodic sweep, in its own unit of work."""
        try:
            counts = self._blocking(lambda s: callbacks_engine.sweep(s, cfg, now))()
        except Exception:  # the timer's pass goes on; logged with context
            logger.exception("callbacks sweep failed at %s", now.isoformat())
            return
        if any(counts.values()):
            logger.info("callbacks sweep: %s", counts)

    def _poke(self, at: dt.datetime) -> None:
        if self.timer is not None:
            self.timer.poke(at)


def _on_missed(session: Session, callback: models.Callback, now: dt.datetime, cfg: Any) -> None:
    """A callback's window passed: the callbacks workflow's ladder, else simply missed."""
    try:
        from dialer import callbacks_engine

        ladder = callbacks_engine.on_missed
    except (ImportError, AttributeError):
        retry_queue.mark_missed(session, callback, now)
        return
    ladder(session, cfg, callback.id, now=now)


@dataclass(frozen=True)
class _CampaignSnapshot:
    id: int
    name: str
    mode: DialingMode
    abandon_cap: float
    amd_fp: float
    ring_timeout_s: float
    is_amd: bool
    caller_id: str
    abandon_message: str
    sim_agent_ids: tuple[int, ...]


class CampaignRunner:
    """One run of one campaign's orchestrator, from start (or resume) to stop (or idle)."""

    def __init__(self, engine: Engine, campaign: _CampaignSnapshot, report: CampaignReport) -> None:
        self.engine, self.campaign, self.report = engine, campaign, report
        self.task: asyncio.Task[bool] | None = None
        self.orchestrator: orchestrator.Orchestrator | None = None
        self.workforce: Any = None
        self._history_saved = 0
        self._is_stopping = False

    @property
    def is_stopping(self) -> bool:
        """Stopped or paused: no new call, no new agent."""
        return self._is_stopping

    def stop(self, *, logout: bool) -> None:
        """Place no new call (paused); with ``logout`` also end the agents' sessions (stopped)."""
        if self.orchestrator is None:
            return
        self._is_stopping = True
        self.orchestrator.stop_dialing()
        if logout:
            if self.workforce is not None:
                self.workforce.stop()
            for agent_id in self.campaign.sim_agent_ids:
                self.orchestrator.logout(agent_id)

    async def run(self) -> bool:
        """Run until stopped; True when the campaign ran out of work (``is_until_idle``)."""
        engine, campaign = self.engine, self.campaign
        assert engine.recorder is not None and engine.database is not None
        abandon_media = campaign.abandon_message or "abandon-message"
        line = engine.recorder.line(campaign.id, abandon_media=abandon_media)
        history = await engine.database.call(self._abandon_history_30d, key=campaign.id)
        orch = self.orchestrator = self._orchestrator(line, abandon_media, history)
        self.report.runs += 1
        self._staff(orch)
        desk = engine.desk
        assert desk is not None
        desk.campaign_started(campaign.id, orch)
        running = asyncio.create_task(orch.run(), name=f"orchestrator-{campaign.id}")
        is_idle = False
        try:
            while not running.done():
                await asyncio.wait([running], timeout=engine.options.idle_poll_s * 4)
                await self._save_history()
                if (engine.options.is_until_idle and not self._is_stopping
                        and not running.done() and await self._has_run_out(line)):
                    is_idle = True
                    self.stop(logout=False)
            await running
        finally:
            if not running.done():
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)
            if self.workforce is not None:
                self.workforce.stop()
            await desk.campaign_ended(campaign.id, orch)
            await self._save_history()
            await line.close()
            self._count(orch)
            await engine.database.drain()  # the run is over once its calls are written
        return is_idle

    async def _has_run_out(self, line: recording.CampaignLine) -> bool:
        engine = self.engine
        assert engine.recorder is not None and engine.database is not None
        remaining = await engine.database.call(
            lambda s: engine_queries.remaining_work(s, self.campaign.id))
        return remaining == 0 and not engine.recorder.awaiting_agent

    def _abandon_history_30d(self, session: Any) -> tuple[int, int]:
        """Live answers and abandons of the last 30 days, so pacing keeps the 30-day cap
        across engine restarts (B15)."""
        from campaigns.store import compliance

        now = self.engine.clock.now()
        counts = compliance.abandonment_counts(session, self.campaign.id,
                                               now - dt.timedelta(days=30), now)
        return counts.live_answers, counts.abandoned

    def _orchestrator(self, line: recording.CampaignLine, abandon_media: str,
                      history_30d: tuple[int, int] = (0, 0)) -> orchestrator.Orchestrator:
        engine, campaign = self.engine, self.campaign
        assert engine.desk is not None and engine.recorder is not None
        mode = campaign.mode
        params = pacing.PacingParams(mode=mode, abandon_cap=campaign.abandon_cap,
                                     amd_fp_estimate=campaign.amd_fp)
        settings = orchestrator.OrchestratorSettings(
            campaign_id=campaign.id, tick_s=engine.options.tick_s,
            ring_timeout_s=campaign.ring_timeout_s, is_amd=campaign.is_amd,
            caller_id=campaign.caller_id, abandon_media=abandon_media)
        board = agents.AgentBoard(agents.WrapPolicy(limit_s=engine.options.wrap_limit_s))
        hopper = db_hopper.DbHopper(
            engine.database, campaign.id, engine_id=engine.options.engine_id,
            now=engine.clock.now, rules=engine.rules, lease=engine.options.lease,
            owner_ids=lambda: [s.agent_id for s in board if s.state is agents.AgentState.READY],
            # preview: the recorder hears of an offer's attempt when the agent dials it
            on_dialled=(engine.desk.note_claimed if mode is DialingMode.PREVIEW
                        else engine.recorder.note_dialled))
        sim_desk = self._simulated_desk() if campaign.sim_agent_ids else None
        desk = engine.desk.desk_for(campaign.id, sim_desk, campaign.sim_agent_ids)
        desk.orchestrator = orchestrator.Orchestrator(
            engine.clock, line, hopper, pacing_params=params, settings=settings, board=board,
            desk=desk, history_30d=history_30d)
        return desk.orchestrator

    def _simulated_desk(self) -> wrapup.SimulatedDesk:
        from telephony import sim

        engine = self.engine
        section = engine.settings.telephony.sim
        profile = sim.WorkforceProfile(agents=sim.Schedule.constant(len(self.campaign.sim_agent_ids)),
                                       wrap=sim.Distribution.of(section.wrap_mean_s, section.wrap_cv))
        self.workforce = sim.SimulatedWorkforce(engine.clock, profile,
                                                seed=engine.options.seed + self.campaign.id)
        ids = self.campaign.sim_agent_ids
        local = {user_id: index + 1 for index, user_id in enumerate(ids)}
        return wrapup.SimulatedDesk(
            engine.recorder, engine.database, now=engine.clock.now,
            rng=random.Random(f"desk/{engine.options.seed}/{self.campaign.id}"),
            distribution=engine.options.sim_dispositions,
            callback_delay=engine.options.sim_callback_delay, workforce=self.workforce,
            to_workforce=lambda agent_id: local.get(agent_id, agent_id))

    def _staff(self, orch: orchestrator.Orchestrator) -> None:
        if self.workforce is not None:
            self.workforce.start(_Console(orch, self.campaign.sim_agent_ids))

    async def _save_history(self) -> None:
        orch = self.orchestrator
        if orch is None or len(orch.board.history) <= self._history_saved:
            return
        fresh = orch.board.history[self._history_saved:]
        self._history_saved += len(fresh)
        rows = [(c.agent_id, c.state.value, c.reason, c.at) for c in fresh]
        assert self.engine.database is not None
        self.engine.database.submit(
            lambda s: engine_queries.record_agent_changes(s, self.campaign.id, rows))

    def _count(self, orch: orchestrator.Orchestrator) -> None:
        m, r = orch.metrics, self.report
        r.dials += m.dials
        r.answered += m.answered
        r.connected += m.connected
        r.abandoned += m.abandoned
        r.not_placed += m.not_placed


class _Console:
    """The simulated workforce's agents 1..N, as the campaign's agent user ids."""

    def __init__(self, orch: orchestrator.Orchestrator, user_ids: tuple[int, ...]) -> None:
        self.orch, self.user_ids = orch, user_ids

    def _id(self, local: int) -> int:
        return self.user_ids[local - 1]

    def login(self, agent_id: int) -> None:
        self.orch.login(self._id(agent_id))

    def logout(self, agent_id: int) -> None:
        self.orch.logout(self._id(agent_id))

    def pause(self, agent_id: int, reason: str) -> None:
        self.orch.pause(self._id(agent_id), reason)

    def resume(self, agent_id: int) -> None:
        self.orch.resume(self._id(agent_id))

    def finish_wrap(self, agent_id: int) -> None:
        self.orch.finish_wrap(self._id(agent_id))
