"""The runbook's thread replies as operators type them, and their malformed variants."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatops.commands.case_replies import ReplyKind, ThreadReply, parse_reply, read
from chatops.registry import MalformedReply, ReplyCommand


@pytest.mark.parametrize("text, expected", [
    ("ACK", ThreadReply(ReplyKind.ACK)),
    ("ack", ThreadReply(ReplyKind.ACK)),
    ("  *ACK*  ", ThreadReply(ReplyKind.ACK)),
    ("ACK - O2 ben investigating CASE-12", ThreadReply(ReplyKind.ACK, case="CASE-12")),
    ("ack – O2 ben investigating case-12", ThreadReply(ReplyKind.ACK, case="CASE-12")),
    ("ACK—O2 ben investigating CASE 12", ThreadReply(ReplyKind.ACK, case="CASE-12")),
    ("APPROVED for rerun - misconfig fixed, max_items now 1000",
     ThreadReply(ReplyKind.APPROVED, text="misconfig fixed, max_items now 1000")),
    ("approved  for   rerun –  max_items limit added, retry_loop fixed",
     ThreadReply(ReplyKind.APPROVED, text="max_items limit added, retry_loop fixed")),
    ("Approved for re-run — fixed", ThreadReply(ReplyKind.APPROVED, text="fixed")),
    ("DENIED - root cause not yet identified, investigation ongoing",
     ThreadReply(ReplyKind.DENIED, text="root cause not yet identified, investigation ongoing")),
    ("denied—no mitigation", ThreadReply(ReplyKind.DENIED, text="no mitigation")),
])
def test_runbook_forms_are_read_whatever_the_case_spacing_or_dash(text, expected):
    assert parse_reply(text) == expected


@pytest.mark.parametrize("text, form", [
    ("APPROVED", "APPROVED for rerun - <mitigation>"),
    ("APPROVED for rerun", "APPROVED for rerun - <mitigation>"),
    ("approved for rerun -   ", "APPROVED for rerun - <mitigation>"),
    ("APPROVED - looks fine", "APPROVED for rerun - <mitigation>"),
    ("DENIED", "DENIED - <reason>"),
    ("denied -", "DENIED - <reason>"),
    ("DENIED because", "DENIED - <reason>"),
])
def test_approval_without_mitigation_or_denial_without_reason_is_refused_with_the_form(text, form):
    with pytest.raises(MalformedReply, match="reply `" + form.replace("(", r"\(")):
        parse_reply(text)


@pytest.mark.parametrize("text", ["thanks, looking", "acknowledged by the team later", "approve?", "", "denial pending"])
def test_conversation_is_left_alone(text):
    assert parse_reply(text) is None


def test_each_form_maps_to_one_registry_command_with_typed_values_on_the_threads_case():
    assert read("CASE-3", "ACK") == ReplyCommand(("case", "ack"), {"case": "CASE-3"}, "ACK")
    assert read("CASE-3", "APPROVED for rerun - x y") == ReplyCommand(
        ("rerun", "approve"), {"case": "CASE-3", "mitigation": "x y"}, "APPROVED")
    assert read("CASE-3", "DENIED - --force was wrong") == ReplyCommand(
        ("rerun", "deny"), {"case": "CASE-3", "reason": "--force was wrong"}, "DENIED")
    assert read("CASE-3", "thanks") is None


def test_an_ack_naming_another_case_is_refused_pointing_at_that_cases_thread():
    with pytest.raises(MalformedReply, match="this thread is about CASE-3, but your ACK names CASE-4; reply in CASE-4"):
        read("CASE-3", "ACK - O2 ben investigating CASE-4")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80))
def test_any_mitigation_text_survives_the_round_trip(mitigation):
    stripped = " ".join(mitigation.strip("*_~`> \t\n").split())
    if not stripped or stripped.strip("*_~`> \t\n") != stripped:
        return
    assert parse_reply(f"APPROVED for rerun - {mitigation}") == ThreadReply(ReplyKind.APPROVED, text=stripped)
