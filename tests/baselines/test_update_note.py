"""The update note's exact text (runbook, Baseline Update Procedure, Step 3) against a golden file."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from jobs.credits.baselines.note import UpdateNote, rationale_lines, render, with_note

GOLDEN = Path(__file__).parent / "golden" / "update_note.md"

RUNBOOK_EXAMPLE = UpdateNote(
    scenario_id="BINDER_EXPORT_WEEKLY", day=date(2024, 1, 23), approver="ana",
    approval_id="O3-ana-20240123T181500Z", old_credits=1250.50, old_is_manual=False, new_credits=1425.75,
    change_pct=(1425.75 - 1250.50) / 1250.50 * 100,
    rationale=rationale_lines("Prompt optimization deployed on 2024-01-15; New prompt increases context "
                              "window by 15%\n- Variance stable over last 2 weeks\nNo SEV0/SEV1 incidents "
                              "since optimization"),
    sample_size=28, days=30, cv=0.1812)


def test_note_matches_the_runbook_template_exactly():
    assert render(RUNBOOK_EXAMPLE) == GOLDEN.read_text(encoding="utf-8")


def test_self_approval_and_forced_large_change_are_stated_in_the_note():
    from dataclasses import replace

    text = render(replace(RUNBOOK_EXAMPLE, self_approved=True, forced_large_change_pct=50.0,
                          new_credits=2000.0, change_pct=59.94))
    assert "**Self-approved:** proposed and approved by ana (allowed by [baselines] allow_self_approval = true)" \
        in text.splitlines()
    assert "**Change:** +59.9%" in text.splitlines()
    assert "**Large change:** over 50%, applied with --force-large-change after investigation" in text.splitlines()


def test_first_baseline_and_manual_old_baseline_are_named():
    from dataclasses import replace

    first = render(replace(RUNBOOK_EXAMPLE, old_credits=None, change_pct=None)).splitlines()
    assert "**Old Baseline:** none (first baseline of this scenario)" in first
    assert "**Change:** n/a (no previous baseline)" in first
    manual = render(replace(RUNBOOK_EXAMPLE, old_is_manual=True)).splitlines()
    assert "**Old Baseline:** 1250.50 credits (manual)" in manual


def test_second_update_of_the_day_is_appended_after_a_rule():
    first = render(RUNBOOK_EXAMPLE)
    combined = with_note(first, first)
    assert combined == first + "\n---\n\n" + first
