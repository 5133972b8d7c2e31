"""A recorder killed (SIGKILL) at the moment it would queue its alerts: after the ledger commit and the
state write, before the outbox write. `python tests/e2e/crash_child.py CONFIG RUN_FILE`; exits by signal 9."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from chatops.config import load_config
from jobs.context import build_context
from jobs.credits.flows import Recorder
from jobs.credits.intake import parse_records, read_source
from jobs.notices import Notice


class KilledOnSend:
    """A Notifier whose process dies instead of queueing: the crash between the two steps."""

    def send(self, notice: Notice) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


def main(config: str, run_file: str) -> None:
    loaded = load_config(Path(config))
    ctx = build_context(loaded.settings, loaded.data_dir)
    ctx.notifier = KilledOnSend()
    source, data = read_source(run_file)
    Recorder(ctx).record(parse_records(data, source))
    sys.exit("the recorder queued no alert: nothing to crash on")


if __name__ == "__main__":
    main(*sys.argv[1:3])
