"""The failure messages of docs/ledger.md §7, in one place, so recovery and verify say the same thing.

Each names what is wrong, where, and what to do; numbers use thousands separators as the spec shows.
"""
from __future__ import annotations

from store.ledger.scan import Problem


def short(b64_root: str) -> str:
    return b64_root[:4] + "…"


def torn_tail(name: str, nbytes: int) -> str:
    return (f"{name} ends with {nbytes:,} bytes that are not a complete entry (crash during a write). "
            "The daemon repairs this on start; or run: chatops ledger repair")


def inside_signed(problem: Problem, signed_size: int) -> str:
    """Bad JSON or a seq gap at a line the checkpoint covers."""
    seq = problem.line_no - 1
    if problem.kind == "seq":
        if problem.found_seq is None:
            return (f"line {problem.line_no:,} has no seq, expected {seq:,}: the file was edited after it "
                    f"was signed (checkpoint size {signed_size:,}).")
        found = f"{problem.found_seq:,}" if isinstance(problem.found_seq, int) else repr(problem.found_seq)
        return (f"line {problem.line_no:,} has seq {found}, expected {seq:,}: entries are missing or out "
                "of order before this line.")
    if problem.kind == "partial":
        return truncation(seq, signed_size)
    return (f"line {problem.line_no:,} (seq {seq:,}) is not valid JSON ({problem.detail}). It is inside "
            f"the signed range (checkpoint size {signed_size:,}): the file was edited after it was signed.")


def truncation(entries: int, signed_size: int) -> str:
    return (f"ledger has {entries:,} entries but the checkpoint signed for it covers {signed_size:,}: "
            f"{signed_size - entries:,} entries were removed from the end.")


def root_mismatch(signed_size: int, root_b64: str, last_good: int | None, first_bad: int) -> str:
    if last_good:
        where = (f"an entry between seq {last_good:,} and {first_bad - 1:,} was changed "
                 f"(signed checkpoint {last_good:,} still matches)")
    else:
        where = f"an entry between seq 0 and {first_bad - 1:,} was changed (no earlier signed size matches)"
    return (f"entries 0–{signed_size - 1:,} do not match the signed checkpoint of size {signed_size:,} "
            f"(root {short(root_b64)}): {where}.")


def no_checkpoint(name: str, entries: int) -> str:
    """Entries but neither ledger.checkpoint nor ledger.sigs: nothing vouches for any of them."""
    return (f"{name} has {entries:,} entries but ledger.checkpoint and ledger.sigs are missing: none of them "
            "is signed. Keep every file as it is (evidence): the signature files were deleted, or the very "
            "first commit crashed before it was signed (then an O3 runs: chatops ledger repair).")


def pending_tail(count: int, since: str | None) -> str:
    when = f" (since {since[:16]}Z)" if since else ""
    return (f"{count:,} entries after the last checkpoint{when}: signed on the daemon's next commit or "
            "start.")


def next_steps(which: str) -> str:
    """What an O3 does about a ledger that changed under its writer (README "Ledger damaged under the daemon")."""
    ledger = f"--ledger {which}" if which else "--ledger <name>"
    return (f"Check with: chatops ledger verify {ledger}. When it passes again (the file restored to what was "
            f"signed), an O3 runs: chatops ledger reopen {ledger} --reason \"…\" --as <O3>; if it cannot be "
            f"restored: chatops ledger reseal {ledger} --reason \"…\" --as <O3>.")


def changed_under_writer(name: str, which: str, detail: str) -> str:
    """The sentence of a running writer that finds its ledger is not what it last signed."""
    return (f"{name} was changed under the running writer: {detail} Nothing more is written to it by any "
            f"chatops process until an O3 acts. {next_steps(which)}")


def marked_damaged(name: str, which: str, found_at: str, detail: str) -> str:
    """The refusal of every later write while `ledger.damaged` is there."""
    return (f"{name} is marked damaged since {found_at[:19]}Z ({detail.rstrip('.')}): nothing is written to it "
            f"until an O3 acts. {next_steps(which)}")
