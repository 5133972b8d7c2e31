"""Group commit for the daemon's intake: every submitter's runs wait in one queue, one thread records them.

Why: the inbox and every `POST /runs` used to take the recorder in turn, one commit per request, so
orchestrators posting one run at a time got one ledger commit (an fdatasync and a signed checkpoint)
per run: about 330 runs/s on this machine. Here, while one commit is being written, whatever arrives
waits, and the next commit takes all of it (up to `[credits] group_commit_max`). Runs that will raise
an alert go in front of everything waiting, however long the backlog (`_sort`). Each
submitter waits on a `Future` that completes when its last run is recorded.

A commit that fails fails every submission then waiting, with the error: none of them is answered
"recorded" for runs that are not, and each submitter keeps its input (the inbox leaves its files; an
HTTP client gets a 503 and posts again, and runs that did get recorded come back as duplicates).
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field

from jobs.actors import DAEMON, Actor
from jobs.credits.intake.plan import RunPlan, fast_lane
from jobs.credits.intake.recorder import Outcome, Recorder
from jobs.credits.records import RunRecord

log = logging.getLogger("chatops.credits.intake")


class IntakeClosed(RuntimeError):
    """The daemon is stopping: no new runs are taken; the submitter keeps them (inbox file, HTTP 503)."""


@dataclass(eq=False)
class _Submission:
    """One caller's runs: the future completes when every one of them has an outcome."""

    records: list[RunRecord]
    future: Future = field(default_factory=Future)
    outcomes: list[Outcome | None] = field(default_factory=list)
    plans: list[RunPlan | None] = field(default_factory=list)     # each run's plan from its arrival
    left: int = 0

    def __post_init__(self) -> None:
        self.outcomes = [None] * len(self.records)
        self.plans = [None] * len(self.records)
        self.left = len(self.records)

    def done(self, position: int, outcome: Outcome) -> None:
        self.outcomes[position] = outcome
        self.left -= 1
        if self.left == 0 and not self.future.done():
            self.future.set_result([o for o in self.outcomes if o is not None])


Item = tuple[_Submission, int]          # a submission and the position of one of its runs


class IntakeQueue:
    """The one writer of a daemon's runs. `recording` is held during each commit (readers of the
    recorder's runs index, such as the dispatch gate, take it too)."""

    def __init__(self, recorder: Recorder, actor: Actor = DAEMON) -> None:
        self.recorder = recorder
        self.actor = actor
        self.recording = threading.Lock()
        self._changed = threading.Condition()
        self._queue: deque[Item] = deque()
        self._pending: dict[str, int] = {}      # Run_IDs taken and not yet recorded (recording thread only)
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="credits-recorder", daemon=True)
        self._thread.start()

    def submit(self, records: list[RunRecord]) -> Future:
        """Queue runs for recording; the future gives their outcomes in the order given."""
        submission = _Submission(list(records))
        if not records:
            submission.future.set_result([])
            return submission.future
        self.recorder.authorise(self.actor, submission.records)
        with self._changed:
            if self._closing:
                raise IntakeClosed("the daemon is stopping; runs were not taken (submit them again after start)")
            self._queue.extend((submission, k) for k in range(len(records)))
            self._changed.notify()
        return submission.future

    def record(self, records: list[RunRecord]) -> list[Outcome]:
        """Submit and wait: for callers on a thread of their own (the inbox scan)."""
        return self.submit(records).result()

    @property
    def running(self) -> bool:
        """Its recorder thread is alive (the daemon's health of the credit area)."""
        return self._thread.is_alive()

    def close(self, timeout: float = 30.0) -> None:
        """Take nothing more; record what is already queued, then stop the thread."""
        with self._changed:
            self._closing = True
            self._changed.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        front: deque[Item] = deque()       # forecast to raise an alert: recorded first, oldest first
        waiting: deque[Item] = deque()     # the rest, in arrival order
        size = self.recorder.ctx.settings.credits.group_commit_max
        while True:
            with self._changed:
                while not self._queue and not front and not waiting and not self._closing:
                    self._changed.wait()
                arrivals = list(self._queue)
                self._queue.clear()
                if not arrivals and not front and not waiting:
                    return
            taken: list[Item] = []
            try:
                with self.recording:
                    if arrivals:
                        self._sort(arrivals, front, waiting)
                    source = front or waiting
                    taken = [source.popleft() for _ in range(min(size, len(source)))]
                    outcomes = self.recorder.record_batch([s.records[k] for s, k in taken], self.actor,
                                                          [s.plans[k] for s, k in taken])
            except BaseException as exc:   # every waiting submitter is told; the thread goes on
                failed = taken + list(front) + list(waiting) + arrivals   # arrivals: if sorting them failed
                log.exception("recording runs failed; %d waiting runs were refused with the error",
                              len({(id(s), k) for s, k in failed}))
                self._fail_all(failed, exc)
                front, waiting = deque(), deque()
                continue
            for (submission, k), outcome in zip(taken, outcomes):
                submission.done(k, outcome)
                self._forget(submission.records[k].run_id)

    def _sort(self, arrivals: list[Item], front: deque[Item], waiting: deque[Item]) -> None:
        """New runs that will raise an alert go in front of everything waiting, however long the backlog
        (a disk that falls behind must not hold an alert back); the rest join the back of the queue.

        Planned once per run, when it arrives (`Recorder.forecast`); the plan waits with the run and its
        classification is reused by the commit. A run stays in arrival order when its Run_ID, or the run
        it is a rerun of, is still waiting: order could change those outcomes.
        """
        records = [s.records[k] for s, k in arrivals]
        plans = self.recorder.forecast(records)
        alerting = set(fast_lane(plans))
        for position, (item, record) in enumerate(zip(arrivals, records)):
            item[0].plans[item[1]] = plans[position]
            held_back = self._pending.get(record.run_id) or (record.rerun_of and self._pending.get(record.rerun_of))
            (front if position in alerting and not held_back else waiting).append(item)
            self._pending[record.run_id] = self._pending.get(record.run_id, 0) + 1

    def _forget(self, run_id: str) -> None:
        left = self._pending.get(run_id, 0) - 1
        if left > 0:
            self._pending[run_id] = left
        else:
            self._pending.pop(run_id, None)

    def _fail_all(self, taken: list[Item], exc: BaseException) -> None:
        with self._changed:
            failed = taken + list(self._queue)
            self._queue.clear()
        self._pending.clear()
        for submission in {s for s, _ in failed}:
            if not submission.future.done():
                submission.future.set_exception(exc)
