"""A recorder killed (SIGKILL) after its ledger commit, before the state write.

`python tests/e2e/crash_child.py CONFIG RUN_FILE [before-outbox|after-outbox]`; exits by signal 9.
before-outbox: dies instead of queueing its first alert (nothing in the outbox, nothing in the state);
after-outbox: dies right after queueing it (the alert is queued, the state never gets the case).
"""
from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from chatops.config import load_config
from jobs.compose import build_context
from jobs.credits.intake.recorder import Recorder
from jobs.credits.intake.sources import parse_records, read_source
from jobs.notices import Notice, Notifier


@dataclass
class KilledOnSend:
    """A Notifier whose process dies when the first alert is queued: before or after the outbox write."""

    outbox: Notifier
    after_outbox: bool

    def send(self, notice: Notice) -> None:
        if self.after_outbox:
            self.outbox.send(notice)
        os.kill(os.getpid(), signal.SIGKILL)


def main(config: str, run_file: str, when: str = "before-outbox") -> None:
    loaded = load_config(Path(config))
    ctx = build_context(loaded.settings, loaded.data_dir)
    ctx.notifier = KilledOnSend(ctx.notifier, after_outbox=when == "after-outbox")
    source, data = read_source(run_file)
    Recorder(ctx).record(parse_records(data, source))
    sys.exit("the recorder queued no alert: nothing to crash on")


if __name__ == "__main__":
    main(*sys.argv[1:4])
