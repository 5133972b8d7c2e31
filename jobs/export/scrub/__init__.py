"""The scrub engine: find and remove credentials and PII in agent transcripts, then grade what is left.

Library API (the 05:00 export pipeline uses it):

    engine = build_engine(ctx)                       # or Engine(load_rules(), Policy(...))
    report = scrub_paths([src], engine, out_dir=dst) # or in_place=True; verifies and grades
    report.grade, report.findings, report.rules_version
    scrub_file(path, engine, out_path=...) -> FileReport
    check_paths([paths], engine) -> RunReport        # report only
    verify([paths], engine) -> file reports of an independent re-scan

Layout: rules.py (the versioned data file), prefilter.py (raw-byte pass), detect.py (decoded-text
matching and verdicts), hscache.py (compiled Hyperscan databases and the rules' analysis kept between
runs), engine.py (JSONL / text handling), files.py (I/O, atomic writes), run.py (many paths,
verification), report.py (findings, grade), flows.py (context, permissions, learn).
"""
from jobs.export.scrub.detect import LearnedSecrets, Policy
from jobs.export.scrub.engine import Engine, FileKind
from jobs.export.scrub.files import Progress, scan_file, scrub_file
from jobs.export.scrub.flows import LearnError, build_engine, learn, run_scrub
from jobs.export.scrub.report import Action, FileReport, Finding, Grade, Issue, RunReport, render_report
from jobs.export.scrub.rules import RuleKind, RulesError, RuleSet, load_rules
from jobs.export.scrub.run import check_paths, scrub_paths, verify

__all__ = [
    "Action", "Engine", "FileKind", "FileReport", "Finding", "Grade", "Issue", "LearnError", "LearnedSecrets",
    "Policy", "Progress", "RuleKind", "RuleSet", "RulesError", "RunReport", "build_engine", "check_paths",
    "learn", "load_rules", "render_report", "run_scrub", "scan_file", "scrub_file", "scrub_paths", "verify",
]
