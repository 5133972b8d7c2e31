"""Who may read the data directory: owner and operators' group, quarantine and keys the owner's alone,
whatever the umask; the doctor names anything looser with the command that fixes it."""
from __future__ import annotations

import grp
import os
import stat
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from chatops.config import load_config
from jobs.compose import build_context
from jobs.credits.cases import flows
from jobs.credits.intake.file_writers import DurableFileWriter, WriteBehindFileWriter
from jobs.credits.intake.recorder import Recorder
from jobs.credits.intake.sources import reject
from jobs.credits.records import ReleaseFinding, RootCause
from jobs.credits.intake.schema import validate_run
from tests.conftest import PEOPLE_TOML, run_cli
from tests.credits.conftest import START, raw_run, set_baseline
from tests.foundation.daemon_process import DaemonProcess

GROUP = grp.getgrgid(os.getgid()).gr_name       # a group this user is in, so the daemon may give files to it
PRIVATE = ("runs/QUARANTINE", "keys", "cache/scrub")   # quarantined runs, keys, the compiled scrub rules


def _config(tmp_path: Path, group: str | None) -> Path:
    path = tmp_path / "config.toml"
    head = f'operators_group = "{group}"\n' if group else ""
    path.write_text(head + 'timezone = "America/Los_Angeles"\ndata_dir = "var/"\n' + PEOPLE_TOML)
    return path


@pytest.fixture(params=[0o022, 0o000], ids=["umask-022", "umask-000"])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def _modes(data_dir: Path) -> dict[str, tuple[int, int]]:
    """Every directory and file under (and including) the data directory: relative path -> (mode, gid)."""
    found = {".": (stat.S_IMODE(data_dir.stat().st_mode), data_dir.stat().st_gid)}
    for root, dirs, files in os.walk(data_dir):
        for name in dirs + files:
            path = Path(root) / name
            info = path.lstat()
            found[path.relative_to(data_dir).as_posix()] = (stat.S_IMODE(info.st_mode), info.st_gid)
    return found


def _everything_written(config: Path, writer_kind: str) -> Path:
    """A SEV0 run quarantined, a normal run, its case acted on, alerts in the outbox, both ledgers."""
    loaded = load_config(config)
    ctx = build_context(loaded.settings, loaded.data_dir)
    writer = DurableFileWriter() if writer_kind == "durable" else WriteBehindFileWriter(ctx.data_dir, ctx.now)
    try:
        with freeze_time(START):
            set_baseline(ctx, "scn-invoice", 100.0)
            Recorder(ctx, writer).record([
                validate_run(raw_run(run_id="run_ok", credits=100.0)),
                validate_run(raw_run(run_id="run_q", credits=1500.0, Risk_Flags=["pii_exposure"]))])
            if isinstance(writer, WriteBehindFileWriter):
                assert writer.flush(10)
        with freeze_time(START + timedelta(minutes=5)):
            flows.ack(ctx, ctx.people.by_name("ana"), "CASE-1")
            flows.set_scenario(ctx, ctx.people.by_name("ana"), "scn-invoice", "max_items", "1000")
            reject(ctx, "bad.json", b"{", "not JSON", ctx.now())
            ctx.ledgers.credit.publish()
            ctx.ledgers.operations.append("config.checked", "daemon", None, {"data": {"ok": True}})
    finally:
        writer.close()
    return loaded.data_dir


@pytest.mark.parametrize("writer_kind", ["durable", "write-behind"])
@pytest.mark.parametrize("group", [GROUP, None], ids=["operators-group", "owner-only"])
def test_every_created_file_and_folder_has_the_rule_s_mode_whatever_the_umask(tmp_path, umask, group, writer_kind):
    data_dir = _everything_written(_config(tmp_path, group), writer_kind)
    modes = _modes(data_dir)
    for must in ("runs/QUARANTINE/run_q/run_q.json", "runs/CREDIT_MONITORING/ledger.jsonl", "outbox.jsonl",
                 "keys/ledger.key", "state.json", "operations/ledger.jsonl", "inbox/rejected/bad.json.error",
                 "config/scenarios/scn-invoice.json", "runs/CREDIT_MONITORING/audit/ledger.checkpoints",
                 "runs/CREDIT_MONITORING/audit/ledger.jsonl"):
        assert must in modes, sorted(modes)
    shared_dir, shared_file = (0o2750, 0o640) if group else (0o700, 0o600)
    wrong = []
    for relative, (mode, gid) in modes.items():
        is_dir = (data_dir / relative).is_dir()
        private = relative.startswith(PRIVATE)
        if relative == "outbox.jsonl":            # alert texts: the daemon's alone, as before
            want = 0o600
        elif private:                             # setgid on a private folder passes a group id on, grants nothing
            want = 0o700 if is_dir else 0o600
            mode &= 0o777
        else:
            want = shared_dir if is_dir else shared_file
        if mode != want or (group and not private and gid != grp.getgrnam(group).gr_gid):
            wrong.append(f"{relative}: {mode:04o} gid {gid}, want {want:04o}")
    assert wrong == []


def test_a_released_artifact_leaves_quarantine_readable_by_the_operators_group_again(tmp_path, umask):
    data_dir = _everything_written(_config(tmp_path, GROUP), "durable")
    loaded = load_config(tmp_path / "config.toml")
    ctx = build_context(loaded.settings, loaded.data_dir)
    ana = ctx.people.by_name("ana")
    with freeze_time(START + timedelta(minutes=10)):
        flows.root_cause(ctx, ana, "CASE-1", RootCause.MISCONFIG)
        flows.resolve(ctx, ana, "CASE-1", "max_items added")
        path = flows.release_quarantine(ctx, ana, "run_q", ReleaseFinding.FALSE_POSITIVE, "ids only")
    for released in (data_dir / path, data_dir / (path + ".sha256")):
        assert stat.S_IMODE(released.stat().st_mode) == 0o640


def test_the_doctor_names_every_looser_place_with_its_fix_and_the_fix_works(tmp_path):
    config = _config(tmp_path, None)
    data_dir = _everything_written(config, "durable")
    day = data_dir / "runs" / "CREDIT_MONITORING" / "2026-11-22"
    os.chmod(day, 0o755)                                           # as a umask-022 install left them
    os.chmod(day / "run_ok.json", 0o644)
    os.chmod(data_dir / "runs" / "QUARANTINE" / "run_q" / "run_q.json", 0o640)
    check = run_cli("config", "check", config=config)
    assert check.returncode == 0, check.stderr
    warnings = [line for line in check.stdout.splitlines() if line.startswith("warning: ")]
    assert f"warning: {day} is mode 0755, open to others; run: chmod 0700 {day}" in warnings
    assert any(line.startswith(f"warning: 1 file(s) in {day} are looser than 0600 (e.g. run_ok.json: mode 0644, "
                               "open to others); run: find ") for line in warnings)
    assert any("QUARANTINE/run_q are looser than 0600 (e.g. run_q.json: mode 0640, open to its group (this is "
               "for its owner alone))" in line for line in warnings)
    assert len(warnings) == 3
    for line in warnings:
        subprocess.run(line.split("; run: ", 1)[1], shell=True, check=True)
    again = run_cli("config", "check", config=config)
    assert "warning: " not in again.stdout and "nothing in it is looser" in again.stdout


def test_the_daemon_warns_at_start_about_a_folder_others_can_read(tmp_path):
    config = _config(tmp_path, GROUP)
    data_dir = _everything_written(config, "durable")
    os.chmod(data_dir / "runs" / "QUARANTINE", 0o755)
    daemon = DaemonProcess(config, data_dir)
    try:
        line = daemon.wait_for("data directory access: ")
        assert f"{data_dir / 'runs' / 'QUARANTINE'} is mode 0755, open to others; run: chmod 0700 " in line
        daemon.wait_for("scheduler running")
    finally:
        assert daemon.stop() == 0


def test_an_operators_group_this_machine_does_not_have_is_refused_with_the_fix(tmp_path):
    result = run_cli("config", "check", config=_config(tmp_path, "chatops-no-such-group"))
    assert result.returncode == 2
    assert "operators_group" in result.stderr and "groupadd chatops-no-such-group" in result.stderr
