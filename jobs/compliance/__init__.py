"""Compliance incidents (seed 002): the SEV clocks, the notification tree, post-mortems, the calendar, the local council."""
