"""Limits on what a person writes into an incident, kept apart so the command line and the Slack form can
check them before anything runs without loading the compliance domain."""

#: What happened / is contained / is at risk each go whole into the CEO's SEV1 DM, one Slack block each.
MAX_FIELD_CHARS = 2_000
