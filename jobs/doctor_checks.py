"""The doctor's checks of this machine: key modes, data directory modes, ledgers, disk, clock and zone,
the schedule, the outgoing queue. Each is one function of the registry (`chatops/doctor.py` `CHECKS`)."""
from __future__ import annotations

import shutil
import stat

from jobs import audit, data_access
from jobs.doctor import Probe, Result, Status
from store.keys import KeyFileError, check_key_file
from store.ledger.scan import parse_ts, scan_ledger


def key_modes(probe: Probe) -> Result:
    """The signing key's directory 0700 and its files 0600, owned by this user (docs/ledger.md §10)."""
    key_dir = probe.ctx.ledgers.key_dir
    if not key_dir.exists():
        return Result("keys", Status.WARN, f"no key directory {key_dir}: the ledgers have no signing key yet",
                      "chatops ledger init --as <O3>")
    mode = stat.S_IMODE(key_dir.stat().st_mode)
    if mode & 0o077:
        return Result("keys", Status.FAIL, f"{key_dir} is mode {mode:04o}, open to others",
                      f"chmod 700 {key_dir}")
    files = sorted(p for p in key_dir.iterdir() if p.is_file() or p.is_symlink())
    for path in files:
        try:
            check_key_file(path)
        except KeyFileError as exc:
            return Result("keys", Status.FAIL, str(exc).split(";")[0], str(exc).rpartition("run: ")[2] or
                          f"chmod 600 {path}")
    return Result("keys", Status.OK, f"{key_dir} 0700, {len(files)} file(s) 0600, owned by this user")


def data_dir_modes(probe: Probe) -> Result:
    """The data directory no looser than its rule (operators_group or owner only)."""
    warnings = data_access.data_dir_warnings(probe.ctx)
    if warnings:
        more = f" (and {len(warnings) - 1} more place(s))" if len(warnings) > 1 else ""
        first, _, fix = warnings[0].partition("; ")
        return Result("data directory", Status.WARN, first + more, fix or "see chatops config check")
    return Result("data directory", Status.OK, data_access.describe(probe.ctx))


def ledgers(probe: Probe) -> Result:
    """Both signed ledgers verify with public keys (the code `chatops ledger verify` runs)."""
    try:
        reports = audit.verify_ledgers(probe.ctx.settings, probe.ctx.data_dir, "all", now=probe.ctx.now())
    except audit.LedgerConfigError as exc:
        return Result("ledgers", Status.FAIL, str(exc), "pin [ledger] in config.toml as chatops ledger init printed")
    for spec in audit.SPECS:
        marked = probe.ctx.ledgers.get(spec.name).damage_marked()
        if marked is not None:
            return Result("ledgers", Status.FAIL, f"{spec.name} is marked damaged since {marked.get('found_at')}",
                          f"chatops ledger verify; then chatops ledger reopen --ledger {spec.name} --reason … --as <O3>")
    failed = [(r, f) for r in reports for f in r.findings if f.severity.value == "failure"]
    if failed:
        report, finding = failed[0]
        return Result("ledgers", Status.FAIL, f"{report.ledger}: {finding.message}",
                      "keep every file as it is (evidence), tell an O3; chatops ledger verify shows all")
    counts = ", ".join(f"{r.ledger} {r.entries:,} entries" for r in reports)
    warned = [f.message for r in reports for f in r.findings]
    if warned:
        return Result("ledgers", Status.WARN, f"verify ({counts}) with a warning: {warned[0]}",
                      "chatops ledger verify shows what to do")
    return Result("ledgers", Status.OK, f"verify: {counts}")


def disk(probe: Probe) -> Result:
    """Free space on the data directory's file system against `[ops] min_free_mb` / `min_free_pct`."""
    ops = probe.ctx.settings.ops
    usage = shutil.disk_usage(probe.ctx.data_dir)
    free_mb = usage.free // (1024 * 1024)
    pct = 100.0 * usage.free / usage.total if usage.total else 0.0
    line = f"{free_mb:,} MB free ({pct:.0f}%) on the data directory's disk"
    if free_mb < ops.min_free_mb:
        return Result("disk", Status.FAIL, f"{line}, below [ops] min_free_mb = {ops.min_free_mb:,}",
                      f"free space on {probe.ctx.data_dir}'s disk (old backups, logs) or move data_dir")
    if pct < ops.min_free_pct:
        return Result("disk", Status.WARN, f"{line}, below [ops] min_free_pct = {ops.min_free_pct}%",
                      "free space before the ledgers and run files fill it")
    return Result("disk", Status.OK, line)


def clock_and_zone(probe: Probe) -> Result:
    """The zone every schedule uses, and the clock not behind the last ledger entry it signed (a clock set
    back would date new entries before old ones). Skew against a server is the Slack check's."""
    now = probe.ctx.now()
    local = probe.ctx.local(now)
    zone = f"zone {probe.ctx.settings.timezone.key}: now {local:%Y-%m-%d %H:%M %Z (UTC%z)}"
    for spec in audit.SPECS:
        files = probe.ctx.ledgers.files(spec)
        if not files.jsonl.exists():
            continue
        last = scan_ledger(files.jsonl).last_ts
        if last and parse_ts(last) > now:
            return Result("clock", Status.FAIL, f"{zone}, but the clock is behind the last {spec.name} entry ({last})",
                          "set the clock right (enable NTP: timedatectl set-ntp true / sntp) before recording more")
    return Result("clock", Status.OK, zone)


def schedule(probe: Probe) -> Result:
    """Each scheduled job's next run (local time), as the daemon will run it; jobs not built are named."""
    from jobs.schedule import JOB_SPECS, NOT_BUILT, built_bodies, schedule_lines

    built = built_bodies()
    lines = [" ".join(line.split()[:8]) for line in schedule_lines(probe.ctx, built) if NOT_BUILT not in line]
    missing = [spec.name for spec in JOB_SPECS if spec.name not in built]
    not_built = f"not built (not scheduled): {', '.join(missing)}" if missing else ""
    return Result("schedule", Status.OK, "; ".join([*lines, not_built] if not_built else lines))


def outbox(probe: Probe) -> Result:
    """Nothing parked, no destination failing: what waits to leave the machine."""
    from jobs import outbox_admin

    report = outbox_admin.status(probe.ctx)
    parked = sum(len(d.parked) for d in report)
    failing = [f"{d.destination} failing since {d.failing_since}: {d.last_error}" for d in report if d.failing_since]
    pending = sum(d.pending for d in report)
    if failing:
        return Result("outbox", Status.FAIL, failing[0], "chatops outbox status; check the tokens and the network")
    if parked:
        return Result("outbox", Status.WARN, f"{parked} parked item(s), {pending} pending",
                      "chatops outbox status shows why; chatops outbox retry ITEM --as <O3>")
    return Result("outbox", Status.OK, f"{pending} pending, none parked")


def schema(probe: Probe) -> Result:
    """The state and ledgers at this version's schema (`jobs/upgrade.py`)."""
    from jobs import upgrade

    try:
        steps = upgrade.plan(probe.ctx)
    except upgrade.NewerSchema as exc:
        return Result("schema", Status.FAIL, str(exc).split(";")[0], str(exc).rpartition("; ")[2])
    found = ", ".join(f"{part} {version}" for part, version in upgrade.versions(probe.ctx).items())
    if steps:
        return Result("schema", Status.WARN, f"{len(steps)} migration(s) pending ({found})",
                      "chatops upgrade --as <O3> (the daemon runs them at its next start)")
    return Result("schema", Status.OK, f"up to date ({found})")


def github(probe: Probe) -> Result:
    """The export's GitHub provider, when it is chosen or configured: token valid, repository reachable, may push."""
    export = probe.ctx.settings.export
    if export.provider != "github" and not export.github.repo:
        return Result("github", Status.OK, "not used: the export's PRs are local records ([export] provider = \"local\")")
    from jobs.export.github_provider import check_github

    ok, line = check_github(probe.ctx, probe.environ)
    if ok:
        return Result("github", Status.OK, line.removeprefix("github: "))
    return Result("github", Status.FAIL, line.removeprefix("github: "),
                  "as the line says; then `chatops doctor` again")


def notion(probe: Probe) -> Result:
    """The Notion mirror: a dry run is fine and said so; a live mirror must pass `chatops notion check` with
    nothing parked."""
    from jobs.notion.flows import check_notion

    health = check_notion(probe.ctx, dict(probe.environ))
    if health.ok:
        return Result("notion", Status.OK, "; ".join(line.removeprefix("ok   ").removeprefix("notion: ")
                                                      for line in health.lines))
    problems = [line.removeprefix("FAIL ").removeprefix("notion: ") for line in health.lines
                if not line.startswith("ok ")]
    return Result("notion", Status.FAIL, "; ".join(problems),
                  "`chatops notion check` names each missing or mistyped property and its fix")
