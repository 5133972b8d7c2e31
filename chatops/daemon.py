"""`chatops daemon`: the scheduler, its catch-up after downtime, signals and a clean stop.

One daemon per data directory (an `flock` on `daemon.lock`; the kernel drops it if the process dies,
so a crash never leaves a stale lock). SIGTERM / SIGINT stop it within `STOP_GRACE` seconds: no new
job starts, running jobs get the grace period to finish, and every write they make is atomic (temp
file + rename, or the ledger's append protocol), so stopping mid-job never leaves half a file.
"""
from __future__ import annotations

import errno
import fcntl
import gc
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler

from chatops.config import LoadedConfig
from chatops.event_loop import EventLoop
from chatops.logs import configure as configure_logging
from chatops.services import Services, Wiring
from jobs.audit import StartRefused, start_ledgers
from chatops.slack.mode import Mode, SlackModeError, select_mode
from chatops.slack.mode import describe as describe_mode
from jobs import killswitch
from jobs.compose import build_context
from jobs.actors import DAEMON
from jobs.errors import ChatopsError
from jobs.delivery_mode import record_delivery
from jobs.outbox import OutboxNotifier
from jobs.schedule import JobRunner, built_bodies, schedule_lines, scheduled_specs, trigger_for
from jobs import data_access
from store.access import Policy, make_dirs, prepare_data_dir
from store.files import open_creating

log = logging.getLogger("chatops.daemon")

STOP_GRACE = 4.0      # seconds from SIGTERM / SIGINT to exit, everything included
JOB_GRACE = 1.0       # of which the services leave at least this to the running scheduled jobs
HEALTH_EVERY = 60     # seconds between looks at the services' health
LOCK_NAME = "daemon.lock"


class AlreadyRunning(ChatopsError):
    """Another daemon holds this data directory's lock; the message names its pid and the fix (exit 1,
    one line on stderr through the CLI's one error mapping)."""


@dataclass
class DaemonLock:
    """Exclusive lock on the data directory, holding the owner's pid for the refusal message."""

    path: Path
    fd: int = -1

    def acquire(self) -> "DaemonLock":
        make_dirs(self.path.parent)
        fd = open_creating(self.path, os.O_RDWR | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(
                f"another chatops daemon (pid {owner}) is already running on {self.path.parent}; "
                f"stop it first (kill -TERM {owner}) or start this one with another --data-dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(fd)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _check_data_dir(ctx) -> None:
    """The doctor's walk of the data directory, off the start-up path (it may hold millions of run files):
    a warning per place looser than the rule, with its fix."""
    warnings = data_access.data_dir_warnings(ctx)
    for line in warnings:
        log.warning("data directory access: %s", line)
    log.info("%s: %s", data_access.describe(ctx),
             f"{len(warnings)} place(s) looser, see the warnings" if warnings else "nothing looser found")


def run_daemon(loaded: LoadedConfig, environ: dict[str, str] | None = None, http_port: int | None = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    log_file = configure_logging(loaded.settings.logging, loaded.data_dir)   # JSON lines, the rotated file
    # APScheduler logs every run of every job at INFO (the inbox poll alone: 3,600 lines an hour); the
    # daemon logs its own schedule, starts, ends and failures, so only its warnings and errors are kept.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
    prepare_data_dir(loaded.data_dir, Policy(loaded.settings.operators_group or None))  # before the lock file
    lock = DaemonLock(loaded.data_dir / LOCK_NAME).acquire()
    try:
        ctx = build_context(loaded.settings, loaded.data_dir)
        try:
            start_ledgers(ctx)  # key permissions, then torn-tail repair or fail closed (docs/ledger.md §6)
        except StartRefused as exc:
            log.error("%s", exc)
            return 1
        from jobs import upgrade   # forward migrations of the state and ledgers, before anything reads them

        try:
            for step in upgrade.upgrade(ctx, DAEMON):
                log.info("upgrade: %s", step.describe())
        except upgrade.NewerSchema as exc:
            log.error("%s; the daemon does not start", exc)
            return 1
        log.info("chatops daemon starting on %s (config %s, pid %d)%s", loaded.data_dir, loaded.path, os.getpid(),
                 f"; log also in {log_file}" if log_file else "")
        try:
            mode = select_mode(environ, http_port)
        except SlackModeError as exc:
            log.error("%s", exc)
            return 2
        log.info("%s", describe_mode(mode, loaded.data_dir, ctx.settings.slack.api_url, http_port))
        # Commands run beside this daemon queue the way it delivers (pending for Slack, or local), even
        # from a shell without the Slack token; this daemon's own notifier follows its mode too.
        record_delivery(loaded.data_dir, local=mode == Mode.LOCAL)
        ctx.notifier = OutboxNotifier(ctx, local=mode == Mode.LOCAL)
        try:   # the outgoing scrub's rules, loaded now and not on the first alert's path (jobs/outgoing.py)
            ctx.outgoing.engine()
        except Exception as exc:   # nothing may leave unscrubbed: a daemon that cannot scrub does not start
            log.error("the outgoing scrub cannot load its rules: %s; fix [scrub] in config.toml (or the rules "
                      "file it names) and start again", exc)
            return 1
        # Only once nothing can stop the start: a daemon that exits early must not leave this walk running
        # while the interpreter shuts down (its log lines would race the exit).
        threading.Thread(target=_check_data_dir, args=(ctx,), name="data-dir-check", daemon=True).start()
        runner = JobRunner(ctx=ctx, bodies=built_bodies())
        stop = threading.Event()

        def on_signal(signum: int, _frame) -> None:
            log.info("%s received: stopping", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

        scheduler = BackgroundScheduler(timezone=ctx.settings.timezone)
        for spec in scheduled_specs(runner.bodies):
            scheduler.add_job(runner.run_now, trigger_for(spec, ctx.settings), args=[spec], id=spec.name,
                              name=spec.name, coalesce=True, max_instances=1, misfire_grace_time=15 * 60)
        # Each area's services (the outgoing queue's workers first, the Slack connection, the credit intake),
        # from the list in chatops/services.py; none is wired here by hand.
        try:
            services = Services.start_all(Wiring(ctx, loaded, mode, environ, http_port, scheduler, EventLoop()))
        except Exception as exc:  # bad token, port in use, Slack unreachable: say so, do not start
            log.error("a service did not start: %s; check the tokens, slack.api_url and the ports", exc)
            return 1
        scheduler.add_job(killswitch.tick, "interval", minutes=1, args=[ctx], id="killswitch",
                          name="killswitch", coalesce=True, max_instances=1)  # reminders, expiry, digest
        for line in schedule_lines(ctx, runner.bodies):
            log.info("schedule: %s", line)
        for plan in runner.catch_up(ctx.now()):
            if plan.run is not None:
                log.info("catch-up: %s missed its run at %s; running it once now", plan.job.name,
                         plan.run.astimezone(ctx.settings.timezone).strftime("%Y-%m-%d %H:%M %Z"))
                scheduler.add_job(runner.run, args=[plan.job, plan.run, "catch-up"], id=f"catch-up-{plan.job.name}")
        # Everything loaded so far (modules, config, the runs index) lives as long as the process: moved
        # out of the collector's sight, so full collections stay short while runs keep coming.
        gc.freeze()
        started = time.monotonic()
        scheduler.start()
        log.info("scheduler running (%d jobs)", len(scheduled_specs(runner.bodies)))
        ticks = 0
        while not stop.wait(timeout=1.0):  # a timeout keeps the main thread responsive to signals
            ticks += 1
            if ticks % HEALTH_EVERY == 0:   # a service that is not well is said in the log, once a minute
                for name, health in services.health().items():
                    if health != "ok":
                        log.warning("service %s: %s", name, health)
        # One budget for the whole stop (Slack, intake, running jobs), so it fits in 5 s whatever hangs.
        deadline = time.monotonic() + STOP_GRACE
        runner.stopping.set()
        scheduler.shutdown(wait=False)
        services.stop(max(0.0, deadline - time.monotonic() - JOB_GRACE))
        if not runner.wait_idle(max(0.0, deadline - time.monotonic())):
            log.warning("a job was still running after %.0f s; its writes are atomic, it will be "
                        "marked interrupted and caught up on the next start", STOP_GRACE)
            lock.release()
            logging.shutdown()
            os._exit(0)  # the job's worker thread would otherwise hold the interpreter open
        log.info("stopped after %.1f s of running", time.monotonic() - started)
        return 0
    finally:
        lock.release()
