"""The daemon's credit-monitoring work: the inbox watcher, the ACK timer and the loopback HTTP intake.

* every `[credits] inbox_poll_seconds` the inbox `inbox/runs/*.json` is scanned (jobs.credits.intake.sources);
* every minute `check_ack_deadlines` re-notifies overdue SEV0 / SEV1 cases;
* at start, `reconcile` queues the case alerts a crashed recorder left in the ledger only;
* when `CHATOPS_INTAKE_TOKEN` is set and `[credits] intake_port` is not 0, an aiohttp server on
  127.0.0.1 only (never another interface: orchestrators on this machine, nobody else) answers
  `POST /runs` (one run record, or an array of them), `GET /gate/dispatch/<Run_ID>`,
  `GET /gate/rerun/<Scenario_ID>` and the single-id `GET /gate/<id>` (200 allowed, 423 blocked, 404
  unknown id: blocked too; jobs.credits.gates), each with `Authorization: Bearer <token>` compared in
  constant time.

The inbox and HTTP submit to one `IntakeQueue` (group commit: whatever arrives while a commit is
being written goes into the next one, alerting runs first). Its thread is the only writer of runs, so
recording never runs on the event loop (it fsyncs), and the gate reads the runs index under the queue's
`recording` lock. The run files are made durable just after each commit, many at once
(`WriteBehindFileWriter`); at start, before anything is taken, files a crash lost are rewritten from
the ledger (`restore_run_files`).
"""
from __future__ import annotations

import asyncio
import hmac
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import orjson
from aiohttp import web

from chatops.event_loop import EventLoop
from jobs.context import Context
from jobs.credits import gates
from jobs.credits.intake.file_writers import WriteBehindFileWriter
from jobs.credits.intake.recorder import Recorder
from jobs.credits.intake.sources import parse_records, reject, scan_inbox
from jobs.credits.intake.group_commit import IntakeClosed, IntakeQueue
from jobs.credits.records import GateDecision
from jobs.credits.intake.reconcile import queue_lost_alerts
from jobs.credits.intake.restore_files import restore_run_files
from jobs.credits.intake.schema import MAX_RECORD_BYTES, RunRecordInvalid
from jobs.credits.cases.timers import check_ack_deadlines

if TYPE_CHECKING:
    from chatops.services import Wiring

log = logging.getLogger("chatops.credits")

TOKEN_ENV = "CHATOPS_INTAKE_TOKEN"
LOOPBACK = "127.0.0.1"
MAX_BODY = MAX_RECORD_BYTES * 1000


@dataclass
class CreditsService:
    ctx: Context
    scheduler: Any = None           # the daemon's scheduler, for the inbox watcher and the ACK timer
    loop: EventLoop | None = None   # the daemon's event loop, for the HTTP intake
    token: str | None = None        # CHATOPS_INTAKE_TOKEN: the loopback HTTP intake runs only with it
    intake: IntakeQueue = field(init=False)
    _stop_http: Callable[[], None] | None = None
    name: str = "credits"

    def __post_init__(self) -> None:
        self.intake = IntakeQueue(Recorder(self.ctx, WriteBehindFileWriter(self.ctx.data_dir, self.ctx.now)))

    def scan_inbox(self) -> None:
        try:
            result = scan_inbox(self.ctx, self.intake.record)
        except IntakeClosed:
            return       # stopping: the files stay in the inbox for the next start
        if result.recorded or result.rejected:
            log.info("inbox: %d runs recorded, %d rejected (kept in inbox/rejected/)", len(result.recorded),
                     len(result.rejected))

    def check_ack(self) -> None:
        check_ack_deadlines(self.ctx, self.ctx.now())

    def gate(self, question: str, subject: str) -> GateDecision:
        """`question` is "dispatch" (a run), "rerun" (a scenario) or "" (the single-id form)."""
        ask = {"dispatch": gates.run_gate, "rerun": gates.rerun_gate, "": gates.dispatch_gate}[question]
        recorder = self.intake.recorder
        with self.intake.recording:
            recorder.index.refresh()
            return ask(self.ctx, subject, recorder.index)

    def reconcile(self) -> None:
        """Run files a crash lost, rewritten from the ledger; alerts a crashed recorder committed to the
        ledger but never queued: queued now, once."""
        try:
            restore_run_files(self.ctx)
        except Exception:   # monitoring must still start; `ledger verify --artifacts` names what is missing
            log.exception("start-up check of the run files recorded since the last sync failed; run "
                          "`chatops ledger verify --artifacts 7` to see which files differ from the ledger")
        try:
            found = queue_lost_alerts(self.ctx)
        except Exception:   # monitoring must still start; the log names what could not be reconciled
            log.exception("start-up reconciliation of lost cases and case alerts failed; compare the credit "
                          "ledger's case.opened and alert.queued entries with `chatops case list --all` and %s "
                          "to see what may be missing", self.ctx.data_dir / "outbox.jsonl")
            return
        if found.restored:
            log.warning("start-up reconciliation: %d case(s) were in the ledger but not in the state; restored "
                        "from the ledger: %s", len(found.restored), ", ".join(found.restored))
        if found.alerts:
            log.warning("start-up reconciliation: %d case alert(s) were in the ledger but not in the outbox; "
                        "queued now: %s", len(found.alerts), ", ".join(found.alerts))

    def health(self) -> str:
        return "ok" if self.intake.running else "the credit recorder has stopped; restart the daemon"

    def start(self) -> None:
        scheduler, token = self.scheduler, self.token
        self.reconcile()
        self.intake.recorder.writer.start()
        policy = self.ctx.settings.credits
        scheduler.add_job(self.scan_inbox, "interval", seconds=policy.inbox_poll_seconds, id="credits-inbox",
                          name="credits-inbox", coalesce=True, max_instances=1)
        scheduler.add_job(self.check_ack, "interval", minutes=1, id="credits-ack", name="credits-ack",
                          coalesce=True, max_instances=1)
        if token and policy.intake_port:
            try:
                self._stop_http = serve(self, token, policy.intake_port, self.loop)
            except OSError as exc:
                log.error("%s", exc)
                return
            log.info("credit intake listening on http://%s:%d (POST /runs, GET /gate/dispatch/<run>, "
                     "GET /gate/rerun/<scenario>)", LOOPBACK,
                     policy.intake_port)
        elif policy.intake_port:
            log.info("credit intake over HTTP is off: set %s to turn it on (inbox %s still works)", TOKEN_ENV,
                     self.ctx.data_dir / "inbox" / "runs")

    def stop(self, timeout: float = 5.0) -> None:
        """HTTP first (no new requests), then the queue records what it holds and stops."""
        if self._stop_http is not None:
            self._stop_http()
        self.intake.close(timeout)
        self.intake.recorder.writer.close()


def services(wiring: "Wiring") -> list[CreditsService]:
    """The credit area's contribution to the daemon: inbox watcher, ACK timer, loopback intake (seed 001)."""
    return [CreditsService(wiring.ctx, wiring.scheduler, wiring.loop, wiring.environ.get(TOKEN_ENV))]


def build_app(service: CreditsService, token: str, executor: ThreadPoolExecutor) -> web.Application:
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def authorised(request: web.Request, handler):
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return web.json_response({"error": f"missing or wrong bearer token (the value of {TOKEN_ENV})"},
                                     status=401)
        return await handler(request)

    async def post_runs(request: web.Request) -> web.Response:
        body = await request.read()
        loop = asyncio.get_running_loop()
        try:
            records = parse_records(body, "POST /runs")
            outcomes = [o.to_json() for o in await asyncio.wrap_future(service.intake.submit(records))]
        except IntakeClosed as exc:
            return web.json_response({"error": str(exc)}, status=503, headers={"Retry-After": "5"})
        except RunRecordInvalid as exc:
            now = service.ctx.now()
            kept = await loop.run_in_executor(executor, reject, service.ctx,
                                              f"http-{now.strftime('%Y%m%dT%H%M%S%fZ')}.json", body, str(exc), now)
            return web.json_response({"error": "run record rejected", "errors": exc.errors,
                                      "kept": str(kept.relative_to(service.ctx.data_dir))}, status=422)
        except Exception as exc:    # the commit failed (disk full, ledger damaged): nothing is claimed
            log.error("POST /runs: recording failed: %s", exc)
            return web.json_response({"error": f"recording failed: {exc}; post the same body again later "
                                               "(runs recorded before the failure come back as duplicates)"},
                                     status=503, headers={"Retry-After": "5"})
        status = 200 if all(o["recorded"] for o in outcomes) else 409
        return web.Response(body=orjson.dumps({"outcomes": outcomes}), status=status, content_type="application/json")

    def gate_handler(question: str):
        async def get_gate(request: web.Request) -> web.Response:
            decision = await asyncio.get_running_loop().run_in_executor(
                executor, service.gate, question, request.match_info["subject"])
            status = 200 if decision.allowed else (423 if decision.known else 404)
            return web.Response(body=orjson.dumps(decision.to_json()), status=status, content_type="application/json")
        return get_gate

    app = web.Application(middlewares=[authorised], client_max_size=MAX_BODY)
    app.add_routes([web.post("/runs", post_runs), web.get("/gate/dispatch/{subject}", gate_handler("dispatch")),
                    web.get("/gate/rerun/{subject}", gate_handler("rerun")), web.get("/gate/{subject}", gate_handler(""))])
    return app


def serve(service: CreditsService, token: str, port: int, loop: EventLoop) -> Callable[[], None]:
    """Start the intake on 127.0.0.1:`port` on the daemon's event loop; returns the function that stops it."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="credits-intake")

    async def start() -> web.AppRunner:
        runner = web.AppRunner(build_app(service, token, executor), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, LOOPBACK, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        return runner

    try:
        runner = loop.run(start(), 10.0)
    except OSError as exc:
        executor.shutdown(wait=False)
        raise OSError(f"credit intake cannot listen on {LOOPBACK}:{port}: {exc}; set [credits] "
                      f"intake_port to a free port, or 0 to turn the HTTP intake off") from None

    def stop() -> None:
        try:
            loop.run(runner.cleanup(), 5.0)
        finally:
            executor.shutdown(wait=False)

    return stop
