"""Files: bad input reported by file and line, clean copies, atomic in-place writes, the grade."""
from __future__ import annotations

import json
import os

from jobs.export.scrub import Action, Grade, check_paths, render_report, scrub_file, scrub_paths
from tests.scrub.conftest import PREFILTERS, make_engine

TOKEN = "ghp_" + "Q7wErT9yUiOpAsDfGhJkLzXcVbNm1234QwEr"


def _line(text: str) -> str:
    return json.dumps({"type": "assistant", "message": {"content": [{"type": "text", "text": text}]}})


def test_clean_transcript_grades_high_and_internal_addresses_medium(tmp_path, engine):
    (tmp_path / "a.jsonl").write_text(_line("all tests pass") + "\n")
    assert check_paths([tmp_path / "a.jsonl"], engine).grade is Grade.HIGH
    (tmp_path / "b.jsonl").write_text(_line("server on 127.0.0.1:8000, mail info@ecomonetize.com") + "\n")
    report = check_paths([tmp_path / "b.jsonl"], engine)
    assert report.grade is Grade.MEDIUM
    assert {f.action for f in report.findings} == {Action.KEPT}


def test_scrub_removes_then_verification_grades_high(tmp_path, engine):
    src = tmp_path / "in" / "s.jsonl"
    src.parent.mkdir()
    src.write_text(_line(f"token {TOKEN}") + "\n" + _line("ok") + "\n")
    assert check_paths([src], engine).grade is Grade.LOW
    report = scrub_paths([tmp_path / "in"], engine, out_dir=tmp_path / "out")
    clean = tmp_path / "out" / "in" / "s.jsonl"
    assert TOKEN not in clean.read_text()
    assert report.grade is Grade.HIGH and report.verification
    assert src.read_text().count(TOKEN) == 1          # the original is untouched
    assert "Scrub confidence: HIGH" in render_report(report) and report.rules_version in render_report(report)


def test_indirect_exposure_is_kept_and_grades_low(tmp_path):
    engine = make_engine("python", sensitive=("Stripe Live Secret",))
    src = tmp_path / "s.jsonl"
    src.write_text(_line("I used the stripe live secret from the Ops vault") + "\n"
                   + _line("the API key is stored in 1Password") + "\n")
    report = scrub_paths([src], engine, out_dir=tmp_path / "out")
    assert report.grade is Grade.LOW
    assert {f.rule for f in report.remaining} == {"sensitive-item-name", "credential-location"}
    assert (tmp_path / "out" / "s.jsonl").read_text() == src.read_text()


def test_bad_input_is_reported_by_line_and_never_crashes(tmp_path, engine):
    src = tmp_path / "s.jsonl"
    src.write_bytes(_line("ok").encode() + b"\n" + b'{"a": "caf\xe9 ' + TOKEN.encode() + b'"}\n'
                    + b"plain words " + TOKEN.encode() + b"\n" + _line("end").encode() + b"\n")
    report = scrub_paths([src], engine, out_dir=tmp_path / "out")
    out = (tmp_path / "out" / "s.jsonl").read_bytes()
    assert TOKEN.encode() not in out and b"caf\xe9 " in out          # bad bytes kept as they were
    assert out.count(b"\n") == 4
    problems = {(i.line, i.problem.split(" at ")[0]) for i in report.issues}
    assert problems == {(2, "invalid UTF-8"), (3, "not a JSON line")}
    assert report.grade is Grade.HIGH


def test_binary_and_unreadable_files_fail_the_run_and_write_nothing(tmp_path, engine):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "img.log").write_bytes(b"\x89PNG\x00\x00" + os.urandom(64))
    (tmp_path / "in" / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    (tmp_path / "in" / "ok.jsonl").write_text(_line("ok") + "\n")
    report = scrub_paths([tmp_path / "in" / "img.log", tmp_path / "in" / "gone.jsonl", tmp_path / "in" / "ok.jsonl"],
                         engine, out_dir=tmp_path / "out")
    assert report.grade is Grade.FAIL
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ok.jsonl"]
    rendered = render_report(report)
    assert "binary file" in rendered and "cannot be read" in rendered


def test_fifty_megabyte_line_is_scrubbed(tmp_path):
    engine = make_engine(PREFILTERS[-1])
    blob = ("lorem ipsum dolor sit amet, " * 1_800_000)[:50_000_000]
    src = tmp_path / "big.jsonl"
    src.write_text(json.dumps({"content": blob[:25_000_000] + f" {TOKEN} " + blob[25_000_000:]}) + "\n")
    report = scrub_paths([src], engine, in_place=True)
    assert TOKEN.encode() not in src.read_bytes()
    assert report.grade is Grade.HIGH


def test_line_over_the_limit_is_replaced_by_a_marker(tmp_path):
    engine = make_engine("python", max_line_bytes=1000)
    src = tmp_path / "s.jsonl"
    src.write_text(_line("x" * 2000) + "\n" + _line("ok") + "\n")
    report = scrub_paths([src], engine, in_place=True)
    first, second, _ = src.read_text().split("\n")
    assert json.loads(first).startswith("[REDACTED:oversized-line:") and second == _line("ok")
    assert report.issues[0].line == 1 and "max_line_bytes" in report.issues[0].problem


def test_in_place_rescrubs_a_file_that_changed_meanwhile(tmp_path, engine):
    src = tmp_path / "s.jsonl"
    src.write_text(_line(f"a {TOKEN}") + "\n")
    os.chmod(src, 0o640)
    appended = []

    def agent_appends() -> None:
        if not appended:
            appended.append(True)
            with open(src, "a") as fh:
                fh.write(_line(f"b {TOKEN}") + "\n")

    report = scrub_file(src, engine, in_place=True, on_scanned=agent_appends)
    text = src.read_text()
    assert text.count("[REDACTED:github-pat:") == 2 and TOKEN not in text     # the appended line survived
    assert "changed while being scrubbed" in report.issues[0].problem
    assert oct(os.stat(src).st_mode & 0o777) == "0o640"
    assert not [p for p in tmp_path.iterdir() if "scrub-tmp" in p.name]


def test_in_place_gives_up_on_a_file_that_never_settles(tmp_path, engine):
    src = tmp_path / "s.jsonl"
    src.write_text(_line(f"a {TOKEN}") + "\n")

    def agent_appends() -> None:
        with open(src, "a") as fh:
            fh.write(_line("more") + "\n")

    report = scrub_file(src, engine, in_place=True, on_scanned=agent_appends)
    assert report.failed and TOKEN in src.read_text()       # never overwritten with a stale version


def test_a_fifo_is_reported_not_waited_on(tmp_path, engine):
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    (tmp_path / "ok.jsonl").write_text(_line("ok") + "\n")
    report = check_paths([fifo, tmp_path / "ok.jsonl"], engine)
    assert report.grade is Grade.FAIL and "not a regular file" in render_report(report)


def test_in_place_through_a_symlink_rewrites_the_file_it_points_to(tmp_path, engine):
    real = tmp_path / "real.jsonl"
    real.write_text(_line(f"a {TOKEN}") + "\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    report = scrub_paths([link], engine, in_place=True)
    assert link.is_symlink() and TOKEN not in real.read_text() and report.grade is Grade.HIGH
