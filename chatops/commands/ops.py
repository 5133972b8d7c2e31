"""Running it for real (issue 26): `doctor`, `backup`, `restore`, `upgrade`, `service install|uninstall|status`.

`doctor` reads only (shell-open; O1+ from Slack) and exits by its worst check: 0 OK, 1 WARN, 2 FAIL.
"""
from __future__ import annotations

import os

from chatops.registry import Arg, Command, Invocation, Reply
from jobs.actors import Permission


def _doctor(inv: Invocation) -> Reply:
    from chatops.config import ConfigError
    from chatops.doctor import diagnose
    from jobs.doctor import Result, Status, worst

    try:
        loaded = inv.config()
    except ConfigError as exc:
        failed = Result("config", Status.FAIL, str(exc), "correct the key it names; chatops config check shows the rest")
        return Reply(f"{failed.text()}\nthe other checks were not run: they need a valid config", Status.FAIL.exit_code)
    results = diagnose(loaded, dict(os.environ))
    status = worst(results)
    summary = f"doctor: {status.value} ({sum(r.status is not Status.OK for r in results)} of {len(results)} checks " \
              f"need attention)" if status is not Status.OK else f"doctor: OK ({len(results)} checks)"
    if inv.args.json:
        import json

        return Reply(json.dumps({"status": status.value, "checks": [
            {"check": r.check, "status": r.status.value, "line": r.line, "fix": r.fix} for r in results]}, indent=1),
            status.exit_code)
    return Reply("\n".join([*(r.text() for r in results), summary]), status.exit_code)


def _backup(inv: Invocation) -> Reply:
    from pathlib import Path

    from jobs import backup

    made = backup.backup(inv.ctx, inv.actor, Path(inv.args.dir), inv.args.include_keys)
    ledgers = ", ".join(f"{name} {size:,}" for name, size in made.ledgers.items())
    keys = "with the signing key: keep it as safe as the key itself" if made.include_keys else \
        "without the signing key (--include-keys adds it)"
    return Reply(f"backup {made.path}: {made.files:,} files, ledgers {ledgers} entries, {keys}; "
                 f"manifest SHA-256 {made.manifest_sha256[:16]}…; restore with chatops restore {made.path} --as <O3>")


def _restore(inv: Invocation) -> Reply:
    from pathlib import Path

    from jobs import backup

    done = backup.restore(inv.ctx, inv.actor, Path(inv.args.dir), " ".join(inv.args.reason or []))
    ledgers = ", ".join(f"{name} {size:,}" for name, size in done.ledgers.items())
    note = f"\nnote: {done.trust_note}" if done.trust_note else ""
    return Reply(f"restored {done.path} from {inv.args.dir}: {done.files:,} files verified, ledgers {ledgers} entries "
                 f"verified; the data directory as it was is kept at {done.previous} (delete it once satisfied)"
                 f"{note}")


def _upgrade(inv: Invocation) -> Reply:
    from jobs import upgrade

    if inv.args.check:
        steps = upgrade.plan(inv.ctx)
        if not steps:
            return Reply(f"schema: up to date ({_versions(upgrade.versions(inv.ctx))})")
        return Reply("\n".join([f"{len(steps)} migration(s) pending (chatops upgrade --as <O3> runs them; the "
                                f"daemon runs them at start):", *(f"  {s.describe()}" for s in steps)]), 1)
    steps = upgrade.upgrade(inv.ctx, inv.actor)
    if not steps:
        return Reply(f"nothing to upgrade: {_versions(upgrade.versions(inv.ctx))}")
    return Reply("\n".join([*(f"upgraded {s.describe()}" for s in steps),
                            f"now: {_versions(upgrade.versions(inv.ctx))}"]))


def _where(inv: Invocation):
    from chatops import service

    platform = service.Platform(inv.args.platform) if inv.args.platform else service.this_platform()
    return service, service.layout(platform, inv.args.name, os.environ, inv.args.root)


def _service_install(inv: Invocation) -> Reply:
    service, where = _where(inv)
    done = service.install(where, inv.config().path, os.environ, start=not inv.args.no_start)
    names = ", ".join(done.variables) or "none (set SLACK_BOT_TOKEN etc. and install again, or edit it)"
    return Reply("\n".join([f"wrote {where.unit}", f"wrote {where.env_file} (0600): {names}",
                            f"logs: {where.log}", f"start: {done.started}"]))


def _service_uninstall(inv: Invocation) -> Reply:
    service, where = _where(inv)
    removed = service.uninstall(where, stop=not inv.args.no_stop)
    return Reply("removed " + ", ".join(map(str, removed)) if removed else f"nothing installed at {where.unit}")


def _service_status(inv: Invocation) -> Reply:
    service, where = _where(inv)
    return Reply("\n".join(service.status_lines(where)))


def _versions(found: dict[str, int]) -> str:
    return ", ".join(f"{part} {version}" for part, version in found.items())


_SERVICE_ARGS = (
    Arg("--name", "service name (several installations side by side)", default="chatops", metavar="NAME"),
    Arg("--platform", "render for this platform instead of this machine's", choices=("linux", "macos")),
    Arg("--root", "use DIR as the home directory (staging or packaging, like DESTDIR)", metavar="DIR"),
)


COMMANDS = [
    Command(("doctor",), "check this installation: config, tokens, scopes, channels, keys, ledgers, disk, clock",
            Permission.OPS_DOCTOR, _doctor, shell_open=True,
            args=(Arg("--json", "print the checks as JSON", flag=True),),
            description="One line per check (OK, WARN or FAIL) with the fix for each problem. Exit code by the "
                        "worst: 0 OK, 1 WARN, 2 FAIL.",
            example='doctor --json'),
    Command(("backup",), "consistent snapshot of the data directory into DIR, with a manifest of hashes (O3)",
            Permission.OPS_BACKUP, _backup, slack=False, args=(
                Arg("dir", "a new directory outside the data directory", required=True, metavar="DIR",
                    subject="backup"),
                Arg("--include-keys", "also copy the ledger signing key (keep the backup as safe as the key)",
                    flag=True)),
            description="Copy the data directory while holding the state, ledger, outbox and intake locks, so "
                        "it holds whole commits only; MANIFEST.json lists every file's SHA-256. Recorded in the "
                        "operations ledger.",
            example='backup /srv/backups/chatops-2026-12-05 --as ana'),
    Command(("restore",), "verify a backup (hashes, ledger proofs), then swap it in for the data directory (O3)",
            Permission.OPS_RESTORE, _restore, slack=False, args=(
                Arg("dir", "a directory made by chatops backup", required=True, metavar="DIR", subject="backup"),
                Arg("--reason", "why, when the backup is older than what witnesses cosigned", nargs="+",
                    metavar="TEXT")),
            description="Checks every file against the manifest and verifies the ledgers before anything is "
                        "replaced; refuses a backup older than a checkpoint witnesses cosigned unless --reason "
                        "says why. The daemon must be stopped. The previous data directory is kept beside it.",
            example='restore /srv/backups/chatops-2026-12-05 --as ana'),
    Command(("upgrade",), "migrate the state and ledgers to this version's schema (O3; the daemon does it at start)",
            Permission.OPS_UPGRADE, _upgrade, slack=False, subject_kind="schema", subject_id="data directory",
            args=(Arg("--check", "only list the pending migrations (exit 1 when there are some)", flag=True),),
            description="Runs the forward migrations still pending, in order, each recorded in the operations "
                        "ledger (schema.upgraded). A part written by a newer chatops is refused (exit 7).",
            example='upgrade --check --as ana'),
    Command(("service", "install"), "run the daemon as a user service: systemd on Linux, launchd on macOS (O3)",
            Permission.OPS_SERVICE, _service_install, slack=False, subject_kind="service",
            args=(*_SERVICE_ARGS, Arg("--no-start", "write the files only; do not enable or start it", flag=True)),
            description="Writes the unit (restart on failure, logs in the journal / ~/Library/Logs/chatops) and "
                        "an environment file (0600) with the tokens set in this shell, then enables and starts it.",
            example='service install --as ana'),
    Command(("service", "uninstall"), "stop the user service and remove its unit and environment file (O3)",
            Permission.OPS_SERVICE, _service_uninstall, slack=False, subject_kind="service",
            args=(*_SERVICE_ARGS, Arg("--no-stop", "only remove the files; do not ask the platform to stop it",
                                      flag=True)),
            example='service uninstall --as ana'),
    Command(("service", "status"), "the service's files, the environment file's mode, logs, and what the platform says",
            Permission.OPS_DOCTOR, _service_status, slack=False, shell_open=True, subject_kind="service",
            args=_SERVICE_ARGS,
            example='service status'),
]
