"""The replies a weekly review's thread accepts, read into registry commands with typed values."""
from __future__ import annotations

import pytest

from chatops.commands.review_replies import read
from chatops.registry import MalformedReply, Registry

SUBJECT = "WEEKLY-2026-W47"


@pytest.mark.parametrize("text, words, values", [
    ("note - big-spender drifts", ("report", "weekly", "note"), {"week": "2026-W47", "text": "big-spender drifts"}),
    ("*NOTE:* checked  with ben", ("report", "weekly", "note"), {"week": "2026-W47", "text": "checked with ben"}),
    ("isolated lone-1 – one-off import", ("report", "weekly", "isolated"), {"run_id": "lone-1", "note": "one-off import"}),
    ("case big-2", ("report", "weekly", "open-case"), {"run_id": "big-2"}),
    ("Open a case big-2", ("report", "weekly", "open-case"), {"run_id": "big-2"}),
])
def test_each_form_means_one_registered_command_with_typed_values(text, words, values):
    meant = read(SUBJECT, text)
    assert (meant.words, dict(meant.values)) == (words, values)
    command = Registry.load().command(meant.words)
    assert command.arguments(meant.values) is not None


@pytest.mark.parametrize("text, form", [("note -", "note - <text>"), ("isolated lone-1", "isolated <Run_ID> - <why>"),
                                        ("isolated - why", "isolated <Run_ID> - <why>")])
def test_a_form_without_its_text_is_refused_with_the_form(text, form):
    with pytest.raises(MalformedReply, match=form.replace("<", ".").replace(">", ".")):
        read(SUBJECT, text)


@pytest.mark.parametrize("text", ["looks fine to me", "the case of big-spender is odd", "notes are in the doc"])
def test_conversation_is_left_alone(text):
    assert read(SUBJECT, text) is None
