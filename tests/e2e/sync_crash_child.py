"""A daemon recorder killed (SIGKILL) after its ledger commit, in the write-behind sync, before the durable
mark moved. `python tests/e2e/sync_crash_child.py CONFIG RUN_FILE`; exits by signal 9."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from chatops.config import load_config
from jobs.compose import build_context
from jobs.credits.intake.file_writers import WriteBehindFileWriter
from jobs.credits.intake.recorder import Recorder
from jobs.credits.intake.sources import parse_records, read_source


def killed_in_sync(paths: list[Path]) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(config: str, run_file: str) -> None:
    loaded = load_config(Path(config))
    ctx = build_context(loaded.settings, loaded.data_dir)
    # The sync waits for flush(): both commits are made before it runs (and kills the process).
    writer = WriteBehindFileWriter(ctx.data_dir, ctx.now, sync=killed_in_sync, delay=60)
    source, data = read_source(run_file)
    Recorder(ctx, writer).record(parse_records(data, source))
    writer.flush(30)
    sys.exit("the write-behind sync never ran: nothing to crash on")


if __name__ == "__main__":
    main(*sys.argv[1:3])
