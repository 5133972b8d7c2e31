"""`scrub check` as a whole process against the pure-Python floor, on transcripts with images and blobs.

    .venv/bin/python bench/scrub_throughput.py [--mb 22.5] [--mix sessions|blobs|both] [--cpu 0]
    .venv/bin/python bench/scrub_throughput.py --corpus ~/.claude/projects     # your own transcripts
    .venv/bin/python bench/scrub_throughput.py --against ../main-before         # another checkout, same run

The floor (issue 20) is what any scrubber that reads every line as JSON pays at least: `json.loads` +
`json.dumps` of every line, stdlib, measured here in the same run on the same files. Ours is the wall
and CPU time of `python -m chatops scrub check DIR` as a subprocess, start-up (imports, rule compilation,
loading the Hyperscan databases) included, best of N after a first run that writes Python's bytecode and
the compiled databases (`<data_dir>/cache/scrub/`), as any installation has them after its first run;
that first run is printed too. The N runs of each side alternate, so a change in the machine's load
falls on both. Both are pinned to one core (`--cpu`). The target is a ratio >= 0.4.

Without `--corpus`, two corpora are generated and measured in turn (`--mix` picks one):
- `sessions`, the one the target is read on: the anatomy of real Claude Code files (a line per content
  block with the turn's usage, thinking with its signature, Read / Edit / Bash calls whose result is
  written twice, in the message and whole in `toolUseResult`, source files as repositories hold them) and
  the blobs real sessions sometimes carry (a screenshot in one session of three, a minified bundle or
  contract bytecode in one of seven; about a fifth of the bytes). Its floor, about 100 MB/s here, is near
  the 76-85 MB/s issue 20 measured on 22.5 MB of real public transcripts on this machine kind.
- `blobs`, the earlier corpus: half its bytes are blobs, so its floor (about 220 MB/s) is nearly three
  times what real transcripts give; printed so the two can be compared, not as the target.
"""
from __future__ import annotations

import contextlib
import argparse
import base64
import json
import os
import random
import resource
import string
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUFFIXES = (".jsonl", ".ndjson")


def _envelope(rng: random.Random, session: str, kind: str, message: dict, extra: dict | None = None) -> str:
    line = {"parentUuid": str(uuid.UUID(int=rng.getrandbits(128))), "isSidechain": False, "userType": "external",
            "cwd": "/home/dev/work/app", "sessionId": session, "version": "1.0.71", "gitBranch": "main",
            "type": kind, "message": message, "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
            "timestamp": f"2026-05-0{rng.randrange(1, 9)}T1{rng.randrange(10)}:0{rng.randrange(10)}:00.000Z"}
    line.update(extra or {})
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


#: Prose and code vocabulary; credential words occur as often as in real sessions, not in every line.
_WORDS = tuple("""the a to of and in is it that for on with as this be are was not you we can by from at or
have an but will if all one which do more when there so what up out about into than them then some could only
other new use how our time very just any these no way first also after where most over well should through
work now get make like file test tests fails error because config loader reads from env fix build deploy
handler returns user session cache retry database query function class method module import value list dict
string number result response request server client path line run runs running output input check update
change changes commit branch merge pull push review code debug log logs trace stack frame call calls called
data model schema field type types param params option options flag flags default settings version release
package install dependency dependencies service endpoint route router api http json yaml parse parser format
auth token password secret key""".split())


def _prose(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n)).capitalize() + "."


def _code(rng: random.Random, lines: int) -> str:
    body = []
    for i in range(lines):
        name = rng.choice(_WORDS) + "_" + rng.choice(_WORDS)
        body.append(f"{i + 1:>6}\t    {name} = get_{rng.choice(_WORDS)}(request, timeout={rng.randrange(100)})")
    return "\n".join(body)


def _tool_use(rng: random.Random, session: str) -> str:
    tool, data = rng.choice([("Bash", {"command": f"pytest -q tests/{rng.choice(_WORDS)} -x",
                                         "description": _prose(rng, 6)}),
                             ("Read", {"file_path": f"/home/dev/work/app/{rng.choice(_WORDS)}.py"}),
                             ("Edit", {"file_path": "/home/dev/work/app/x.py", "old_string": _code(rng, 5),
                                       "new_string": _code(rng, 6)})])
    content = [{"type": "text", "text": _prose(rng, 30)},
               {"type": "tool_use", "id": f"toolu_{rng.getrandbits(96):024x}", "name": tool, "input": data}]
    return _envelope(rng, session, "assistant", {"id": f"msg_{rng.getrandbits(96):024x}", "type": "message",
                                                  "role": "assistant", "model": "claude-sonnet-4", "content": content,
                                                  "usage": {"input_tokens": rng.randrange(9999),
                                                            "output_tokens": rng.randrange(999)}})


def _tool_result(rng: random.Random, session: str, content) -> str:
    block = {"tool_use_id": f"toolu_{rng.getrandbits(96):024x}", "type": "tool_result", "content": content}
    return _envelope(rng, session, "user", {"role": "user", "content": [block]})


def _image(rng: random.Random, session: str) -> str:
    data = base64.b64encode(b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randrange(60_000, 600_000))).decode()
    return _tool_result(rng, session, [{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                      "data": data}}])


def _bundle(rng: random.Random, session: str) -> str:
    parts = []
    for _ in range(rng.randrange(3000, 9000)):
        a, b = rng.choice(string.ascii_letters), rng.choice(string.ascii_letters)
        parts.append(rng.choice([f"function {a}{b}(e,t){{return e.{rng.choice(_WORDS)}(t)}}",
                                 f"var {a}=\"{rng.choice(_WORDS)}-{rng.getrandbits(32):x}\";",
                                 f"{a}.headers.Authorization=\"Bearer \"+{b}.token;",
                                 f"if({a}.auth&&{b}.password){{{a}.login({b})}}"]))
    return _tool_result(rng, session, "".join(parts))


def _bytecode(rng: random.Random, session: str) -> str:
    return _tool_result(rng, session, "0x6080604052" + rng.randbytes(rng.randrange(20_000, 200_000)).hex())


def _api_response(rng: random.Random, session: str) -> str:
    doc = {"status": 200, "items": [{"id": rng.getrandbits(40), "name": _prose(rng, 3), "owner": "svc"}
                                    for _ in range(rng.randrange(5, 60))]}
    return _tool_result(rng, session, json.dumps(doc, indent=2))


def make_corpus(directory: Path, megabytes: float, rng: random.Random) -> int:
    """Sessions of a few MB; by bytes about half blobs (images, bundle, bytecode), half conversation."""
    total = 0
    while total < megabytes * 1e6:
        session = str(uuid.UUID(int=rng.getrandbits(128)))
        lines = []
        for _ in range(rng.randrange(150, 400)):
            pick = rng.random()
            if pick < 0.25:
                lines.append(_envelope(rng, session, "user", {"role": "user", "content": _prose(rng, 40)}))
            elif pick < 0.6:
                lines.append(_tool_use(rng, session))
            elif pick < 0.9:
                lines.append(_tool_result(rng, session, _code(rng, rng.randrange(20, 300))))
            else:
                lines.append(_api_response(rng, session))
        for blob in (_image, _image, _bundle, _bytecode):
            lines.insert(rng.randrange(len(lines)), blob(rng, session))
        data = ("\n".join(lines) + "\n").encode()
        (directory / f"{session}.jsonl").write_bytes(data)
        total += len(data)
    return total


_CODE_LINES = (
    "import {a}", "from {a}.{b} import {c}_{d}", "def {a}_{b}(self, {c}, {d}=None):", "    return {a}.{b}({c})",
    "    if not {a}_{b}:", "        raise ValueError(\"{a} {b} {c}\")", "    # {a} the {b} before {c}", "",
    "    for {a} in {b}_{c}:", "        {a}_{b}.append({c})", "class {A}{B}({C}):", "    \"\"\"{A} {b} {c} {d}.\"\"\"",
    "    {a}_{b} = get_{c}(request, timeout={n})", "    self.{a} = {b}", "    log.info(\"{a} %s\", {b}_{c})",
    "    assert {a}.{b} == {n}", "}}", "  {a}: {b}_{c},", "  const {a} = await {b}.{c}({d});")


def _source(rng: random.Random, lines: int) -> str:
    """Source text as a repository holds it: imports, definitions, control flow, comments, blank lines;
    an assignment whose name holds a credential word is as common as the words themselves."""
    out = []
    for _ in range(lines):
        words = {k: rng.choice(_WORDS) for k in "abcd"}
        words.update({k.upper(): rng.choice(_WORDS).capitalize() for k in "abc"})
        out.append(rng.choice(_CODE_LINES).format(n=rng.randrange(100), **words))
    return "\n".join(out)


def _path(rng: random.Random) -> str:
    return f"/home/dev/work/app/{rng.choice(_WORDS)}/{rng.choice(_WORDS)}_{rng.choice(_WORDS)}.py"


def _reply(rng: random.Random) -> str:
    """Assistant text as Claude writes it: a sentence or two, often a Markdown list, now and then a
    non-ASCII mark (an arrow, a dash, a check)."""
    parts = [_prose(rng, rng.randrange(8, 40))]
    for _ in range(rng.randrange(0, 6)):
        parts.append(f"- **{rng.choice(_WORDS).capitalize()}** \u2014 {_prose(rng, rng.randrange(4, 16))}"
                     + rng.choice(["", "", " \u2192 `" + rng.choice(_WORDS) + "()`", " \u2705"]))
    return "\n".join(parts)


def _numbered(text: str) -> str:
    """The Read tool's view: line numbers, an arrow, the line."""
    return "\n".join(f"{i:>6}\u2192{line}" for i, line in enumerate(text.split("\n"), start=1))


def _usage(rng: random.Random) -> dict:
    created = rng.randrange(20_000)
    return {"input_tokens": rng.randrange(1, 50), "cache_creation_input_tokens": created,
            "cache_read_input_tokens": rng.randrange(200_000),
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": created},
            "output_tokens": rng.randrange(1, 4000), "service_tier": "standard"}


def _assistant(rng: random.Random, session: str, block: dict) -> str:
    """One content block per line, each with the turn's usage, as Claude Code streams a turn."""
    return _envelope(rng, session, "assistant",
                     {"model": "claude-sonnet-4-5", "id": f"msg_{rng.getrandbits(96):024x}", "type": "message",
                      "role": "assistant", "content": [block], "stop_reason": None, "stop_sequence": None,
                      "usage": _usage(rng)},
                     {"requestId": f"req_{rng.getrandbits(96):024x}"})


def _turn(rng: random.Random, session: str) -> list[str]:
    """An assistant turn as Claude Code writes it: thinking (with its signature), text, a tool call (Grep,
    Glob, TodoWrite, Read, Edit or Bash, about as often as in real sessions), and the tool's result twice
    (in the message, and whole in `toolUseResult`)."""
    lines = []
    if rng.random() < 0.4:
        signature = base64.b64encode(rng.randbytes(rng.randrange(300, 1500))).decode()
        lines.append(_assistant(rng, session, {"type": "thinking", "thinking": _prose(rng, rng.randrange(20, 120)),
                                               "signature": signature}))
    lines.append(_assistant(rng, session, {"type": "text", "text": _reply(rng)}))
    tool_id = f"toolu_{rng.getrandbits(96):024x}"
    path = _path(rng)
    pick = rng.random()
    if pick < 0.12:
        matches = [f"{_path(rng)}:{rng.randrange(1, 400)}:{_source(rng, 1).strip()}" for _ in range(rng.randrange(1, 40))]
        tool, data = "Grep", {"pattern": rng.choice(_WORDS), "output_mode": "content", "-n": True}
        content = "\n".join(matches)
        result = {"mode": "content", "numFiles": 0, "filenames": [], "content": content, "numLines": len(matches)}
    elif pick < 0.18:
        names = sorted({_path(rng) for _ in range(rng.randrange(1, 80))})
        tool, data = "Glob", {"pattern": "**/*.py"}
        content = "\n".join(names)
        result = {"filenames": names, "durationMs": rng.randrange(5, 90), "numFiles": len(names), "truncated": False}
    elif pick < 0.26:
        old_todos = [{"content": _prose(rng, 6), "status": rng.choice(["pending", "in_progress", "completed"]),
                      "activeForm": _prose(rng, 4)} for _ in range(rng.randrange(2, 9))]
        new_todos = [dict(t, status="completed") if i == 0 else t for i, t in enumerate(old_todos)]
        tool, data = "TodoWrite", {"todos": new_todos}
        content = ("Todos have been modified successfully. Ensure that you continue to use the todo list to track "
                   "your progress. Please proceed with the current tasks if applicable")
        result = {"oldTodos": old_todos, "newTodos": new_todos}
    elif pick < 0.5:
        source = _source(rng, rng.randrange(20, 400))
        tool, data = "Read", {"file_path": path}
        content, result = _numbered(source), {"type": "text", "file": {
            "filePath": path, "content": source, "numLines": source.count("\n") + 1, "startLine": 1,
            "totalLines": source.count("\n") + 1}}
    elif pick < 0.7:
        original = _source(rng, rng.randrange(30, 300))
        old, new = _source(rng, rng.randrange(1, 12)), _source(rng, rng.randrange(1, 16))
        context = _source(rng, 6).split("\n")
        tool, data = "Edit", {"file_path": path, "old_string": old, "new_string": new}
        content = f"The file {path} has been updated. Here's the result of running `cat -n` on a snippet:\n" \
                  + _numbered("\n".join(context[:3] + new.split("\n") + context[3:]))
        hunk = ([" " + x for x in context[:3]] + ["-" + x for x in old.split("\n")] + ["+" + x for x in new.split("\n")]
                + [" " + x for x in context[3:]])
        result = {"filePath": path, "oldString": old, "newString": new, "originalFile": original,
                  "structuredPatch": [{"oldStart": 10, "oldLines": old.count("\n") + 7, "newStart": 10,
                                       "newLines": new.count("\n") + 7, "lines": hunk}],
                  "userModified": False, "replaceAll": False}
    else:
        stdout = "\n".join(f"tests/{rng.choice(_WORDS)}_{rng.choice(_WORDS)}.py::test_{rng.choice(_WORDS)} PASSED"
                           for _ in range(rng.randrange(1, 60)))
        tool, data = "Bash", {"command": f"pytest -q tests/{rng.choice(_WORDS)}", "description": _prose(rng, 6)}
        content, result = stdout, {"stdout": stdout, "stderr": "", "interrupted": False, "isImage": False}
    lines.append(_assistant(rng, session, {"type": "tool_use", "id": tool_id, "name": tool, "input": data}))
    lines.append(_envelope(rng, session, "user",
                           {"role": "user", "content": [{"tool_use_id": tool_id, "type": "tool_result",
                                                         "content": content}]},
                           {"toolUseResult": result}))
    return lines


def make_sessions(directory: Path, megabytes: float, rng: random.Random) -> int:
    """Sessions with the anatomy of real Claude Code files (turns of `_turn`, prompts between them) and
    the blobs real sessions sometimes carry: a screenshot in one session of three, a minified bundle or
    contract bytecode in one of ten. By bytes about one part in eight is blobs."""
    total = 0
    while total < megabytes * 1e6:
        session = str(uuid.UUID(int=rng.getrandbits(128)))
        lines = []
        for _ in range(rng.randrange(5, 40)):
            lines.append(_envelope(rng, session, "user", {"role": "user", "content": _prose(rng, 40)},
                                   {"permissionMode": "default"}))
            for _ in range(rng.randrange(1, 6)):
                lines += _turn(rng, session)
        blobs = [_image] * (rng.random() < 0.35) + [rng.choice([_bundle, _bytecode])] * (rng.random() < 0.15)
        for blob in blobs:
            lines.insert(rng.randrange(len(lines)), blob(rng, session))
        data = ("\n".join(lines) + "\n").encode()
        (directory / f"{session}.jsonl").write_bytes(data)
        total += len(data)
    return total


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def floor_seconds(files: list[Path]) -> tuple[float, float]:
    """Read every file and json.loads + json.dumps every line (stdlib): the floor, in this process.
    (wall seconds, CPU seconds)."""
    started, cpu = time.perf_counter(), time.process_time()
    for path in files:
        for line in path.read_bytes().split(b"\n"):
            if line.strip():
                with contextlib.suppress(ValueError):
                    json.dumps(json.loads(line))
    return time.perf_counter() - started, time.process_time() - cpu


def ours_seconds(root: Path, config: Path, pycache: Path, repo: Path = REPO) -> tuple[float, float, int, str]:
    """Wall and CPU (user + system) seconds of `chatops scrub check ROOT` as a whole process, start-up
    included, with its exit code and grade line. CPU time is what a busy machine does not inflate.

    Python's bytecode is written (under `pycache`, whatever PYTHONDONTWRITEBYTECODE says here), as an
    installed chatops has it: compiling ~100 modules from source on every start is not what a user pays."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(repo), PYTHONPYCACHEPREFIX=str(pycache))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "chatops", "--config", str(config), "scrub", "check", str(root)],
                            capture_output=True, text=True, env=env, cwd=repo)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    first = (result.stdout.splitlines() or [result.stderr.strip()[-200:]])[0]
    return seconds, cpu, result.returncode, first


#: The generated mixes: (label, generator). `sessions` is the one the target is read on.
MIXES = {
    "sessions": ("generated: real Claude Code anatomy (turns, toolUseResult, thinking signatures), "
                 "screenshots, bundles, bytecode hex", make_sessions),
    "blobs": ("generated, blob-heavy: half the bytes base64 PNGs, minified bundles, bytecode hex", make_corpus),
}


def measure(root: Path, label: str, tmp: Path, args: argparse.Namespace) -> None:
    """One table: the floor and ours (and `--against`'s code) on the files under `root`, in the same run."""
    files = corpus_files(root)
    size = sum(p.stat().st_size for p in files)
    if not files:
        sys.exit(f"no *.jsonl under {root}: name the folder that holds your session files")
    sides = [("ours: chatops scrub check (process)", REPO)]
    if args.against is not None:
        sides.append((f"--against {args.against.name} (process)", args.against.resolve()))
    configs = []
    for number, (_, repo) in enumerate(sides):
        config = tmp / f"config-{number}.toml"   # a data directory per checkout: their caches may differ
        config.write_text(f'timezone = "UTC"\ndata_dir = "{tmp / f"var-{number}"}"\n')
        configs.append(config)
    # first runs of this corpus: bytecode and databases compiled
    colds = [ours_seconds(root, config, tmp / f"pycache-{n}", repo) for n, ((_, repo), config) in
             enumerate(zip(sides, configs))]
    floors: list[tuple[float, float]] = []
    runs: list[list[tuple[float, float, int, str]]] = [[] for _ in sides]
    for _ in range(args.repeat):   # interleaved, so a change in the machine's load falls on every side
        floors.append(floor_seconds(files))
        for n, ((_, repo), config) in enumerate(zip(sides, configs)):
            runs[n].append(ours_seconds(root, config, tmp / f"pycache-{n}", repo))
    floor, floor_cpu = min(f[0] for f in floors), min(f[1] for f in floors)
    mb = size / 1e6
    print(f"corpus: {label}: {len(files)} files, {mb:.1f} MB; one core (cpu {args.cpu}), best of {args.repeat}")
    print(f"{'':38}{'wall MB/s':>10}{'s':>7}{'CPU MB/s':>10}{'s':>7}")
    print(f"{'floor: json.loads + json.dumps/line':38}{mb / floor:10.1f}{floor:7.2f}{mb / floor_cpu:10.1f}"
          f"{floor_cpu:7.2f}")
    for (name, _), side, cold in zip(sides, runs, colds):
        ours, ours_cpu = min(r[0] for r in side), min(r[1] for r in side)
        code, grade = side[0][2], side[0][3]
        print(f"{name:38}{mb / ours:10.1f}{ours:7.2f}{mb / ours_cpu:10.1f}{ours_cpu:7.2f}   exit {code}: {grade}")
        print(f"{'  its first run (nothing cached yet)':38}{mb / cold[0]:10.1f}{cold[0]:7.2f}{mb / cold[1]:10.1f}"
              f"{cold[1]:7.2f}")
        print(f"  ratio to the floor: wall {floor / ours:.2f}x, CPU {floor_cpu / ours_cpu:.2f}x (target >= 0.40x)")
    print(f"load average {os.getloadavg()[0]:.1f}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="measure your own transcripts (e.g. ~/.claude/projects)")
    parser.add_argument("--mb", type=float, default=22.5, help="size of each generated corpus")
    parser.add_argument("--mix", choices=[*MIXES, "both"], default="both", help="which generated corpus")
    parser.add_argument("--cpu", type=int, default=0, help="the one core both sides run on")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for every side")
    parser.add_argument("--against", type=Path,
                        help="another checkout (e.g. a `git worktree` of main) timed alike in the same run")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})   # the subprocess inherits it
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.corpus is not None:
            root = args.corpus.expanduser()
            measure(root, f"{root} (your transcripts)", tmp, args)
            return
        for name in MIXES if args.mix == "both" else [args.mix]:
            label, generate = MIXES[name]
            root = tmp / name
            root.mkdir()
            generate(root, args.mb, random.Random(42))
            measure(root, label, tmp, args)


if __name__ == "__main__":
    main()
