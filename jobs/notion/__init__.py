"""The Notion mirror of RUNS_LEDGER and CASES (seed 001): a destination of the one outgoing queue."""
