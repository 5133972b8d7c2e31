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


COMMAND_MODAL_CALLBACK = "ops_command_modal"


def command_modal(command: Any, metadata: dict[str, Any], fixed: dict[str, Any] | None = None,
                  choices: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """A form of `command`'s arguments (a `registry.Command` declared `modal=True`, or a button's `form`):
    a select for each argument with choices, a text input for the others; one block per argument, named
    by its `dest`. `fixed` values (a button's subject and `with`) are not asked: they travel in the
    metadata and win on submit. `choices` narrows a select to what applies (the steps still open)."""
    fixed = fixed or {}
    blocks: list[dict[str, Any]] = []
    for arg in command.args:
        if arg.flag or arg.dest in fixed:
            continue
        label = {"type": "plain_text", "text": arg.name.lstrip("-").replace("-", " ").capitalize()[:48]}
        if arg.choices:
            offered = [c for c in (choices or {}).get(arg.dest, arg.choices) if c in arg.choices]
            element = {"type": "static_select", "action_id": INPUT_ACTION, "options": [
                {"text": {"type": "plain_text", "text": c}, "value": c} for c in offered]}
        else:
            element = {"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": not arg.nargs}
        blocks.append({"type": "input", "block_id": arg.dest, "label": label, "optional": not arg.required,
                       "hint": {"type": "plain_text", "text": arg.help[:150]}, "element": element})
    return {
        "type": "modal",
        "callback_id": COMMAND_MODAL_CALLBACK,
        "private_metadata": json.dumps({**metadata, "command": command.name, **({"fixed": fixed} if fixed else {})},
                                       separators=(",", ":")),
        "title": {"type": "plain_text", "text": command.name.title()[:24]},
        "submit": {"type": "plain_text", "text": "Submit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def modal_values(state: dict[str, Any]) -> dict[str, str]:
    """What a `command_modal` submission holds: each block's text or selected option, blanks left out."""
    values = {}
    for dest, block in state.items():
        element = block.get(INPUT_ACTION) or {}
        value = element.get("value") or (element.get("selected_option") or {}).get("value") or ""
        if value.strip():
            values[dest] = value.strip()
    return values


def home_view(person: str, sections: list[HomeSection]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "What needs you"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"for {person} · `/ops help` lists your commands"}]},
    ]
    for section in sections:
        body = "\n".join(f"• {line}" for line in section.lines) or f"_{section.empty}_"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{section.title}*\n{body}"[:2900]}})
    return {"type": "home", "blocks": blocks}
