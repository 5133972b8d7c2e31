"""A JSONL file larger than a piece is scanned and scrubbed in pieces of whole lines: the findings (line numbers
included), the issues, the clean copy and the in-place result are those of the whole file."""
from __future__ import annotations

import json
import os
import random
import stat

from jobs.export.scrub.files import scan_file, scrub_file
from tests.scrub.carriers import Carrier, carry
from tests.scrub.labelled import load

PIECE = 4096   # bytes: small, so that the file below is many pieces


def _session(tmp_path, name: str = "s.jsonl"):
    """Lines carrying secrets in every carrier, prose, a line that is not JSON, one with a bad UTF-8 byte,
    blank lines, a line longer than a piece, and no newline at the end."""
    rng = random.Random(5)
    secrets = load()[0][:60]
    lines = [carry(s.text, rng.choice(list(Carrier)), rng) for s in secrets]
    lines.insert(7, "this line is not JSON, password=Zq8rT2mXv9LpK4wN7y")
    lines.insert(11, "")
    lines.insert(20, json.dumps({"message": {"content": "x" * (3 * PIECE) + " token=Zq8rT2mXv9LpK4wN7yB3"}}))
    data = "\n".join(lines).encode() + b"\n" + json.dumps({"bad": "caf"}).encode()[:-2] + b"\xe9\"}\n\n" + \
        json.dumps({"message": {"content": "the end, no newline"}}).encode()
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_scan_in_pieces_reports_what_the_whole_file_does(engine, tmp_path):
    path = _session(tmp_path)
    assert os.path.getsize(path) > 8 * PIECE
    whole, pieces = scan_file(path, engine), scan_file(path, engine, piece_bytes=PIECE)
    assert whole.findings and [i for i in whole.issues if i.line is not None]
    assert (pieces.findings, pieces.issues, pieces.bytes_in) == (whole.findings, whole.issues, whole.bytes_in)


def test_a_clean_copy_in_pieces_is_the_whole_file_s_byte_for_byte(engine, tmp_path):
    path = _session(tmp_path)
    os.chmod(path, 0o640)
    whole = scrub_file(path, engine, out_path=tmp_path / "whole" / "s.jsonl")
    pieces = scrub_file(path, engine, out_path=tmp_path / "pieces" / "s.jsonl", piece_bytes=PIECE)
    assert (tmp_path / "pieces" / "s.jsonl").read_bytes() == (tmp_path / "whole" / "s.jsonl").read_bytes()
    assert (pieces.findings, pieces.issues, pieces.changed) == (whole.findings, whole.issues, True)
    assert stat.S_IMODE(os.stat(tmp_path / "pieces" / "s.jsonl").st_mode) == 0o640
    assert not list((tmp_path / "pieces").glob(".*"))          # no temporary file left


def test_in_place_in_pieces_rewrites_the_file_as_the_whole_pass_does(engine, tmp_path):
    first, second = _session(tmp_path, "a.jsonl"), _session(tmp_path, "b.jsonl")
    whole = scrub_file(first, engine, in_place=True, label="s.jsonl")
    pieces = scrub_file(second, engine, in_place=True, label="s.jsonl", piece_bytes=PIECE)
    assert second.read_bytes() == first.read_bytes() and pieces.changed
    assert (pieces.findings, pieces.issues) == (whole.findings, whole.issues)
    again = scrub_file(second, engine, in_place=True, piece_bytes=PIECE)   # already clean: nothing to rewrite
    assert not again.changed and not [f for f in scan_file(second, engine, piece_bytes=PIECE).findings
                                      if f.action.value == "found"]


def test_a_binary_file_in_pieces_is_refused_and_nothing_is_written(engine, tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_bytes(b"\x00\x01" * PIECE)
    report = scrub_file(path, engine, out_path=tmp_path / "out" / "b.jsonl", piece_bytes=PIECE)
    assert [i.problem for i in report.issues] == ["binary file (NUL bytes)"] and report.output is None
    assert not (tmp_path / "out" / "b.jsonl").exists() and not list((tmp_path / "out").glob(".*"))
    assert [i.problem for i in scan_file(path, engine, piece_bytes=PIECE).issues] == ["binary file (NUL bytes)"]


def test_a_clean_copy_that_cannot_be_written_is_an_error_naming_it(engine, tmp_path):
    path = _session(tmp_path)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    report = scrub_file(path, engine, out_path=blocked / "s.jsonl", piece_bytes=PIECE)
    assert report.output is None and report.failed
    assert [i.problem for i in report.issues if i.error] == [f"clean copy {blocked / 's.jsonl'} cannot be written "
                                                             "(File exists)"]
    assert blocked.read_text() == "not a directory"


def test_in_place_in_pieces_never_overwrites_a_file_that_changed_meanwhile(engine, tmp_path):
    """An agent still appending: each pass sees the file change before the rename, so after three tries
    the file is left as the agent wrote it, and that is an error of the report."""
    path = _session(tmp_path)

    def agent_appends() -> None:
        with open(path, "ab") as fh:
            fh.write(b"\n" + json.dumps({"message": {"content": "still working"}}).encode())

    report = scrub_file(path, engine, in_place=True, on_scanned=agent_appends, piece_bytes=PIECE)
    assert report.failed and "kept changing over 3 attempts" in report.issues[-1].problem
    assert path.read_bytes().count(b"still working") == 3 and b"Zq8rT2mXv9LpK4wN7y" in path.read_bytes()
    assert not list(tmp_path.glob(".*tmp*"))
