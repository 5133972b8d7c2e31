"""Property tests: any tampering inside the signed range fails verify with a docs/ledger.md §7 message; appends
keep every earlier checkpoint consistent with every later one."""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.ledger.merkle import TreeHashes, leaf_hash, verify_consistency
from store.ledger.note import open_checkpoint
from store.ledger.verify import SinceCheckpoint
from tests.ledger.helpers import failures, fill, make_ledger, make_signer, verify

SPEC_MESSAGES = re.compile(
    r"^(entries 0–[\d,]+ do not match the signed checkpoint of size [\d,]+ \(root .{4}…\): an entry between seq"
    r"|line [\d,]+ \(seq [\d,]+\) is not valid JSON \(.+\)\. It is inside the signed range"
    r"|line [\d,]+ has (no )?seq.*expected [\d,]+"
    r"|ledger has [\d,]+ entries but the checkpoint signed for it covers [\d,]+: [\d,]+ entries were removed)")
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """A ledger of 24 entries, all signed, built once; each example works on a copy."""
    root = tmp_path_factory.mktemp("signed")
    signer = make_signer(root / "keys")
    fill(make_ledger(root / "ledger", signer), 23, per_commit=3)
    return root / "ledger", signer


def _copy(source: Path) -> Path:
    target = Path(tempfile.mkdtemp(prefix="ledger-prop-")) / "ledger"
    shutil.copytree(source, target)
    return target


def _check_fails_with_spec_message(directory: Path, signer) -> None:
    try:
        report = verify(directory, signer)
        assert not report.ok
        assert SPEC_MESSAGES.match(failures(report)[0]), failures(report)[0]
    finally:
        shutil.rmtree(directory.parent)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_any_single_byte_change_inside_the_signed_range_fails_verify(signed, data):
    source, signer = signed
    content = (source / "ledger.jsonl").read_bytes()
    position = data.draw(st.integers(0, len(content) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != content[position]))
    directory = _copy(source)
    (directory / "ledger.jsonl").write_bytes(content[:position] + bytes([value]) + content[position + 1:])
    _check_fails_with_spec_message(directory, signer)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_a_deleted_line_fails_verify(signed, data):
    source, signer = signed
    lines = (source / "ledger.jsonl").read_bytes().splitlines(keepends=True)
    index = data.draw(st.integers(0, len(lines) - 1))
    directory = _copy(source)
    (directory / "ledger.jsonl").write_bytes(b"".join(lines[:index] + lines[index + 1:]))
    _check_fails_with_spec_message(directory, signer)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_two_swapped_lines_fail_verify_with_the_seq_message(signed, data):
    source, signer = signed
    lines = (source / "ledger.jsonl").read_bytes().splitlines(keepends=True)
    i = data.draw(st.integers(0, len(lines) - 2))
    j = data.draw(st.integers(i + 1, len(lines) - 1))
    lines[i], lines[j] = lines[j], lines[i]
    directory = _copy(source)
    (directory / "ledger.jsonl").write_bytes(b"".join(lines))
    report = verify(directory, signer)
    shutil.rmtree(directory.parent)
    assert failures(report)[0] == (f"line {i + 1} has seq {j}, expected {i}: entries are missing or out of order "
                                   "before this line.")


@PROPERTY_SETTINGS
@given(data=st.data())
def test_truncation_anywhere_inside_the_signed_range_fails_verify(signed, data):
    source, signer = signed
    content = (source / "ledger.jsonl").read_bytes()
    cut = data.draw(st.integers(0, len(content) - 1))
    directory = _copy(source)
    (directory / "ledger.jsonl").write_bytes(content[:cut])
    _check_fails_with_spec_message(directory, signer)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commits=st.lists(st.integers(1, 7), min_size=2, max_size=8))
def test_appends_keep_every_earlier_checkpoint_consistent_with_every_later_one(tmp_path, commits):
    directory = Path(tempfile.mkdtemp(prefix="ledger-append-", dir=tmp_path))
    signer = make_signer(directory / "keys")
    ledger = make_ledger(directory / "ledger", signer)
    checkpoints = []
    for count in commits:
        fill(ledger, count, per_commit=count)
        checkpoints.append((directory / "ledger" / "ledger.checkpoint").read_text())
    lines = (directory / "ledger" / "ledger.jsonl").read_bytes().splitlines()
    tree = TreeHashes([leaf_hash(line) for line in lines])
    opened = [open_checkpoint(text, [signer.verifier], signer.name).checkpoint for text in checkpoints]
    for old in opened:
        report = verify(directory / "ledger", signer, since=SinceCheckpoint("old", checkpoints[opened.index(old)]))
        assert report.ok
        for new in opened:
            if old.size <= new.size:
                verify_consistency(old.size, new.size, old.root, new.root,
                                   tree.consistency_proof(old.size, new.size))
