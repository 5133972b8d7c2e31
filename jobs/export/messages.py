"""What the export writes for people: the PR's title and description, the day's report, the commit
message and the notices (review channel and DMs). Findings are named by rule and counted, never quoted.
"""
from __future__ import annotations

from jobs.export.records import Disposition, ExportDay
from jobs.notices import Notice
from jobs.settings import Settings

SUBJECT_KIND = "export_pr"
RESULT = "export.result"
UPDATE = "export.update"


def subject(number: int) -> str:
    """The thread key of a PR's conversation (its replies and buttons act on PR `number`)."""
    return f"EXPORT-PR-{number}"


def title(day: ExportDay) -> str:
    return f"Session export {day.date} ({day.grading.grade})"


def findings_table(day: ExportDay) -> list[str]:
    if not day.grading.by_rule:
        return ["No finding in the clean copies."]
    rows = ["| Rule | Action | Count |", "|---|---|---|"]
    for key, count in sorted(day.grading.by_rule.items()):
        rule, _, action = key.rpartition(" ")
        rows.append(f"| {rule} | {action} | {count} |")
    return rows


def counts(day: ExportDay) -> list[str]:
    g = day.grading
    return [f"- Sessions exported: {g.sessions} (this run: {len(day.files)} new or grown; "
            f"{len(day.deferred)} still live, deferred to the next run)",
            f"- Values removed from the originals this run: {day.removed}",
            f"- Flags left in the clean copies: {g.flags}",
            f"- Ruleset version: {g.rules_version}"]


def pr_body(day: ExportDay) -> str:
    lines = [f"Daily session export for {day.date}: scrubbed transcripts, the run's report and the ledgers' "
             "signed checkpoints.", "", f"Scrub confidence: {day.grading.grade}", "", *counts(day), "",
             "Findings (re-scan of the clean copies):", "", *findings_table(day)]
    if day.grading.problems:
        lines += ["", "Pipeline errors:", *(f"- {p}" for p in day.grading.problems)]
    return "\n".join(lines) + "\n"


def report(day: ExportDay) -> str:
    """`reports/<date>.md` in the export repository."""
    lines = [f"# Session export {day.date}", "", f"Scrub confidence: {day.grading.grade}", "", *counts(day), "",
             "## Findings by rule", "", *findings_table(day)]
    if day.deferred:
        lines += ["", "## Deferred (modified within settle_minutes)", *(f"- {p}" for p in day.deferred)]
    if day.grading.problems:
        lines += ["", "## Pipeline errors", *(f"- {p}" for p in day.grading.problems)]
    return "\n".join(lines) + "\n"


def commit_message(day: ExportDay) -> str:
    return (f"Export {day.date}: {len(day.files)} session file(s) new or grown, {day.grading.sessions} for the day, "
            f"Scrub confidence: {day.grading.grade}, {day.grading.flags} flag(s), rules {day.grading.rules_version}")


def buttons(day: ExportDay) -> list[dict[str, str]]:
    """What the result message offers: merge and hold while the PR waits; the gate decides who may."""
    if day.disposition not in (Disposition.REVIEW, Disposition.HELD):
        return []
    target = str(day.pr)
    return [{"label": "Merge", "command": "export merge", "target": target, "style": "primary"},
            {"label": "Hold", "command": "export hold", "target": target, "needs": "reason", "style": "danger"}]


def required(day: ExportDay) -> list[str]:
    d, g = day.disposition, day.grading
    if d is Disposition.AUTO:
        return ["chief.staff may spot-check weekly"]
    if d is Disposition.REVIEW and g.grade == "LOW":
        return ["chief.staff reviews the indirect exposure (§4) before merging: "
                f"`chatops export merge {day.pr} --as NAME` or `export hold {day.pr} --reason …`",
                "CEO notified (LOW)"]
    if d is Disposition.REVIEW:
        return [f"chief.staff reviews before the next 05:00 run: `chatops export merge {day.pr} --as NAME`",
                "COO approval available when chief.staff is uncertain (the COO may merge a MEDIUM PR)"]
    if d is Disposition.HELD and g.grade in ("LOW", "FAIL"):
        steps = ["held: not merged until a re-scrub grades it HIGH or MEDIUM "
                 f"(`chatops export rescrub {day.pr} --as NAME`)", "COO and CEO notified"]
        if g.credential:
            steps += [f"SEV2 incident {day.incident} (potential credential exposure)",
                      "code.platform patches the scrub ruleset within 24 hours",
                      "if the exposed credential is active: emergency rotation (SOP-OPS-credential-management §7); "
                      "CEO told when confirmed active"]
        elif g.problems:
            steps += [f"SEV3 incident {day.incident} (workflow failure): code.platform diagnoses within the "
                      "business day"]
        return steps
    if d is Disposition.HELD:
        return [f"held by {day.decided_by}: {day.hold_reason}"]
    return []


def result(settings: Settings, day: ExportDay, dm_to: tuple[str, ...]) -> Notice:
    """The run's result in the review channel (grade, counts, PR, who must act), and DMs to those named."""
    g = day.grading
    state = {Disposition.AUTO: "merged automatically", Disposition.REVIEW: "waiting for review",
             Disposition.HELD: "HELD", Disposition.MANUAL: "merged"}.get(day.disposition, day.disposition.value)
    text = "\n".join([
        f"Session export {day.date}: Scrub confidence {g.grade}, PR #{day.pr} {state}",
        f"{g.sessions} session file(s) for the day ({len(day.files)} new or grown, {len(day.deferred)} deferred), "
        f"{g.flags} flag(s), rules {g.rules_version}",
        f"PR: {day.pr_url}",
        *(["Required: " + "; ".join(required(day))] if required(day) else [])])
    return Notice(kind=RESULT, subject=subject(day.pr), subject_kind=SUBJECT_KIND, text=text,
                  channel=settings.export.review_channel, dm_to=dm_to,
                  fields={"notice_id": f"{RESULT}/{day.date}/{day.runs}", "grade": g.grade, "pr": day.pr,
                          "sessions": g.sessions, "flags": g.flags, "required": required(day),
                          "actions": buttons(day)})


def empty(settings: Settings, date: str, deferred: int, matched: int, patterns: tuple[str, ...]) -> Notice:
    """No session to export: its own outcome, never a grade (issue 19: nothing scanned is never HIGH)."""
    if matched == 0:
        why = (f"the sources match no file ({', '.join(patterns)}); check [export] sources in config.toml")
    else:
        why = f"nothing new or grown since the last export ({deferred} still live, deferred)"
    return Notice(kind=RESULT, subject=f"EXPORT-{date}", text=f"Session export {date}: no session exported: {why}. "
                  "No PR opened.", channel=settings.export.review_channel,
                  fields={"notice_id": f"{RESULT}/{date}/empty"})


def update(settings: Settings, day: ExportDay, text: str, dm_to: tuple[str, ...] = ()) -> Notice:
    """A person's action on the PR, said in its thread (never held back by the kill switch)."""
    return Notice(kind=UPDATE, subject=subject(day.pr), subject_kind=SUBJECT_KIND, text=text,
                  channel=settings.export.review_channel, dm_to=dm_to, update_original=True, suppressible=False,
                  fields={"grade": day.grading.grade, "pr": day.pr, "actions": buttons(day)})


def credential_active(day: ExportDay, by: str, note: str, rotate: list[str], ceo: list[str]) -> Notice:
    """Seed 000 §5: a credential in clean output confirmed active: emergency rotation now, and the CEO told."""
    text = (f"Credential in the clean export of {day.date} (PR #{day.pr}) confirmed ACTIVE by {by}: emergency "
            f"rotation now (seed 000 §5). Incident {day.incident or '(none filed)'}. How it was established: {note}\n"
            "code.platform and security.ops: rotate the credential, then patch the scrub ruleset and run "
            f"`chatops export rescrub {day.pr}`.")
    return Notice(kind="export.credential_active", subject=subject(day.pr), subject_kind=SUBJECT_KIND, text=text,
                  dm_to=tuple(dict.fromkeys([*rotate, *ceo])))
