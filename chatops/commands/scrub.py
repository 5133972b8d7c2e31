"""`chatops scrub …`: check files for credentials and PII, scrub them, list the rules, learn secrets.

`check` and `rules` read only and are shell-open (the file permissions are the authority); writing
clean copies or scrubbing in place needs `scrub.write`, and `learn` needs `scrub.learn` (checked again
in the domain, jobs/export/scrub/flows.py). Exit codes of `check` and `scrub` follow the grade:
0 HIGH, 1 MEDIUM, 4 LOW, 5 FAIL (2 and 3 stay the CLI's usage and refusal codes), and 6 when nothing
was scanned: a misnamed or empty source must never read as HIGH to the export pipeline (issue 19).
"""
from __future__ import annotations

import sys
from pathlib import Path

from chatops.registry import Arg, Command, Invocation, Reply, UsageError
from jobs.actors import Permission
from jobs.errors import Invalid, NotFound

EXIT_BY_GRADE = {"HIGH": 0, "MEDIUM": 1, "LOW": 4, "FAIL": 5}
PROGRESS_MIN_BYTES = 20_000_000
PROGRESS_MIN_FILES = 50


def _progress_bar(inv: Invocation):
    """Report every ~2% of a long run through the interface's progress line."""
    state = {"last": -1}

    def report(p) -> None:
        if p.stage != "done" or (p.bytes_total < PROGRESS_MIN_BYTES and p.files_total < PROGRESS_MIN_FILES):
            return
        fraction = p.bytes_done / p.bytes_total if p.bytes_total else p.files_done / max(p.files_total, 1)
        step = int(fraction * 50)
        if step == state["last"] and p.files_done != p.files_total:
            return
        state["last"] = step
        bar = "#" * step + "." * (50 - step)
        inv.progress(f"scrub [{bar}] {p.files_done}/{p.files_total} files "
                     f"{p.bytes_done / 1e6:.1f}/{p.bytes_total / 1e6:.1f} MB")
    return report


def _check(inv: Invocation) -> Reply:
    from jobs.export.scrub import build_engine, check_paths, render_report

    engine = build_engine(inv.ctx, inv.args.engine)
    report = check_paths([Path(p) for p in inv.args.paths], engine, progress=_progress_bar(inv))
    return _graded(inv, report, render_report(report))


def _graded(inv: Invocation, report, rendered: str) -> Reply:
    """The report and the exit code of its grade; "nothing scanned" is an error: one sentence on stderr and its
    own code (6, as for anything else not found), never a grade."""
    if report.nothing_scanned:
        raise NotFound(f"chatops {inv.command.name}: {report.nothing_scanned_sentence()}")
    return Reply(rendered, EXIT_BY_GRADE[report.grade.value])


def _scrub(inv: Invocation) -> Reply:
    from jobs.export.scrub import render_report, run_scrub

    if bool(inv.args.out) == bool(inv.args.in_place):
        raise UsageError("chatops scrub PATH… needs exactly one of --out DIR (clean copies) or --in-place")
    report = run_scrub(inv.ctx, inv.actor, [Path(p) for p in inv.args.paths],
                       out_dir=Path(inv.args.out) if inv.args.out else None, in_place=inv.args.in_place,
                       progress=_progress_bar(inv), prefilter=inv.args.engine)
    return _graded(inv, report, render_report(report))


def _rules(inv: Invocation) -> Reply:
    from jobs.export.scrub import build_engine

    engine = build_engine(inv.ctx)
    ruleset = engine.ruleset
    if inv.args.changes:
        return Reply(_changes_text(ruleset))
    lines = [f"scrub rules version {ruleset.version} ({ruleset.source}), {len(ruleset.rules)} rules, "
             f"prefilter {engine.name}:"]
    width = max(len(r.id) for r in ruleset.rules) + 2
    for rule in ruleset.rules:
        lines.append(f"  {rule.id.ljust(width)}{rule.kind.value:<9}{rule.description}  "
                     f"[{_trigger(rule, engine.name == 'hyperscan')}]")
    learned = sum(len(d) for d in engine.policy.learned.by_length.values())
    lines.append(f"  {'known-secret'.ljust(width)}{'secret':<9}learned fingerprints: {learned} "
                 "(add with `chatops scrub learn`)")
    items = len(engine.policy.sensitive_items)
    lines.append(f"  {'sensitive-item-name'.ljust(width)}{'indirect':<9}names of the {items} item(s) in "
                 "config [scrub] sensitive_items")
    lines += ["", *_kept_addresses_text(engine)]
    return Reply("\n".join(lines))


def _trigger(rule, hyperscan: bool) -> str:
    """What wakes the rule in the raw pass (README, "Precise triggers"): its keywords, confirmed by its
    prefilter regex or (Hyperscan) by its whole pattern where it has one, or a regex alone."""
    if not rule.keywords or rule.prefilter and not hyperscan:
        return "regex"
    keywords = ", ".join(rule.keywords)
    if rule.prefilter:
        return f"{keywords}; then its regex"
    if rule.raw_exact and hyperscan:
        return f"{keywords}; then its pattern"
    return keywords


def _kept_addresses_text(engine) -> list[str]:
    """Which addresses the scrub keeps because they are not a person's, so a reviewer can check the list."""
    from jobs.export.scrub.detect import PLACEHOLDER_EMAIL_DOMAINS, SERVICE_EMAIL_DOMAINS, SERVICE_EMAIL_LOCALS

    approved = ", ".join(sorted(engine.policy.approved_emails)) or "none"
    return ["Email addresses kept (not a person's):",
            f"  approved (config [scrub] approved_emails): {approved}",
            "  service and no-reply senders at any domain: " + ", ".join(f"{l}@…" for l in sorted(SERVICE_EMAIL_LOCALS)),
            "  any address at: " + ", ".join(SERVICE_EMAIL_DOMAINS) + " (GitHub/GitLab private commit addresses)",
            "  reserved and placeholder domains: example.com/.org/.net, *.test, *.example, *.invalid, *.localhost, "
            "*.local, " + ", ".join(sorted(PLACEHOLDER_EMAIL_DOMAINS)),
            "Every other address is removed."]


def _changes_text(ruleset) -> str:
    if not ruleset.changes:
        return (f"scrub rules version {ruleset.version} ({ruleset.source}) has no \"changes\" list; add one to "
                "the rules file to review what each version added")
    lines = [f"scrub rules version {ruleset.version} ({ruleset.source}): changes, newest first"]
    for entry in ruleset.changes:
        lines.append(f"\n{entry.version} ({entry.date}): {entry.summary}")
        if entry.added:
            lines.append(f"  added {len(entry.added)}: " + ", ".join(entry.added))
        for change in entry.changed:
            lines.append(f"  changed {change.id}: {change.why}")
    return "\n".join(lines)


def _gap(inv: Invocation) -> Reply:
    from jobs.export.scrub import build_engine
    from jobs.export.scrub.gaps import file_gap

    gap, owners = file_gap(inv.ctx, build_engine(inv.ctx), inv.actor, " ".join(inv.args.description))
    told = ", ".join(owners) if owners else ("nobody: no one holds code.platform in config.toml [people]; "
                                             "add them so gaps reach the ruleset's owner")
    return Reply(f"{gap.gap_id} recorded against ruleset {gap.ruleset} (operations ledger); notified {told}")


def _gaps(inv: Invocation) -> Reply:
    from jobs.export.scrub.gaps import list_gaps

    gaps = list_gaps(inv.ctx, include_closed=inv.args.all)
    if not gaps:
        return Reply("no open scrub ruleset gaps" if not inv.args.all else "no scrub ruleset gaps filed")
    lines = []
    for gap in gaps:
        line = f"{gap.gap_id}  {gap.state.value:<6}  filed {gap.filed_at[:16]} by {gap.filed_by} (ruleset {gap.ruleset}): " \
               f"{gap.description}"
        if gap.closed_at:
            line += f"\n        closed {gap.closed_at[:16]} by {gap.closed_by}: {gap.resolution}"
        lines.append(line)
    return Reply("\n".join(lines))


def _gap_close(inv: Invocation) -> Reply:
    from jobs.export.scrub.gaps import close_gap

    gap = close_gap(inv.ctx, inv.actor, inv.args.gap, " ".join(inv.args.resolution))
    return Reply(f"{gap.gap_id} closed: {gap.resolution}")


def _learn(inv: Invocation) -> Reply:
    from jobs.export.scrub import learn

    values = [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
    new, known = learn(inv.ctx, inv.actor, values, inv.args.item)
    return Reply(f"learned {new} new fingerprint(s) for item {inv.args.item!r} ({known} already known); "
                 "only keyed fingerprints are stored, never the values")


ENGINE = Arg("--engine", "raw-byte prefilter (default from config [scrub] engine)",
             choices=("auto", "hyperscan", "python"))

COMMANDS = [
    Command(("scrub", "check"), "report credentials and PII in files (no change); exit code by grade",
            Permission.SCRUB_CHECK, _check, slack=False, shell_open=True,
            args=(Arg("paths", "files or directories (*.jsonl, *.md, *.txt, … inside)", nargs="+",
                      metavar="PATH", subject="path"), ENGINE),
            description="Scan transcripts and text for credentials and PII and grade them (HIGH, MEDIUM, "
                        "LOW, FAIL) without changing anything. Directories are walked whole, dot-directories "
                        "such as .claude/ included; only .git internals are skipped (and listed). "
                        "Exit code: 0 HIGH, 1 MEDIUM, 4 LOW, 5 FAIL, 6 nothing scanned (no file found, or "
                        "every file empty or unreadable)."),
    Command(("scrub",), "scrub files: clean copies (--out DIR) or in place (--in-place), then verify",
            Permission.SCRUB_WRITE, _scrub, slack=False,
            args=(Arg("paths", "files or directories", nargs="+", metavar="PATH", subject="path"),
                  Arg("--out", "write clean copies under this directory", metavar="DIR"),
                  Arg("--in-place", "rewrite each file atomically (a file that changes meanwhile is re-read)",
                      flag=True), ENGINE),
            description="Remove credentials and PII, writing [REDACTED:<rule>:<hex>] in their place, then "
                        "re-scan the output and grade it. Exit code: 0 HIGH, 1 MEDIUM, 4 LOW, 5 FAIL, "
                        "6 nothing scanned."),
    Command(("scrub", "rules"), "list the scrub rules, the ruleset version and the addresses kept",
            Permission.SCRUB_CHECK, _rules, shell_open=True,
            args=(Arg("--changes", "what each ruleset version added and changed (quarterly review)", flag=True),)),
    Command(("scrub", "gap"), "file a credential format the scrub misses; code.platform is notified",
            Permission.SCRUB_GAP_FILE, _gap, subject_kind="scrub gap", subject_id="new",
            args=(Arg("description", "the format in words (prefix, length, alphabet), never a real value",
                      nargs="+", metavar="TEXT"),),
            description="Seed 000 §5 (scrub ruleset drift): record a format the rules miss in the operations "
                        "ledger and notify code.platform. A description holding a value the scrub would remove "
                        "is refused."),
    Command(("scrub", "gaps"), "list open scrub ruleset gaps (--all: closed ones too)", Permission.SCRUB_GAP_FILE,
            _gaps, subject_kind="scrub gap", subject_id="all", shell_open=True,
            args=(Arg("--all", "include closed gaps", flag=True),)),
    Command(("scrub", "gap", "close"), "close a scrub ruleset gap once the ruleset covers it (code.platform)",
            Permission.SCRUB_GAP_CLOSE, _gap_close,
            args=(Arg("gap", "the gap id, e.g. GAP-3", required=True, metavar="GAP", subject="scrub gap"),
                  Arg("--resolution", "what fixed it, e.g. \"ruleset 2026.12.1 adds acme-api-key\"", required=True,
                      nargs="+", metavar="TEXT"))),
    Command(("scrub", "learn"), "learn known secret values from stdin (stores keyed fingerprints only)",
            Permission.SCRUB_LEARN, _learn, slack=False,
            args=(Arg("--item", "the password-manager item the values come from", required=True, subject="secret"),),
            description="Read secret values, one per line, on standard input (e.g. piped from `op read`) and "
                        "store only their keyed fingerprints; later scrubs remove those exact values."),
]
