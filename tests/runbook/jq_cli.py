"""`jq FILTER [FILE…]` with `-s` / `-c`, on the PyPI `jq` bindings: the runbook tests' jq where the jq
program itself is not installed (CI images without it). Only what the runbook's commands use."""
from __future__ import annotations

import json
import sys

import jq


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    flags = {a for a in args if a.startswith("-") and len(a) > 1}
    rest = [a for a in args if a not in flags]
    unknown = flags - {"-s", "-c"}
    if unknown or not rest:
        print(f"jq (test stand-in): unsupported arguments {sorted(unknown) or args}", file=sys.stderr)
        return 2
    program, files = rest[0], rest[1:]
    try:
        text = "".join(open(f, encoding="utf-8").read() for f in files) if files else sys.stdin.read()
    except OSError as exc:
        print(f"jq: error: Could not open {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        results = jq.compile(program).input_text(text, slurp="-s" in flags).all()
    except ValueError as exc:
        print(f"jq: error: {exc}", file=sys.stderr)
        return 5
    for value in results:
        print(json.dumps(value, ensure_ascii=False, separators=(",", ":")) if "-c" in flags
              else json.dumps(value, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
