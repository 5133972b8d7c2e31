"""What the Notion mirror talks about: which subjects it mirrors, its configuration, one queued change.

Only runs and cases are mirrored (seed 001's RUNS_LEDGER and CASES). Compliance incidents never are
(seed 002: "No compliance content leaves the local environment"): `Mirrored` is the closed set, and
anything else is refused where a change is queued and parked where one is delivered.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Mapping

from jobs.errors import Invalid

TOKEN_ENV = "NOTION_TOKEN"
RUNS_DB_ENV = "NOTION_RUNS_LEDGER_DB_ID"
CASES_DB_ENV = "NOTION_CASES_DB_ID"
#: The run file's field holding the dry run: one line, `"Notion_Sync": "Would write to Notion: {…}"`, so the
#: runbook's `grep "Would write to Notion" runs/CREDIT_MONITORING/*/run_*.json | tail -10` shows each payload
#: whole (a ledger key must be an identifier, and the file is the ledger entry's payload).
DRY_RUN_KEY = "Notion_Sync"
DRY_RUN_PREFIX = "Would write to Notion: "


class Mirrored(StrEnum):
    """The subjects that have a Notion database: a run (RUNS_LEDGER) and a case (CASES)."""

    RUN = "run"
    CASE = "case"

    @property
    def database(self) -> str:
        return "RUNS_LEDGER" if self is Mirrored.RUN else "CASES"

    @property
    def env(self) -> str:
        return RUNS_DB_ENV if self is Mirrored.RUN else CASES_DB_ENV


class NotMirrored(Invalid):
    """A change of something that has no Notion database (a compliance incident, say): never sent."""


def mirrored(kind: str) -> Mirrored:
    """The kind as a `Mirrored`, or refused: compliance incidents and anything else stay local."""
    try:
        return Mirrored(kind)
    except ValueError:
        raise NotMirrored(f"{kind!r} is not mirrored to Notion: only runs (RUNS_LEDGER) and cases (CASES) are; "
                          "compliance incidents never leave this machine (seed 002)") from None


@dataclass(frozen=True)
class Change:
    """One queued upsert: "make the page of this run / case match chatops now". The properties are read
    when it is delivered, so a change queued by a commit that then failed writes what chatops holds."""

    kind: Mirrored
    id: str             # Run_ID or CASE-<n>

    @property
    def subject(self) -> str:
        """The outbox order key: changes of one page go out in order."""
        return f"notion:{self.kind.value}:{self.id}"

    @property
    def page_key(self) -> str:
        return f"{self.kind.value}:{self.id}"

    def to_item(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "id": self.id}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> "Change":
        return cls(mirrored(str(item.get("kind"))), str(item.get("id", "")))


@dataclass(frozen=True)
class NotionEnv:
    """The mirror's configuration from the environment; `configured` only when all three are set."""

    token: str = ""
    runs_db: str = ""
    cases_db: str = ""

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> "NotionEnv":
        env = os.environ if environ is None else environ
        return cls(env.get(TOKEN_ENV, "").strip(), env.get(RUNS_DB_ENV, "").strip(), env.get(CASES_DB_ENV, "").strip())

    @property
    def configured(self) -> bool:
        return bool(self.token and self.runs_db and self.cases_db)

    def missing(self) -> list[str]:
        return [name for name, value in ((TOKEN_ENV, self.token), (RUNS_DB_ENV, self.runs_db),
                                         (CASES_DB_ENV, self.cases_db)) if not value]

    def database(self, kind: Mirrored) -> str:
        return self.runs_db if kind is Mirrored.RUN else self.cases_db
