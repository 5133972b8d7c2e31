"""The 05:00 session export (seed 000, issue 22), step by step, and the people's actions on its PR.

A run of date D: collect → scrub the originals in place → clean copies into the export repository →
grade by re-scanning the copies → commit → open or update the day's PR → apply §3's policy → audit log →
notify. Each step's work is safe to redo; once done it is recorded in the operations ledger
(`export.<step>`) and then in the day's record in the store. A run killed anywhere resumes at the first
step not recorded: an original is replaced whole or not at all (the engine's atomic rename), a half-written
working tree is thrown away and written again, a commit or merge already made is found and not repeated.
A step redone after a kill between its ledger entry and its store write is recorded a second time.

Only one run or action at a time per data directory (`exports.lock`); a second is refused as a conflict.
"""
from __future__ import annotations

import fcntl
import os
import tempfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date as Date, datetime
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterator

from jobs.actors import DAEMON, Actor, Permission, Role, Subject, authorize, refuse
from jobs.context import Context
from jobs.errors import Conflict, Invalid, NotFound
from jobs.export import audit_log, messages, policy, service, sources
from jobs.export.incidents import open_incident
from jobs.export.pull_requests import PullRequestProvider, PullRequestState
from jobs.export.records import Disposition, ExportDay, Grading, Mark, SessionFile, Step
from jobs.export.repo import LEDGERS, REPORTS, ExportRepo, export_repo
from jobs.export.scrub import Action, Engine, Grade, build_engine, scrub_file, verify
from jobs.export.scrub.report import grade_of
from store.access import file_mode_in, make_dirs
from store.files import write_file_atomically
from store.outbox import Outbox

LOCK = "exports.lock"
DAY_KIND = "export_day"


@dataclass(frozen=True)
class Event:
    """Where a run is, for a progress bar: a step starting or done, or one session of it done."""

    step: str
    done: int = 0
    total: int = 0
    path: str = ""


Observer = Callable[[Event], None]


@contextmanager
def exclusive(ctx: Context) -> Iterator[None]:
    """One export run or PR action at a time; the lock goes with the process, so a killed run frees it."""
    fd = os.open(ctx.data_dir / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict("another export run or PR action is in progress in this data directory; "
                           "run this again when it has finished (`chatops export status`)") from None
        yield
    finally:
        os.close(fd)


@dataclass
class Run:
    """One invocation's collaborators, built on first use."""

    ctx: Context
    actor: Actor
    observe: Observer = lambda _event: None
    provider_factory: Callable[[Context], PullRequestProvider] | None = None

    @cached_property
    def engine(self) -> Engine:
        return build_engine(self.ctx)

    @cached_property
    def repo(self) -> ExportRepo:
        return export_repo(self.ctx)

    @cached_property
    def provider(self) -> PullRequestProvider:
        if self.provider_factory is not None:
            return self.provider_factory(self.ctx)
        from jobs.export.providers import provider_for

        return provider_for(self.ctx)

    def record(self, kind: str, day: ExportDay, data: dict) -> None:
        """A step's work is done: say so to the observer, then record it in the operations ledger."""
        self.observe(Event(kind))
        self.ctx.ledgers.operations.append(kind, self.actor.ledger_id, _role(self.actor), {"data": {
            "date": day.date, "run": day.runs, **data}})


def _role(actor: Actor) -> str | None:
    return None if actor.is_daemon else actor.role_for(Permission.EXPORT_RUN) or None


# ---- the run ---------------------------------------------------------------------------------------


def parse_date(ctx: Context, text: str | None) -> str:
    """The export date: today (local) by default; a past date for a gap day; never a future one."""
    today = ctx.local(ctx.now()).date()
    if not text:
        return today.isoformat()
    try:
        day = Date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"--date {text!r}: expected YYYY-MM-DD, e.g. {today.isoformat()}") from None
    if day > today:
        raise Invalid(f"--date {text}: after today ({today.isoformat()}); a run exports what exists now, "
                      "so it can be for today or a missed day only")
    return day.isoformat()


def cutoff(ctx: Context, date: str) -> datetime:
    """What a run of `date` may take: files last modified before that day's 05:00 run (a gap day gets
    what its missed run would have), or before now for today's run."""
    day = Date.fromisoformat(date)
    now = ctx.now()
    if day >= ctx.local(now).date():
        return now
    return datetime.combine(day, ctx.settings.schedule.export, tzinfo=ctx.settings.timezone)


def run_export(ctx: Context, actor: Actor, date: str, observe: Observer | None = None,
               provider_factory: Callable[[Context], PullRequestProvider] | None = None) -> ExportDay:
    """Run (or finish an interrupted run of) the export for `date`; the day's record as it ends."""
    authorize(ctx, actor, Permission.EXPORT_RUN, f"export run --date {date}", Subject(DAY_KIND, date))
    run = Run(ctx, actor, observe or (lambda _e: None), provider_factory)
    run.provider     # a host that cannot be reached or built stops the run before anything changes
    with exclusive(ctx):
        remind_overdue(run, date)
        day = service.load_day(ctx, date) or ExportDay(date)
        if day.step in (Step.NONE, Step.FINISHED):
            day = collect(run, day)
        while day.step is not Step.FINISHED:
            run.observe(Event(NEXT[day.step].__name__))
            day = NEXT[day.step](run, day)
        return day


def remind_overdue(run: Run, date: str) -> None:
    """§3: a MEDIUM PR is reviewed before the next day's 05:00 run. A run of a later date finds those still
    waiting and tells chief.staff and the COO once, in the PR's thread and by DM."""
    ctx = run.ctx
    for day in service.all_days(ctx):
        if day.date >= date or day.disposition is not Disposition.REVIEW or day.grading.grade != Grade.MEDIUM \
                or day.overdue_told:
            continue
        late = replace(day, overdue_told=True)
        names = tuple(dict.fromkeys(a.name for role in (Role.CHIEF_STAFF, Role.COO) for a in ctx.people.with_role(role)))
        run.record("export.review_overdue", day, {"pr": day.pr, "grade": day.grading.grade})
        ctx.notifier.send(messages.update(ctx.settings, late, (
            f"PR #{day.pr} ({day.date}, {day.grading.grade}) was not reviewed before the next 05:00 run (seed 000 "
            f"§3's merge window): chief.staff reviews it now (`chatops export merge {day.pr}` or `export hold "
            f"{day.pr} --reason …`); the COO may approve it."), names))
        service.save_day(ctx, late)


def collect(run: Run, day: ExportDay) -> ExportDay:
    ctx = run.ctx
    settings = ctx.settings.export
    found = sources.collect(settings.sources, service.marks(ctx), day.date, ctx.now(), cutoff(ctx, day.date),
                            settings.settle_minutes, exclude=run.repo.path)
    data = {"sessions": len(found.files), "deferred": len(found.deferred), "unchanged": found.unchanged,
            "later": found.later, "matched": found.matched}
    if not found.files:
        run.record("export.collected", day, data)
        if day.pr:      # the day's PR exists already and nothing came since: it stands as it is
            return service.save_day(ctx, day.advanced(Step.FINISHED, runs=day.runs + 1, files=(), marks=(),
                                                      deferred=found.deferred))
        notice = messages.empty(ctx.settings, day.date, len(found.deferred), found.matched, settings.sources)
        if notice.fields["notice_id"] not in Outbox(ctx.data_dir).notice_ids():
            ctx.notifier.send(notice)
        run.record("export.finished", day, {"outcome": "empty", **data})
        return service.save_day(ctx, day.advanced(Step.FINISHED, runs=day.runs + 1, deferred=found.deferred,
                                                  disposition=Disposition.EMPTY, finished_at=ctx.now().isoformat()))
    day = replace(day, runs=day.runs + 1, files=found.files, deferred=found.deferred, marks=(), removed=0,
                  grading=Grading(), commit="", disposition=Disposition.PENDING, rescrubbed=False, hold_reason="",
                  decided_by="", started_at=ctx.now().isoformat(), finished_at="")
    run.record("export.collected", day, data)
    return service.save_day(ctx, day.advanced(Step.COLLECTED))


def scrub_originals(run: Run, day: ExportDay) -> ExportDay:
    """Step 2: each original scrubbed in place, atomically; a file that grows meanwhile is scrubbed again
    from its new bytes (the engine never overwrites newer data)."""
    removed = 0
    problems: list[str] = []
    for index, f in enumerate(day.files, start=1):
        report = scrub_file(Path(f.path), run.engine, in_place=True,
                            on_scanned=lambda f=f: run.observe(Event("scrub_originals.scanned", path=f.path)))
        removed += sum(1 for x in report.findings if x.action is Action.REMOVED)
        problems += [i.render() for i in report.issues if i.error]
        run.observe(Event("scrub_originals", index, len(day.files), f.path))
    run.record("export.scrubbed", day, {"sessions": len(day.files), "removed": removed, "problems": len(problems)})
    return service.save_day(run.ctx, day.advanced(Step.SCRUBBED, removed=removed,
                                                  grading=Grading(problems=tuple(problems))))


def write_copies(run: Run, day: ExportDay) -> ExportDay:
    """Step 3: clean copies into the day's branch of the export repository, with the ledgers' checkpoints."""
    repo = run.repo
    created = repo.ensure()
    repo.prepare(day.branch)
    marks: list[Mark] = []
    problems = list(day.grading.problems)
    for index, f in enumerate(day.files, start=1):
        dest = repo.path / f.dest
        make_dirs(dest.parent)
        report = scrub_file(Path(f.path), run.engine, out_path=dest)
        problems += [i.render() for i in report.issues if i.error]
        if report.output is not None:
            os.chmod(dest, file_mode_in(dest.parent))     # the data directory's policy, not the original's mode
            marks.append(Mark(f.path, report.bytes_in, _mtime_ns(Path(f.path)), day.date))
        run.observe(Event("write_copies", index, len(day.files), f.path))
    for name in ("credit", "operations"):
        checkpoint = _checkpoint(run.ctx, name)
        if checkpoint is not None:
            _write(repo.path / LEDGERS / f"{name}.checkpoint", checkpoint)
    run.record("export.copied", day, {"copies": len(marks), "repository_created": created,
                                      "problems": len(problems)})
    return service.save_day(run.ctx, day.advanced(Step.COPIED, marks=tuple(marks),
                                                  grading=Grading(problems=tuple(problems))))


def grade(run: Run, day: ExportDay) -> ExportDay:
    """Step 4: the independent re-scan of every clean copy of the day, read back from disk."""
    grading = regrade(run, day, day.grading.problems)
    day = day.advanced(Step.GRADED, grading=grading)
    _write(run.repo.path / REPORTS / f"{day.date}.md", messages.report(day).encode())
    run.record("export.graded", day, {"grade": grading.grade, "sessions": grading.sessions, "flags": grading.flags,
                                      "findings": [
        {"rule": k.rpartition(" ")[0], "action": k.rpartition(" ")[2], "count": n} for k, n in sorted(grading.by_rule.items())],
        "credential": grading.credential,
                                      "rules_version": grading.rules_version})
    return service.save_day(run.ctx, day)


def regrade(run: Run, day: ExportDay, problems: tuple[str, ...]) -> Grading:
    copies = run.repo.sessions(day.date)
    reports = verify(copies, run.engine)
    findings = [f for r in reports for f in r.findings]
    issues = [i for r in reports for i in r.issues]
    problems = tuple(problems) + tuple(i.render() for i in issues if i.error)
    if not copies:
        problems += (f"no clean copy of {day.date} in {run.repo.path}",)
    by_rule = Counter(f"{f.rule} {f.action.value}" for f in findings)
    level = Grade.FAIL if problems else grade_of(findings, issues)
    return Grading(grade=level.value, sessions=len(copies), flags=len(findings), by_rule=dict(by_rule),
                   credential=any(f.action in (Action.FOUND, Action.REMOVED) for f in findings),
                   problems=problems, rules_version=run.engine.ruleset.version)


def commit(run: Run, day: ExportDay) -> ExportDay:
    """Step 5a: commit the day's branch; the marks of what it holds are remembered with this step."""
    repo = run.repo
    sha = repo.commit(messages.commit_message(day)) or repo.head(day.branch)
    run.record("export.committed", day, {"branch": day.branch, "commit": sha})
    return service.save_day(run.ctx, day.advanced(Step.COMMITTED, commit=sha), marks=day.marks)


def open_pr(run: Run, day: ExportDay) -> ExportDay:
    """Step 5b: the day's PR, opened or (second run of the day) updated; never a second one."""
    run.provider.push(run.repo.path, day.branch)
    pr = run.provider.open_or_update(day.branch, messages.title(day), messages.pr_body(day))
    run.record("export.pr_opened", day, {"pr": pr.number, "url": pr.url, "branch": day.branch,
                                         "updated": pr.number == day.pr})
    return service.save_day(run.ctx, day.advanced(Step.PR_OPENED, pr=pr.number, pr_url=pr.url))


def decide(run: Run, day: ExportDay) -> ExportDay:
    """Step 6: §3's policy on the grade the PR states (no confidence line: LOW)."""
    ctx = run.ctx
    pr = run.provider.get(day.pr)
    effective = policy.worse(Grade(day.grading.grade), policy.confidence_in(pr.body))
    grading = replace(day.grading, grade=effective.value)
    disposition = policy.disposition_for(grading)
    day = replace(day, grading=grading, disposition=disposition, decided_by=DAEMON.name)
    if disposition is Disposition.AUTO:
        run.provider.merge(day.pr, f"Merge {day.branch}: Scrub confidence HIGH, merged automatically (seed 000 §3)")
        run.provider.comment(day.pr, "Scrub confidence HIGH: merged automatically (seed 000 §3).")
        run.record("export.merged", day, {"pr": day.pr, "grade": effective.value, "merged": "auto"})
    elif disposition is Disposition.REVIEW:
        run.provider.comment(day.pr, f"Scrub confidence {effective.value}: waiting for chief.staff's review.")
        run.record("export.review_requested", day, {"pr": day.pr, "grade": effective.value})
    else:
        if not day.incident:
            day = replace(day, incident=_escalate(ctx, day))
        run.provider.comment(day.pr, f"Scrub confidence {effective.value}: held; merged only after a re-scrub "
                                     f"grades it HIGH or MEDIUM. Incident {day.incident}.")
        run.record("export.held", day, {"pr": day.pr, "grade": effective.value, "incident": day.incident,
                                        "credential": grading.credential, "rotation_flagged": grading.credential})
    return service.save_day(ctx, day.advanced(Step.DECIDED))


def _escalate(ctx: Context, day: ExportDay) -> str:
    """§5: SEV2 for a potential credential or PII in the clean output, SEV3 for a pipeline failure."""
    if day.grading.credential:
        return open_incident(ctx, True, messages.subject(day.pr),
                             f"potential credential exposure in the clean export of {day.date} (PR #{day.pr}); "
                             "code.platform patches the scrub ruleset within 24 h; emergency rotation if active")
    return open_incident(ctx, False, messages.subject(day.pr),
                         f"the session export of {day.date} errored (PR #{day.pr}): "
                         + "; ".join(day.grading.problems[:3]))


def audit(run: Run, day: ExportDay) -> ExportDay:
    """Step 7: the scrub audit log's line (seed 000 §6)."""
    line = audit_log.append(run.ctx, day)
    run.record("export.audited", day, {"line": line or audit_log.audit_line(day)})
    return service.save_day(run.ctx, day.advanced(Step.AUDITED))


def notify(run: Run, day: ExportDay) -> ExportDay:
    """Step 8: the result in the review channel; DMs to the people the policy names. Queued once per run:
    a run killed after queueing it finds it in the outbox by its id."""
    notice = messages.result(run.ctx.settings, day, policy_dms(run.ctx, day))
    if notice.fields["notice_id"] not in Outbox(run.ctx.data_dir).notice_ids():   # not again after a crash
        run.ctx.notifier.send(notice)
    run.record("export.notified", day, {"pr": day.pr, "dm_to": list(policy_dms(run.ctx, day))})
    return service.save_day(run.ctx, day.advanced(Step.NOTIFIED))


def finish(run: Run, day: ExportDay) -> ExportDay:
    run.record("export.finished", day, {"outcome": day.disposition.value, "grade": day.grading.grade, "pr": day.pr})
    return service.save_day(run.ctx, day.advanced(Step.FINISHED, finished_at=run.ctx.now().isoformat()))


NEXT: dict[Step, Callable[[Run, ExportDay], ExportDay]] = {
    Step.COLLECTED: scrub_originals, Step.SCRUBBED: write_copies, Step.COPIED: grade, Step.GRADED: commit,
    Step.COMMITTED: open_pr, Step.PR_OPENED: decide, Step.DECIDED: audit, Step.AUDITED: notify,
    Step.NOTIFIED: finish,
}


def policy_dms(ctx: Context, day: ExportDay) -> tuple[str, ...]:
    """Who the policy tells directly: chief.staff to review; COO and CEO for LOW/FAIL; code.platform to
    patch the rules (credential) or mend the pipeline (FAIL)."""
    roles: list[Role] = []
    if day.disposition is Disposition.REVIEW:
        roles = [Role.CHIEF_STAFF] + ([Role.COO, Role.CEO] if day.grading.grade == Grade.LOW else [])
    elif day.disposition is Disposition.HELD:
        roles = [Role.CHIEF_STAFF, Role.COO, Role.CEO]
        if day.grading.credential or day.grading.problems:
            roles.append(Role.CODE_PLATFORM)
    names = [a.name for role in roles for a in ctx.people.with_role(role)]
    return tuple(dict.fromkeys(names))


# ---- people's actions on the day's PR ----------------------------------------------------------------


def _day_of(ctx: Context, number: int) -> ExportDay:
    day = service.day_of_pr(ctx, number)
    if day is None:
        known = ", ".join(f"#{d.pr} ({d.date})" for d in service.all_days(ctx) if d.pr) or "none yet"
        raise NotFound(f"no export PR #{number} (export PRs: {known}); `chatops export status` lists them")
    if day.step is not Step.FINISHED:
        raise Conflict(f"the export of {day.date} (PR #{number}) is still running or was interrupted at "
                       f"{day.step.value}; finish it first: `chatops export run --date {day.date} --as NAME`")
    return day


def merge_pr(ctx: Context, actor: Actor, number: int) -> ExportDay:
    subject = Subject(messages.SUBJECT_KIND, str(number))
    authorize(ctx, actor, Permission.EXPORT_MERGE, f"export merge {number}", subject)
    run = Run(ctx, actor)
    with exclusive(ctx):
        day = _day_of(ctx, number)
        pr = run.provider.get(number)
        if day.disposition in (Disposition.AUTO, Disposition.MANUAL) and pr.state is PullRequestState.MERGED:
            raise Conflict(f"PR #{number} ({day.date}) is already merged ({day.disposition.merged_word}, "
                           f"by {day.decided_by})")
        effective = policy.worse(Grade(day.grading.grade), policy.confidence_in(pr.body))
        reason = policy.merge_refusal(actor, day, effective)
        if reason is not None:
            raise refuse(ctx, actor, Permission.EXPORT_MERGE, f"export merge {number}", subject, reason,
                         detail={"grade": effective.value})
        run.provider.merge(number, f"Merge {day.branch}: Scrub confidence {effective.value}, merged by {actor.name}")
        run.provider.comment(number, f"Merged by {actor.name} ({actor.role_for(Permission.EXPORT_MERGE)}).")
        day = replace(day, disposition=Disposition.MANUAL, decided_by=actor.name, hold_reason="")   # a merge ends a hold
        ctx.ledgers.operations.append("export.merged", actor.ledger_id, actor.role_for(Permission.EXPORT_MERGE),
                                      {"data": {"date": day.date, "pr": number, "grade": effective.value,
                                                "merged": "manual"}})
        return _after_action(ctx, day, f"PR #{number} ({day.date}, {effective.value}) merged by {actor.name}")


def hold_pr(ctx: Context, actor: Actor, number: int, reason: str) -> ExportDay:
    subject = Subject(messages.SUBJECT_KIND, str(number))
    authorize(ctx, actor, Permission.EXPORT_HOLD, f"export hold {number}", subject)
    if not reason.strip():
        raise Invalid("export hold needs --reason: why the PR must wait")
    run = Run(ctx, actor)
    with exclusive(ctx):
        day = _day_of(ctx, number)
        if day.disposition in (Disposition.AUTO, Disposition.MANUAL):
            raise Conflict(f"PR #{number} ({day.date}) is already merged ({day.disposition.merged_word}); "
                           "a merged export cannot be held")
        run.provider.comment(number, f"Held by {actor.name}: {reason}")
        day = replace(day, disposition=Disposition.HELD, hold_reason=reason, decided_by=actor.name)
        ctx.ledgers.operations.append("export.held", actor.ledger_id, actor.role_for(Permission.EXPORT_HOLD),
                                      {"data": {"date": day.date, "pr": number, "reason": reason}})
        return _after_action(ctx, day, f"PR #{number} ({day.date}) held by {actor.name}: {reason}")


def rescrub_pr(ctx: Context, actor: Actor, number: int, observe: Observer | None = None) -> ExportDay:
    """Scrub the day's originals and clean copies again with the current (patched) rules, regrade, and
    update the PR. A HIGH or MEDIUM result makes a held PR mergeable by chief.staff; it is not merged here."""
    subject = Subject(messages.SUBJECT_KIND, str(number))
    authorize(ctx, actor, Permission.EXPORT_RESCRUB, f"export rescrub {number}", subject)
    run = Run(ctx, actor, observe or (lambda _e: None))
    with exclusive(ctx):
        day = _day_of(ctx, number)
        if day.disposition in (Disposition.AUTO, Disposition.MANUAL):
            raise Conflict(f"PR #{number} ({day.date}) is already merged; nothing to re-scrub")
        before = day.grading.grade
        originals = sorted({m.path for m in service.marks(ctx).values() if m.date == day.date})
        problems: list[str] = []
        for path in originals:
            if Path(path).exists():
                problems += [i.render() for i in scrub_file(Path(path), run.engine, in_place=True).issues if i.error]
        run.repo.prepare(day.branch)
        copies = run.repo.sessions(day.date)
        for index, path in enumerate(copies, start=1):
            problems += [i.render() for i in scrub_file(path, run.engine, in_place=True).issues if i.error]
            run.observe(Event("rescrub", index, len(copies), str(path)))
        grading = regrade(run, day, tuple(problems))
        day = replace(day, grading=grading, rescrubbed=True)
        _write(run.repo.path / REPORTS / f"{day.date}.md", messages.report(day).encode())
        sha = run.repo.commit(f"Re-scrub {day.date} with rules {grading.rules_version}: "
                              f"Scrub confidence {before} -> {grading.grade}") or run.repo.head(day.branch)
        run.provider.push(run.repo.path, day.branch)
        run.provider.open_or_update(day.branch, messages.title(day), messages.pr_body(day))
        level = Grade(grading.grade)
        disposition = Disposition.REVIEW if level in (Grade.HIGH, Grade.MEDIUM) else policy.disposition_for(grading)
        day = replace(day, commit=sha, disposition=disposition, hold_reason="", decided_by=actor.name)
        run.provider.comment(number, f"Re-scrubbed by {actor.name} with rules {grading.rules_version}: "
                                     f"{before} -> {grading.grade}.")
        ctx.ledgers.operations.append("export.rescrubbed", actor.ledger_id, actor.role_for(Permission.EXPORT_RESCRUB),
                                      {"data": {"date": day.date, "pr": number, "grade_before": before,
                                                "grade": grading.grade, "commit": sha,
                                                "rules_version": grading.rules_version}})
        mergeable = disposition is Disposition.REVIEW
        return _after_action(ctx, day, f"PR #{number} ({day.date}) re-scrubbed by {actor.name}: {before} -> "
                                       f"{grading.grade}" + ("; chief.staff may merge it now" if mergeable else
                                                             "; still held"))


def assess_credential(ctx: Context, actor: Actor, number: int, active: bool, note: str) -> ExportDay:
    """Seed 000 §5 on a credential in clean output: security.ops or code.platform says whether it is live.
    Active: emergency rotation is flagged (code.platform and security.ops told to rotate now) and the CEO is
    told it is confirmed active; not active: recorded, the ruleset patch and the re-scrub still follow."""
    subject = Subject(messages.SUBJECT_KIND, str(number))
    action = f"export credential {number}"
    authorize(ctx, actor, Permission.EXPORT_CREDENTIAL, action, subject)
    if not note.strip():
        raise Invalid("export credential needs --note: how it was established (e.g. `key seen in use in the "
                      "provider's audit log`)")
    with exclusive(ctx):
        day = _day_of(ctx, number)
        if not day.grading.credential:
            raise refuse(ctx, actor, Permission.EXPORT_CREDENTIAL, action, subject, Conflict(
                f"PR #{number} ({day.date}, {day.grading.grade}) has no potential credential in its clean output; "
                "nothing to assess"))
        role = actor.role_for(Permission.EXPORT_CREDENTIAL)
        ctx.ledgers.operations.append("export.credential_assessed", actor.ledger_id, role, {"data": {
            "date": day.date, "pr": number, "active": active, "incident": day.incident,
            "rotation_flagged": active}})
        if active:
            rotate = sorted({a.name for r in (Role.CODE_PLATFORM, Role.SECURITY_OPS) for a in ctx.people.with_role(r)})
            ceo = sorted(a.name for a in ctx.people.with_role(Role.CEO))
            ctx.notifier.send(messages.credential_active(day, actor.name, note, rotate, ceo))
        return day


def _after_action(ctx: Context, day: ExportDay, text: str) -> ExportDay:
    service.save_day(ctx, day)
    audit_log.append(ctx, day)
    ctx.notifier.send(messages.update(ctx.settings, day, text, policy_dms(ctx, day)
                                      if day.disposition is not Disposition.MANUAL else ()))
    return day


# ---- dry run ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRun:
    date: str
    files: tuple[SessionFile, ...]
    deferred: tuple[str, ...]
    grading: Grading = field(default_factory=Grading)


def dry_run(ctx: Context, actor: Actor, date: str, observe: Observer | None = None) -> DryRun:
    """What a run would take and how its clean copies would grade: copies in a temporary folder, the
    originals, the store, the ledger and the export repository left untouched."""
    authorize(ctx, actor, Permission.EXPORT_RUN, f"export run --dry-run --date {date}", Subject(DAY_KIND, date))
    run = Run(ctx, actor, observe or (lambda _e: None))
    settings = ctx.settings.export
    found = sources.collect(settings.sources, service.marks(ctx), date, ctx.now(), cutoff(ctx, date),
                            settings.settle_minutes, exclude=run.repo.path)
    if not found.files:
        return DryRun(date, (), found.deferred)
    with tempfile.TemporaryDirectory(prefix="chatops-export-dry-") as tmp:
        problems: list[str] = []
        copies = []
        for index, f in enumerate(found.files, start=1):
            report = scrub_file(Path(f.path), run.engine, out_path=Path(tmp) / f.dest)
            problems += [i.render() for i in report.issues if i.error]
            if report.output:
                copies.append(Path(report.output))
            run.observe(Event("dry_run", index, len(found.files), f.path))
        reports = verify(copies, run.engine)
        findings = [x for r in reports for x in r.findings]
        level = Grade.FAIL if problems else grade_of(findings, [i for r in reports for i in r.issues])
        grading = Grading(level.value, len(copies), len(findings),
                          dict(Counter(f"{x.rule} {x.action.value}" for x in findings)),
                          any(x.action is Action.FOUND for x in findings), tuple(problems),
                          run.engine.ruleset.version)
    return DryRun(date, found.files, found.deferred, grading)


# ---- files ---------------------------------------------------------------------------------------------


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _checkpoint(ctx: Context, name: str) -> bytes | None:
    try:
        return ctx.ledgers.get(name).files.checkpoint.read_bytes()
    except FileNotFoundError:
        return None


def _write(path: Path, data: bytes) -> None:
    make_dirs(path.parent)
    write_file_atomically(path, data, file_mode_in(path.parent))
