"""A Notice as Slack blocks: summary, the facts an operator needs, what was done and what is required, buttons.

Flows put structured facts in `Notice.fields` under these keys (all optional): `severity`, `run`,
`case`, `credits`, `baseline`, `variance`, `risk_flags` (list), `done` (list: what was done
automatically), `required` (list: what a person must do), `actions` (list of buttons:
`{"label": "Approve rerun", "command": "rerun approve", "target": "CASE-12", "needs": "mitigation",
"style": "primary"}`), `headline` and `sections` (a long message in parts: the headline replaces the
text as the first block, each section is a block of its own). A button runs the registry command
`<command> <target>`; when `needs` names an option (`mitigation`, `reason`) a modal asks for it first. A
button that must fix more than its subject says so in `with` (`{"to": "SEV1"}`, `{"draft": "sha256:…"}`):
argument values by `dest`, part of the button itself, never asked and never overridable. `form: true` opens
the command's own form (the one `modal=True` gives `/ops <words>`) with the subject and `with` filled in,
asking only the rest; `choices` (`{"step": ["legal-engaged", …]}`) narrows a select of that form to what
applies now. `Notice.text` stays the complete plain text: it is the notification text and what screen
readers and the outbox show.
"""
from __future__ import annotations

import json
from typing import Any

from jobs.notices import Notice

ACTION_PREFIX = "ops_action_"
MAX_TEXT = 2900   # Slack's section text limit is 3000 characters


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_TEXT]}}


def fact_lines(fields: dict[str, Any]) -> list[str]:
    facts = []
    if fields.get("severity"):
        facts.append(f"*Severity:* {fields['severity']}")
    if fields.get("run"):
        facts.append(f"*Run:* `{fields['run']}`")
    if fields.get("case"):
        facts.append(f"*Case:* {fields['case']}")
    if fields.get("credits") is not None:
        vs = f" vs baseline {fields['baseline']}" if fields.get("baseline") is not None else ""
        times = f" ({fields['variance']}×)" if fields.get("variance") is not None else ""
        facts.append(f"*Credits:* {fields['credits']}{vs}{times}")
    if fields.get("risk_flags"):
        facts.append("*Risk flags:* " + ", ".join(f"`{f}`" for f in fields["risk_flags"]))
    return facts


def button_value(action: dict[str, Any], subject: str) -> str:
    value: dict[str, Any] = {"command": action["command"], "target": action.get("target") or subject,
                             "needs": action.get("needs", "")}
    value.update({key: action[key] for key in ("with", "form", "choices") if action.get(key)})
    return json.dumps(value, separators=(",", ":"))


def notice_blocks(notice: Notice) -> list[dict[str, Any]]:
    fields = notice.fields
    blocks: list[dict[str, Any]] = [_section(fields.get("headline") or notice.text)]
    blocks += [_section(part) for part in fields.get("sections") or ()]
    facts = fact_lines(fields)
    if facts:
        blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in facts[:10]]})
    for key, title in (("done", "Done automatically"), ("required", "Required")):
        if fields.get(key):
            blocks.append(_section(f"*{title}:*\n" + "\n".join(f"• {item}" for item in fields[key])))
    actions = fields.get("actions") or []
    if actions:
        blocks.append({"type": "actions", "block_id": "ops_actions", "elements": [
            {"type": "button", "action_id": f"{ACTION_PREFIX}{i}", "text": {"type": "plain_text", "text": a["label"][:75]},
             "value": button_value(a, notice.subject), **({"style": a["style"]} if a.get("style") else {})}
            for i, a in enumerate(actions[:25])]})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"{notice.subject} · {notice.kind}"}]})
    return blocks


def thread_text(notice: Notice) -> str:
    """What goes in the thread under an updated message: the plain text, nothing else."""
    return notice.text[:MAX_TEXT]
