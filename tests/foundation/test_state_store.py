"""The state store never leaves a half-written file and never loses an acknowledged write."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tinydb import Query

from store.files import temp_path_for
from store.state import StateCorrupted, StateStore
from tests.conftest import REPO

WRITER = [sys.executable, "-m", "tests.foundation.state_writer"]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _acked(lines: list[str]) -> list[tuple[str, int]]:
    return [(p[1], int(p[2])) for p in (line.split() for line in lines) if len(p) == 3 and p[0] == "ack"]


def test_transaction_commits_all_or_nothing(tmp_path: Path):
    store = StateStore(tmp_path)
    with store.transaction() as db:
        db.table("cases").insert({"id": 1})
    with pytest.raises(RuntimeError):
        with store.transaction() as db:
            db.table("cases").insert({"id": 2})
            raise RuntimeError("the flow failed half-way")
    assert [row["id"] for row in store.snapshot().table("cases").all()] == [1]


def test_nested_transactions_join_the_outer_one(tmp_path: Path):
    store = StateStore(tmp_path)
    with store.transaction() as outer:
        outer.table("t").insert({"a": 1})
        with store.transaction() as inner:
            assert inner is outer
            inner.table("t").insert({"a": 2})
    assert len(store.snapshot().table("t")) == 2


def test_a_corrupted_state_file_is_refused_not_emptied(tmp_path: Path):
    (tmp_path / "state.json").write_text('{"cases": {"1": ')
    with pytest.raises(StateCorrupted, match="is not valid JSON"):
        StateStore(tmp_path).snapshot()
    assert (tmp_path / "state.json").read_text() == '{"cases": {"1": '


def test_no_temporary_file_is_left_after_a_write(tmp_path: Path):
    store = StateStore(tmp_path)
    with store.transaction() as db:
        db.table("t").insert({"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "state.lock"]


def test_sigkill_during_writes_never_leaves_state_unreadable_or_loses_an_acked_write(tmp_path: Path):
    rng = random.Random(20261122)
    for attempt in range(50):
        data_dir = tmp_path / f"run{attempt}"
        proc = subprocess.Popen(WRITER + [str(data_dir), "w", "100000"], stdout=subprocess.PIPE,
                                text=True, env=ENV, cwd=REPO)
        lines: list[str] = []
        wanted = rng.randint(1, 40)
        while len(lines) < wanted:
            lines.append(proc.stdout.readline())
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
        lines += rest.splitlines()
        acked = _acked(lines)
        state = StateStore(data_dir).snapshot()           # state.json and the journal, read as after a crash
        stored = {(row["writer"], row["n"]) for row in state.table("writes").all()}
        assert set(acked) <= stored, f"attempt {attempt}: acknowledged writes lost"
        assert state.table("counters").get(doc_id=1)["total"] == len(stored)
        with StateStore(data_dir).transaction() as db:     # the next writer cuts off a torn last line
            db.table("after").insert({"n": 1})
        assert len(StateStore(data_dir).snapshot().table("writes")) == len(stored)


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path):
    procs = [subprocess.Popen(WRITER + [str(tmp_path), name, "150"], stdout=subprocess.PIPE, text=True,
                              env=ENV, cwd=REPO) for name in ("daemon", "cli")]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    state = StateStore(tmp_path).snapshot()
    stored = {(row["writer"], row["n"]) for row in state.table("writes").all()}
    assert stored == {(w, n) for w in ("daemon", "cli") for n in range(150)}
    assert state.table("counters").get(doc_id=1)["total"] == 300
    assert all(out.count("ack") == 150 for out in outputs)


def test_a_snapshot_is_parsed_once_per_version_and_sees_every_new_version(tmp_path: Path):
    store = StateStore(tmp_path)
    with store.transaction() as db:
        db.table("cases").insert({"id": 1})
    first, again = store.snapshot(), store.snapshot()
    assert first.storage.memory is again.storage.memory      # one parse for one version
    # Another process (here: another store on the same directory) writes a new version.
    subprocess.run(WRITER + [str(tmp_path), "cli", "1"], check=True, env=ENV, cwd=REPO, capture_output=True)
    after = store.snapshot()
    assert after.storage.memory is not first.storage.memory
    assert after.table("writes").all()[0]["writer"] == "cli"
    assert [row["id"] for row in after.table("cases").all()] == [1]


def test_a_snapshot_refuses_writes_with_where_to_make_them(tmp_path: Path):
    store = StateStore(tmp_path)
    with store.transaction() as db:
        db.table("cases").insert({"id": 1})
    with pytest.raises(TypeError, match="transaction"):
        store.snapshot().table("cases").insert({"id": 2})
    assert [row["id"] for row in store.snapshot().table("cases").all()] == [1]


def test_a_transaction_starts_from_the_file_not_from_a_snapshot(tmp_path: Path):
    store = StateStore(tmp_path)
    with store.transaction() as db:
        db.table("counters").insert({"total": 1})
    store.snapshot()
    subprocess.run(WRITER + [str(tmp_path), "cli", "2"], check=True, env=ENV, cwd=REPO, capture_output=True)
    with store.transaction() as db:
        total = db.table("counters").get(doc_id=1)["total"]
        db.table("counters").update({"total": total + 10}, doc_ids=[1])
    assert store.snapshot().table("counters").get(doc_id=1)["total"] == 13


@pytest.mark.parametrize("change", [
    lambda db: db.table("cases").update({"id": 9}),
    lambda db: db.table("cases").remove(doc_ids=[1]),
    lambda db: db.table("cases").truncate(),
    lambda db: db.drop_table("cases"),
    lambda db: db.drop_tables(),
])
def test_no_change_through_a_snapshot_reaches_the_shared_version(tmp_path: Path, change):
    store = StateStore(tmp_path)
    with store.transaction() as db:
        db.table("cases").insert({"id": 1})
    with pytest.raises(TypeError, match="read-only"):
        change(store.snapshot())
    assert store.snapshot().table("cases").all() == [{"id": 1}]


def _tag(doc):
    doc["tags"].append("changed")      # a callable update that changes a nested list in place


@pytest.mark.parametrize("change", [
    lambda t: t.update({"tags": ["changed"]}, Query().id == 1),
    lambda t: t.update({"tags": ["changed"]}, doc_ids=[1]),
    lambda t: t.update({"tags": ["changed"]}),
    lambda t: t.update(_tag, Query().id == 1),
    lambda t: t.update_multiple([({"tags": ["changed"]}, Query().id == 1)]),
    lambda t: t.upsert({"id": 1, "tags": ["changed"]}, Query().id == 1),
    lambda t: t.remove(Query().id == 1),
    lambda t: t.truncate(),
])
def test_a_transaction_changes_its_own_copies_never_the_version_readers_share(tmp_path: Path, change):
    store = StateStore(tmp_path)
    with store.transaction() as db:
        db.table("cases").insert({"id": 1, "tags": ["first"]})
        db.table("cases").insert({"id": 2, "tags": ["second"]})
        db.table("other").insert({"x": 1})
    before = store.snapshot()
    shared = before.storage.memory
    with pytest.raises(RuntimeError):
        with store.transaction() as db:
            change(db.table("cases"))
            raise RuntimeError("abandoned: nothing may change")
    assert store.snapshot().storage.memory is shared
    with store.transaction() as db:
        change(db.table("cases"))
    assert before.table("cases").all() == [{"id": 1, "tags": ["first"]}, {"id": 2, "tags": ["second"]}]
    after = store.snapshot().storage.memory
    assert after is not shared and after["cases"] != shared["cases"]
    assert after["other"] is shared["other"]                         # a table not written stays shared
    assert after == StateStore(tmp_path).snapshot().storage.memory    # what another process reads
    if after["cases"].get("2") == shared["cases"]["2"]:
        assert after["cases"]["2"] is shared["cases"]["2"]          # a document not changed stays shared


def test_a_transaction_that_changes_nothing_writes_nothing(tmp_path: Path):
    store = StateStore(tmp_path)
    with store.transaction() as db:
        db.table("cases").insert({"id": 1})
    written = os.stat(tmp_path / "state.json")
    with store.transaction() as db:
        db.table("cases").update({"id": 1}, Query().id == 1)
        assert db.table("cases").get(doc_id=1) == {"id": 1}
    now = os.stat(tmp_path / "state.json")
    assert (now.st_ino, now.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)


def test_a_transaction_reparses_a_file_whose_bytes_changed_even_with_the_same_identity(tmp_path: Path):
    """Another process's write is never lost to a stale parse, even when inode, size and times repeat."""
    store = StateStore(tmp_path)
    with store.transaction() as db:
        db.table("counters").insert({"total": 1})
    path = tmp_path / "state.json"
    st = os.stat(path)
    # Same length, same inode, times put back: only the bytes differ.
    with open(path, "r+b") as f:
        f.write(path.read_bytes().replace(b'"total":1', b'"total":7'))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with store.transaction() as db:
        total = db.table("counters").get(doc_id=1)["total"]
        db.table("counters").update({"total": total + 1}, doc_ids=[1])
    assert StateStore(tmp_path).snapshot().table("counters").get(doc_id=1)["total"] == 8


def test_a_derived_value_is_built_once_per_version_of_its_table(tmp_path: Path):
    store = StateStore(tmp_path)
    built: list[list[int]] = []

    def ids(rows):
        built.append(sorted(r["id"] for r in rows))
        return built[-1]

    with store.transaction() as db:
        db.table("cases").insert({"id": 1})
        db.table("other").insert({"x": 1})
    assert store.derived(store.snapshot(), "cases", ids) == [1]
    assert store.derived(store.snapshot(), "cases", ids) == [1] and len(built) == 1
    with store.transaction() as db:
        db.table("other").insert({"x": 2})               # another table: the derived value still holds
        assert store.derived(db, "cases", ids) == [1]
    assert store.derived(store.snapshot(), "cases", ids) == [1] and len(built) == 1
    with store.transaction() as db:
        db.table("cases").insert({"id": 2})
        assert store.derived(db, "cases", ids) == [1, 2]   # the transaction's own rows
    assert store.derived(store.snapshot(), "cases", ids) == [1, 2] and len(built) == 2
    with pytest.raises(RuntimeError):
        with store.transaction() as db:
            db.table("cases").insert({"id": 3})
            assert store.derived(db, "cases", ids) == [1, 2, 3]
            raise RuntimeError("abandoned")
    assert store.derived(store.snapshot(), "cases", ids) == [1, 2]
    # Another process's write is a new version too.
    subprocess.run(WRITER + [str(tmp_path), "cli", "1"], check=True, env=ENV, cwd=REPO, capture_output=True)
    with store.transaction() as db:
        db.table("cases").insert({"id": 4})
    assert store.derived(store.snapshot(), "cases", ids) == [1, 2, 4]
    assert store.derived(store.snapshot(), "missing", ids) == []


def test_a_transaction_appends_only_what_it_changed(tmp_path: Path):
    store = StateStore(tmp_path)
    with store.transaction() as db:
        db.table("cases").insert_multiple([{"id": n, "pad": "x" * 100} for n in range(50)])
    written = os.stat(tmp_path / "state.json")
    with store.transaction() as db:
        db.table("cases").update({"pad": "changed"}, Query().id == 7)
        db.table("cases").remove(doc_ids=[10])
        db.table("new").insert({"a": 1})
    now = os.stat(tmp_path / "state.json")
    assert (now.st_ino, now.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)     # not rewritten
    [line] = (tmp_path / "state.journal").read_bytes().splitlines()
    assert json.loads(line) == {"drop": [], "tables": {"cases": {"set": {"8": {"id": 7, "pad": "changed"}},
                                                                 "del": ["10"]},
                                                       "new": {"set": {"1": {"a": 1}}, "del": []}}}
    cases = StateStore(tmp_path).snapshot().table("cases")
    assert len(cases) == 49 and cases.get(doc_id=8)["pad"] == "changed" and cases.get(doc_id=10) is None


def test_the_journal_is_folded_into_state_json_once_it_outgrows_it(tmp_path: Path):
    store = StateStore(tmp_path, journal_limit=2048)
    for n in range(60):
        with store.transaction() as db:
            db.table("cases").insert({"id": n, "pad": "x" * 200})
    journal = (tmp_path / "state.journal").stat().st_size
    base = (tmp_path / "state.json").stat().st_size
    assert journal <= max(2048, base) and base > 60 * 200 // 2           # folded more than once
    assert sorted(r["id"] for r in StateStore(tmp_path).snapshot().table("cases").all()) == list(range(60))


def test_a_crash_after_folding_before_emptying_the_journal_changes_nothing(tmp_path: Path):
    """Replaying lines that state.json already holds gives the same state: every line holds final values."""
    store = StateStore(tmp_path)
    with store.transaction() as db:
        db.table("cases").insert_multiple([{"id": 1}, {"id": 2}])
        db.table("gone").insert({"x": 1})
    with store.transaction() as db:
        db.table("cases").remove(doc_ids=[1])
        db.table("cases").update({"id": 20}, doc_ids=[2])
        db.drop_table("gone")
    with store.transaction() as db:
        db.table("gone").insert({"x": 2})                # the dropped table made again
        db.table("cases").insert({"id": 3})
    expected = StateStore(tmp_path).snapshot().storage.memory
    assert len((tmp_path / "state.journal").read_bytes().splitlines()) == 2
    # The fold wrote the whole state to state.json, then the process died before emptying the journal.
    (tmp_path / "state.json").write_bytes(json.dumps(expected).encode())
    assert StateStore(tmp_path).snapshot().storage.memory == expected
    with StateStore(tmp_path).transaction() as db:
        db.table("cases").insert({"id": 4})
    assert [r["id"] for r in StateStore(tmp_path).snapshot().table("cases").all()] == [20, 3, 4]


def test_a_torn_last_journal_line_is_ignored_by_readers_and_cut_off_by_the_next_writer(tmp_path: Path):
    store = StateStore(tmp_path)
    for n in range(3):
        with store.transaction() as db:
            db.table("cases").insert({"id": n})
    journal = tmp_path / "state.journal"
    good = journal.read_bytes()
    with journal.open("ab") as f:
        f.write(b"\x00" * 40 + b"\n" + b'{"drop": [], "tables": {"cases": {"set": {"9": {"id"')   # a power loss
    assert [r["id"] for r in StateStore(tmp_path).snapshot().table("cases").all()] == [0, 1, 2]
    with StateStore(tmp_path).transaction() as db:
        db.table("cases").insert({"id": 3})
    data = journal.read_bytes()
    assert data.startswith(good) and data.count(b"\n") == good.count(b"\n") + 1
    assert [r["id"] for r in StateStore(tmp_path).snapshot().table("cases").all()] == [0, 1, 2, 3]


def test_an_unreadable_line_inside_the_journal_is_refused_not_skipped(tmp_path: Path):
    store = StateStore(tmp_path)
    for n in range(4):                     # the first writes state.json, the others a journal line each
        with store.transaction() as db:
            db.table("cases").insert({"id": n})
    journal = tmp_path / "state.journal"
    lines = journal.read_bytes().splitlines(keepends=True)
    damaged = lines[0] + b"\x00" * (len(lines[1]) - 1) + b"\n" + lines[2]
    journal.write_bytes(damaged)
    with pytest.raises(StateCorrupted, match="state.journal: line at byte"):
        StateStore(tmp_path).snapshot()
    with pytest.raises(StateCorrupted):
        with StateStore(tmp_path).transaction() as db:     # a writer is refused too, before it can write
            db.table("cases").insert({"id": 9})
    assert journal.read_bytes() == damaged


def test_readers_always_see_whole_transactions_while_two_processes_write_and_fold(tmp_path: Path):
    """Each write inserts one row and counts it in the same transaction; a reader racing both writers,
    their appends and their folds of the journal into state.json, must never see one without the other."""
    procs = [subprocess.Popen(WRITER + [str(tmp_path), name, "150", "4096"], stdout=subprocess.PIPE, text=True,
                              env=ENV, cwd=REPO) for name in ("daemon", "cli")]
    reader = StateStore(tmp_path)
    seen = 0
    while any(p.poll() is None for p in procs):
        try:
            state = reader.snapshot()
        except FileNotFoundError:
            continue
        counter = state.table("counters").get(doc_id=1)
        assert len(state.table("writes")) == (counter["total"] if counter else 0)
        seen += 1
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs) and all(out.count("ack") == 150 for out in outputs)
    state = StateStore(tmp_path).snapshot()
    assert len(state.table("writes")) == state.table("counters").get(doc_id=1)["total"] == 300
    assert seen > 0


def test_a_fold_that_fails_after_its_line_is_in_the_journal_still_commits(tmp_path: Path, caplog):
    store = StateStore(tmp_path)
    for n in range(3):                      # state.json, then two journal lines
        with store.transaction() as db:
            db.table("t").insert({"n": n})
    blocker = temp_path_for(tmp_path / "state.json")
    blocker.mkdir()                         # the fold's temporary file cannot be created (EISDIR)
    store.journal_limit = 0                 # the next transaction folds: its journal outgrew state.json
    with store.transaction() as db:
        db.table("t").insert({"n": 3})
    assert "could not fold the journal in" in caplog.text
    assert sorted(r["n"] for r in StateStore(tmp_path).snapshot().table("t").all()) == [0, 1, 2, 3]
    assert len((tmp_path / "state.journal").read_bytes().splitlines()) == 3
    blocker.rmdir()
    with store.transaction() as db:
        db.table("t").insert({"n": 4})
    assert (tmp_path / "state.journal").read_bytes() == b""
    assert sorted(r["n"] for r in StateStore(tmp_path).snapshot().table("t").all()) == [0, 1, 2, 3, 4]
