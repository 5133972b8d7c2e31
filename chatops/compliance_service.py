"""The compliance area's daemon service: the §4 clocks checked every minute (reminders, escalations).

A service rather than a `JOB_SPECS` job because the clocks run in minutes (SEV1 containment is due in
30), not at one time of day. The check itself is `jobs.compliance.flows.check_clocks`; everything it
does is a timeline entry, so a restart or a missed minute never repeats a reminder or loses one.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobs.context import Context

if TYPE_CHECKING:
    from chatops.services import Wiring

log = logging.getLogger("chatops.compliance")

JOB_ID = "compliance-clocks"


@dataclass
class ComplianceClocks:
    ctx: Context
    scheduler: Any
    name: str = "compliance-clocks"
    last_error: str = ""

    def check(self) -> None:
        from jobs.compliance.flows import check_clocks

        try:
            for line in check_clocks(self.ctx):
                log.info("%s", line)    # ids, step names and who was told: never incident text
            self.last_error = ""
        except Exception as exc:   # noqa: BLE001 - one failed check must not stop the next minute's
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("compliance clock check failed")

    def start(self) -> None:
        self.scheduler.add_job(self.check, "interval", minutes=1, id=JOB_ID, name=JOB_ID, coalesce=True,
                               max_instances=1)

    def stop(self, timeout: float = 5.0) -> None:
        if self.scheduler.get_job(JOB_ID) is not None:
            self.scheduler.remove_job(JOB_ID)

    def health(self) -> str:
        return "ok" if not self.last_error else f"the last clock check failed ({self.last_error}); see the log"


def services(wiring: "Wiring") -> list[ComplianceClocks]:
    return [ComplianceClocks(wiring.ctx, wiring.scheduler)]
