"""The CEO daily summary against a golden text, a quiet day in one line, and `summary send` as a DM with its
Block Kit parts and the ledger entry that witnesses the checkpoints (scripted days, freezegun)."""
from __future__ import annotations

from freezegun import freeze_time

from chatops.render.blocks import notice_blocks
from jobs.audit import SPECS
from jobs.compliance import flows as compliance
from jobs.compliance.calendar import add_item
from jobs.notices import Notice
from jobs.sweep import summary
from store.ledger.note import parse_checkpoint_text, parse_note
from tests.conftest import run_cli
from tests.export.conftest import Home
from tests.export.helpers import notices, ops_entries
from tests.export.transcripts import MEDIUM_TEXT, session
from tests.sweep.test_sweep import PROJECT, _sev1_case, exported, sweep, utc

GOLDEN = """\
CEO summary 2026-12-16
Export yesterday (2026-12-15): HIGH, PR #2 merged (auto).
Export today (2026-12-16): MEDIUM, PR #3 awaiting chief.staff review.
Open incidents:
• SEV2 INC-1: response due 12-15 14:00 PST, missed
SEV0/SEV1 cases:
• CASE-1 SEV1 scn-a: Open, awaiting ACK
Compliance calendar (30 days):
• CAL-1 SOC 2 renewal: vendor A: due 2027-01-13 (in 28 days), security.ops
This week's patterns:
• Scrub audit log: MEDIUM confidence on 2 days last week (2026-12-09, 2026-12-10); code.platform reviews the ruleset for the cause.
{ledgers}"""


def ledgers_line(home: Home) -> str:
    """What the summary must witness: each ledger's signed checkpoint as it is on disk."""
    ctx = home.context()
    parts = []
    for spec in SPECS:
        path = ctx.ledgers.files(spec).checkpoint
        if not path.exists():
            parts.append(f"{spec.name} none yet")
            continue
        c = parse_checkpoint_text(parse_note(path.read_text()).text)
        parts.append(f"{spec.name} {c.size} entries, root {c.root_b64[:12]}…")
    return "Ledgers: " + "; ".join(parts) + "."


def test_the_summary_reads_as_the_golden_text_and_carries_no_compliance_content(home: Home):
    log = home.data / "operations" / "logs" / "credential-scrub-audit.md"
    log.parent.mkdir(parents=True)
    log.write_text("".join(f"2026-12-{d} | Confidence: MEDIUM | Sessions exported: 1 | Flags: 2 | PR: #{d} | "
                           "Merged: manual\n" for d in ("09", "10")))
    session(home.projects / PROJECT / "s1.jsonl", "Ran the test suite: 12 passed.")
    exported(home, 14)
    sweep(home, 14)                                                        # Monday: the scrub log's week
    _sev1_case(home)
    session(home.projects / PROJECT / "s2.jsonl", "Refactored the invoice totals.")
    exported(home, 15)
    with freeze_time(utc(15, 10)):
        ctx = home.context()
        lee = ctx.people.by_name("lee")
        compliance.file_incident(ctx, lee, "data-exposure", "SEV2", what="customer list in a shared folder",
                                 contained="link revoked", at_risk="the customers' emails")
        add_item(ctx, lee, "SOC 2 renewal: vendor A", "soc2-renewal", "2027-01-13", "security.ops")
    session(home.projects / PROJECT / "s3.jsonl", MEDIUM_TEXT)
    exported(home, 16)

    with freeze_time(utc(16, 9)):
        text = summary.build(home.context()).text()
    assert text == GOLDEN.format(ledgers=ledgers_line(home))
    shown = run_cli("summary", "show", config=home.config)      # a terminal, on today's wall clock
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("CEO summary ") and ledgers_line(home) in shown.stdout
    for content in ("customer list", "shared folder", "link revoked", "emails"):   # seed 002 §1
        assert content not in text


def test_a_quiet_day_is_one_line_and_the_dm_goes_to_the_ceo_with_its_checkpoints_recorded(home: Home):
    session(home.projects / PROJECT / "s1.jsonl", "Ran the test suite: 12 passed.")
    exported(home, 15)
    exported(home, 16)                        # nothing new: no PR, not a missed run
    with freeze_time(utc(16, 9)):
        ctx = home.context()
        line = ("CEO summary 2026-12-16: quiet day. Export yesterday (2026-12-15): HIGH, PR #1 merged (auto). "
                f"Export today (2026-12-16): nothing to export. {ledgers_line(home)}")
        summary.send(ctx, ctx.people.by_name("ben"))
    [dm] = [i for i in notices(home.data) if i["notice"]["kind"] == "summary.ceo"]
    assert dm["to"] == "@dev" and dm["notice"]["text"] == line and "\n" not in line
    [entry] = [e for e in ops_entries(home.data) if e["kind"] == "summary.sent"]
    assert entry["data"]["to"] == ["dev"] and entry["data"]["quiet"] is True
    assert line.endswith(" " + entry["data"]["ledgers"])      # the checkpoints the DM witnessed, now signed too


def test_a_busy_summary_is_block_kit_in_parts_with_the_text_as_fallback(home: Home):
    _sev1_case(home)
    with freeze_time(utc(15, 9)):
        built = summary.build(home.context())
    notice: Notice = summary.notice(built, ("dev",))
    blocks = notice_blocks(notice)
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert texts[0] == ("*CEO summary 2026-12-15*\nExport yesterday (2026-12-14): no PR.\n"
                        "Export today (2026-12-15): no PR.")
    assert texts[1] == "*SEV0/SEV1 cases*\n• CASE-1 SEV1 scn-a: Open, awaiting ACK"
    assert texts[2].startswith("Ledgers: ")
    assert notice.text.splitlines()[0] == "CEO summary 2026-12-15" and "CASE-1 SEV1" in notice.text


def test_summary_send_refuses_when_nobody_is_ceo(home: Home):
    home.config.write_text(home.config.read_text().replace('roles = ["O3", "ceo"]', 'roles = ["O3"]'))
    refused = run_cli("summary", "send", "--as", "ben", config=home.config)
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith("nobody holds the ceo role, so the CEO daily summary has no one to go "
                                           "to: give a person roles = [\"ceo\"] under [people.<name>] in config.toml")
    with freeze_time(utc(16, 10)):
        assert summary.build(home.context()).date == "2026-12-16"     # showing it still works
    assert not [e for e in ops_entries(home.data) if e["kind"] == "summary.sent"]
