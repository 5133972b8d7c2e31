"""The labelled corpus (corpus/labelled.json) made concrete, and realistic Claude Code transcript lines.

Secrets are stored as templates (`ghp_{b62:36}`) and generated with a seeded random, so the repository
never holds a credential-shaped literal (push protection would rightly refuse it) while every run
sees the same values. Shared by the tests and bench/scrub_bench.py.
"""
from __future__ import annotations

import json
import random
import re
import string
from dataclasses import dataclass
from pathlib import Path

from jobs.export.scrub.text import is_placeholder

CORPUS = Path(__file__).parent / "corpus" / "labelled.json"

_ALPHABETS = {
    "b62": string.ascii_letters + string.digits,
    "b62mix": string.ascii_letters + string.digits,
    "b64url": string.ascii_letters + string.digits + "_-",
    "b64s": string.ascii_letters + string.digits + "+/",
    "pem": string.ascii_letters + string.digits + "+/",
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "alpha": string.ascii_letters,
    "lower": string.ascii_lowercase,
    "lowerd": string.ascii_lowercase + string.digits,
    "digits": string.digits,
    "A2Z7": string.ascii_uppercase + "234567",
    "UD": string.ascii_uppercase + string.digits,
    "AGE": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
    "bcrypt": string.ascii_letters + string.digits + "./",
    "hexmix": "0123456789abcdefABCDEF",
    "dj": string.ascii_lowercase + string.digits + "!@#$%^&*(-_=+)",   # Django's get_random_secret_key
}
_FIELD = re.compile(r"\{(\w+)(?::(\d+))?\}")


@dataclass(frozen=True)
class Secret:
    rule: str
    value: str
    text: str         # the value in its context


@dataclass(frozen=True)
class Negative:
    label: str
    text: str


def _fill(template: str, rng: random.Random) -> str:
    def one(m: re.Match) -> str:
        kind, n = m.group(1), int(m.group(2) or 0)
        if kind == "pubip":
            return f"{rng.choice([34, 52, 104, 151, 185])}.{rng.randint(1, 254)}.{rng.randint(1, 254)}.{rng.randint(1, 254)}"
        while True:
            value = "".join(rng.choice(_ALPHABETS[kind]) for _ in range(n))
            if kind == "b62mix" and not (any(c.isdigit() for c in value) and any(c.isupper() for c in value)
                                         and any(c.islower() for c in value)):
                continue
            if not is_placeholder(value) and "xxxx" not in value.lower():
                return value
    return _FIELD.sub(one, template)


def load(seed: int = 7) -> tuple[list[Secret], list[Negative]]:
    data = json.loads(CORPUS.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    secrets = []
    for rule, samples in data["secrets"].items():
        for sample in samples:
            value = _fill(sample["template"], rng)
            secrets.append(Secret(rule, value, sample["context"].replace("{secret}", "\x00").replace(
                "{{", "{").replace("}}", "}").replace("\x00", value)))
    negatives = [Negative(n["label"], n["text"]) for n in data["negatives"]]
    return secrets, negatives


def _uuid(rng: random.Random) -> str:
    h = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _id(rng: random.Random, prefix: str, n: int = 24) -> str:
    return prefix + "01" + "".join(rng.choice(_ALPHABETS["b62"]) for _ in range(n - 2))


def transcript_line(rng: random.Random, payload: str, shape: str, session: str) -> dict:
    """One Claude Code session line carrying `payload` as a Bash command, a tool result (Read view
    with line numbers), or assistant text."""
    base = {"parentUuid": _uuid(rng), "isSidechain": False, "userType": "external",
            "cwd": "/Users/dev/src/chatops", "sessionId": session, "version": "1.0.43",
            "gitBranch": "main", "uuid": _uuid(rng), "timestamp": "2026-05-04T12:%02d:%02d.%03dZ" % (
                rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999))}
    if shape == "bash":
        base |= {"type": "assistant", "requestId": _id(rng, "req_", 27), "message": {
            "id": _id(rng, "msg_"), "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
            "content": [{"type": "tool_use", "id": _id(rng, "toolu_"), "name": "Bash",
                         "input": {"command": payload, "description": "Run the command"}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": rng.randint(3, 9000),
                                                 "cache_read_input_tokens": rng.randint(0, 90000),
                                                 "output_tokens": rng.randint(1, 900)}}}
    elif shape == "read":
        numbered = "\n".join(f"{i:>6}\t{line}" for i, line in enumerate(payload.split("\n"), start=1))
        base |= {"type": "user", "message": {"role": "user", "content": [
            {"tool_use_id": _id(rng, "toolu_"), "type": "tool_result", "content": numbered}]},
            "toolUseResult": {"type": "text", "file": {"filePath": "/Users/dev/src/app/.env", "numLines": 3}}}
    else:
        base |= {"type": "assistant", "requestId": _id(rng, "req_", 27), "message": {
            "id": _id(rng, "msg_"), "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
            "content": [{"type": "text", "text": payload}], "stop_reason": "end_turn",
            "usage": {"input_tokens": rng.randint(3, 9000), "output_tokens": rng.randint(1, 900)}}}
    return base


FILLER = [
    "I'll look at the scheduler first, then run the tests.",
    "def parse(line: str) -> dict:\n    return json.loads(line)\n",
    "All 42 tests passed in 3.1s.",
    "diff --git a/jobs/schedule.py b/jobs/schedule.py\nindex 3f2a9c1..9fceb02 100644\n--- a/jobs/schedule.py\n+++ b/jobs/schedule.py",
    "Let me check the config: timezone is America/Los_Angeles and data_dir is var/.",
    "$ git log --oneline -3\n9fceb02 Fix catch-up\n3f2a9c1 Add sweep\nabc1234 Initial",
    "npm WARN deprecated inflight@1.0.6: This module is not supported\nadded 312 packages in 4s",
]


def filler_lines(rng: random.Random, count: int, session: str) -> list[str]:
    return [json.dumps(transcript_line(rng, rng.choice(FILLER), rng.choice(["bash", "read", "text"]), session),
                       ensure_ascii=False, separators=(",", ":")) for _ in range(count)]
