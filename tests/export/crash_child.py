"""An export run that kills itself (SIGKILL) at a named point: `python tests/export/crash_child.py CONFIG DATE WHEN`.

WHEN is an event of the run: a ledger kind (`export.committed`: that step's work is done, its entry not yet
written) or `<step>:<n>` (the n-th session of that step done, the others not started)."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from chatops.config import load_config
from jobs.compose import build_context
from jobs.export.flows import Event, run_export


def main(config: str, date: str, when: str) -> None:
    loaded = load_config(Path(config))
    ctx = build_context(loaded.settings, loaded.data_dir)

    def observe(event: Event) -> None:
        if event.step == when or f"{event.step}:{event.done}" == when:
            os.kill(os.getpid(), signal.SIGKILL)

    run_export(ctx, ctx.people.by_name("ben"), date, observe)
    sys.exit(f"the run never reached {when}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
