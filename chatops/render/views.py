"""Modals and the App Home tab as Block Kit views."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MODAL_CALLBACK = "ops_modal"
INPUT_BLOCK = "input"
INPUT_ACTION = "text"


@dataclass(frozen=True)
class HomeSection:
    """One part of the App Home tab: a title and lines (mrkdwn), e.g. "Your open cases"."""

    title: str
    lines: tuple[str, ...]
    empty: str = "nothing"


def input_modal(command: str, target: str, needs: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The modal a button opens when its command needs a text (a mitigation, a reason)."""
    label = needs.replace("_", " ").capitalize()
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "private_metadata": json.dumps({**metadata, "command": command, "target": target, "needs": needs},
                                       separators=(",", ":")),
        "title": {"type": "plain_text", "text": command.title()[:24]},
        "submit": {"type": "plain_text", "text": "Submit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"`/ops {command} {target}`"}},
            {"type": "input", "block_id": INPUT_BLOCK, "label": {"type": "plain_text", "text": label},
             "element": {"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": True}},
        ],
    }


def home_view(person: str, sections: list[HomeSection]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "What needs you"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"for {person} · `/ops help` lists your commands"}]},
    ]
    for section in sections:
        body = "\n".join(f"• {line}" for line in section.lines) or f"_{section.empty}_"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{section.title}*\n{body}"[:2900]}})
    return {"type": "home", "blocks": blocks}
