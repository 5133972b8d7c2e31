"""Issue 20 (engine side): linear work on adversarial input, nested JSON scrubbed as JSON, escapes that
never hide a boundary; issue 19: dot-directories walked, "nothing scanned" is its own exit code."""
from __future__ import annotations

import json
import random
import string

import pytest

from jobs.export.scrub import Action, FileKind, RulesError, check_paths, load_rules
from jobs.export.scrub.bounded import OVERLAP, STRIDE
from jobs.export.scrub.rules import parse_rules
from tests.conftest import run_cli
from tests.scrub.conftest import PREFILTERS, make_engine
from tests.scrub.labelled import filler_lines, load, transcript_line

B62 = string.ascii_letters + string.digits


def _token(rng: random.Random, prefix: str, n: int, alphabet: str = B62) -> str:
    """Generated at run time: the repository holds no credential-shaped literal."""
    return prefix + "".join(rng.choice(alphabet) for _ in range(n))


def _anthropic_key(rng: random.Random) -> str:
    return _token(rng, "sk-ant-api03-", 90, B62 + "_-")


def _adversarial(size: int, seed: int = 7) -> str:
    """Every rule's keywords, each inside a long alphanumeric, hex or base64 run, plus the shapes that
    make a backtracking engine rescan (`curl` with no `-u`, dotted runs, `t1.`, unterminated PEM)."""
    rng = random.Random(seed)
    keywords = sorted({k for rule in load_rules().rules for k in rule.keywords}
                      | {"password=", "token: ", "-----BEGIN RSA PRIVATE KEY-----\n", "Private-Lines: 4 ", "curl ",
                         "machine x ", "Basic ", "user@", "10.1.2.", "1::", "A3-", "re_", "SK", "00D", "API-",
                         "postgres://u:", "x://", "a.a.a.a.", "t1.", "\\n", '\\"'})
    alphabets = (B62, "0123456789abcdef", B62 + "+/")
    parts: list[str] = []
    total = 0
    while total < size:
        alphabet = rng.choice(alphabets)
        run = "".join(rng.choices(alphabet, k=rng.randrange(200, 6000)))
        cut = rng.randrange(len(run))
        piece = run[:cut] + rng.choice(keywords) + run[cut:]
        parts.append(piece)
        total += len(piece)
    return "".join(parts)[:size]


@pytest.mark.timeout(120)   # ~5 s here; a quadratic scan of this line takes hours
def test_adversarial_megabyte_line_costs_work_proportional_to_its_size():
    engine = make_engine(PREFILTERS[-1])
    rules = len(engine.ruleset.rules)
    for size in (250_000, 1_000_000):
        text = _adversarial(size)
        line = json.dumps({"type": "user", "message": {"role": "user", "content": text}}).encode()
        for data, kind in ((text.encode(), FileKind.TEXT), (line, FileKind.JSONL)):
            out = engine.process(data, kind, "adversarial", scrub=True)
            # each rule hands each character to its regex at most (STRIDE + OVERLAP) / STRIDE times (+ the
            # 2 × 4 KB JSON-key context prefixes): the bound is the size times the rules, not its square
            bound = len(data) * rules * (STRIDE + OVERLAP) / STRIDE + rules * 16_384
            assert 0 < out.regex_chars <= bound, (size, kind, out.regex_chars, bound)
            if kind is FileKind.JSONL:
                json.loads(out.output)


def test_redundant_leading_word_run_is_dropped_and_an_unbounded_start_refused():
    doc = {"version": "t", "rules": [{
        "id": "okta-like", "keywords": ["okta"],
        "pattern": r"(?i)(?<![A-Za-z0-9])[\w.-]*okta[\w.-]{0,25}token\s*=\s*(?P<secret>00[A-Za-z0-9]{20})"}]}
    rule = parse_rules(doc, "test").rules[0]
    assert not rule.pattern.pattern.startswith("(?i)(?<!") and rule.pattern_source == doc["rules"][0]["pattern"]
    value = "00" + "aB3" * 6 + "xy"
    text = f"MY_OKTA_TOKEN = {value}"
    assert [m.group("secret") for m in rule.pattern.finditer(text)] == [value]
    bad = {"version": "t", "rules": [{"id": "bad", "keywords": ["x"], "pattern": r"[A-Za-z]+x[0-9]{4}"}]}
    with pytest.raises(RulesError, match="unbounded repeat"):
        parse_rules(bad, "test")


def _nested_line(password: str) -> tuple[bytes, str]:
    level3 = json.dumps({"db_host": "db.internal", "db_password": password, "note": "caf\u00e9"}, ensure_ascii=True)
    level2 = json.dumps({"status": 200, "body": level3})
    level1 = json.dumps({"tool": "http_get", "response": level2})
    line = json.dumps({"type": "user", "message": {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": level1}]}})
    return line.encode(), level3


@pytest.mark.parametrize("prefilter", PREFILTERS)
def test_secret_three_json_levels_deep_is_removed_and_the_line_still_parses(prefilter):
    engine = make_engine(prefilter)
    password = _token(random.Random(3), "Pw7!", 20)
    line, _ = _nested_line(password)
    out = engine.process(line, FileKind.JSONL, "t.jsonl", scrub=True)
    assert password.encode() not in out.output
    content = json.loads(out.output)["message"]["content"][0]["content"]
    level3 = json.loads(json.loads(json.loads(content)["response"])["body"])
    assert level3["db_password"].startswith("[REDACTED:") and level3["db_host"] == "db.internal"
    assert [f.rule for f in out.findings if f.action is Action.REMOVED] == ["generic-password"]


@pytest.mark.parametrize("prefilter", PREFILTERS)
def test_nested_json_line_with_nothing_to_remove_stays_byte_identical(prefilter):
    engine = make_engine(prefilter)
    line, _ = _nested_line("os.environ[DB_PASSWORD]")   # an expression, not a value; escapes kept as written
    line = line.replace(b"db.internal", b"db.internal\\\\u002f")
    out = engine.process(line, FileKind.JSONL, "t.jsonl", scrub=True)
    assert out.output == line
    assert not [f for f in out.findings if f.action is Action.REMOVED]


@pytest.mark.parametrize("prefilter", PREFILTERS)
@pytest.mark.parametrize("escape", ["\\n", "\\t", "\\r\\n"])
def test_an_escape_never_hides_a_boundary(prefilter, escape):
    engine = make_engine(prefilter)
    key = _anthropic_key(random.Random(escape))
    # a string that is not JSON (a Python repr, a log line) keeps its escapes after one decoding
    text = f"print('deploying{escape}{key}{escape}done')"
    line = json.dumps({"type": "assistant", "message": {"content": [{"type": "text", "text": text}]}}).encode()
    for data, kind in ((line, FileKind.JSONL), (text.encode(), FileKind.TEXT)):
        out = engine.process(data, kind, "t", scrub=True)
        assert key.encode() not in out.output, kind
        assert "anthropic-api-key" in {f.rule for f in out.findings if f.action is Action.REMOVED}
        assert f"deploying{escape}[REDACTED:anthropic-api-key:".encode() in out.output.replace(b"\\\\", b"\\")


@pytest.mark.parametrize("prefilter", PREFILTERS)
def test_assignment_in_escaped_quotes_is_recognised(prefilter):
    engine = make_engine(prefilter)
    password = _token(random.Random(5), "Zq9#", 18)
    text = 'settings = "{\\"db_password\\": \\"' + password + '\\", truncated'   # not valid JSON inside
    line = json.dumps({"type": "user", "message": {"content": text}}).encode()
    out = engine.process(line, FileKind.JSONL, "t.jsonl", scrub=True)
    assert password.encode() not in out.output
    assert json.loads(out.output)["message"]["content"].startswith('settings = "{\\"db_password\\": \\"[REDACTED:')


@pytest.mark.parametrize("prefilter", PREFILTERS)
@pytest.mark.parametrize("wrap", ["json", "md", "txt"])
def test_json_escaped_twice_inside_a_json_markdown_or_text_file_is_scrubbed(prefilter, wrap, tmp_path):
    """A tool result pasted into a .json, .md or .txt file: its inner quotes are `\\\"`, which the raw
    triggers of `db_password: "…"` were not written for (the flattened pass finds them, as for JSONL)."""
    password = _token(random.Random(13), "Pw7!", 20)
    inner = json.dumps({"db_host": "db.internal", "db_password": password})
    document = json.dumps({"tool": "Read", "content": json.dumps({"result": inner})}, indent=2)
    body = {"json": document, "md": f"Output:\n\n```json\n{document}\n```\n", "txt": f"got {document}"}[wrap]
    path = tmp_path / f"pasted.{wrap}"
    path.write_text(body)
    report = check_paths([path], make_engine(prefilter))
    assert [f.rule for f in report.findings] == ["generic-password"]
    out = make_engine(prefilter).process(body.encode(), FileKind.TEXT, path.name, scrub=True)
    assert password.encode() not in out.output and b"db.internal" in out.output


def test_dot_directories_are_walked_and_only_git_internals_skipped(tmp_path):
    engine = make_engine(PREFILTERS[-1])
    key = _anthropic_key(random.Random(9))
    session = tmp_path / "home" / ".claude" / "projects" / "-work-app"
    session.mkdir(parents=True)
    (session / "s1.jsonl").write_text(json.dumps({"type": "user", "message": {"content": f"use {key}"}}) + "\n")
    (tmp_path / "home" / ".config").mkdir()
    (tmp_path / "home" / ".config" / "notes.md").write_text("nothing here\n")
    git = tmp_path / "home" / ".git" / "objects"
    git.mkdir(parents=True)
    (git / "packed.json").write_text(json.dumps({"k": key}))
    report = check_paths([tmp_path / "home"], engine)
    scanned = sorted(r.path.split("home/")[1] for r in report.files)
    assert scanned == [".claude/projects/-work-app/s1.jsonl", ".config/notes.md"]
    assert report.grade.value == "LOW"
    assert [i.problem for i in report.issues if i.file.endswith(".git")] == ["git internals"]


def test_nothing_scanned_is_its_own_exit_code_and_one_sentence(config_file, tmp_path):
    empty = tmp_path / "empty"
    (empty / ".claude").mkdir(parents=True)
    (empty / "readme.rst").write_text("not a transcript\n")
    result = run_cli("scrub", "check", str(empty), config=config_file)
    assert result.returncode == 6, result.stdout + result.stderr
    assert not result.stdout and result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("chatops scrub check: nothing scanned under")
    assert "HIGH" not in result.stderr and "Traceback" not in result.stderr
    (empty / "s.jsonl").write_text("")   # every file empty: nothing was read either
    again = run_cli("scrub", "check", str(empty), config=config_file)
    assert again.returncode == 6 and "1 file(s) found" in again.stderr
    help_text = run_cli("scrub", "check", "--help", config=config_file).stdout
    assert "6 nothing scanned" in " ".join(help_text.split())


def test_check_of_a_line_it_did_not_scan_is_fail_not_high(tmp_path):
    engine = make_engine(PREFILTERS[-1], max_line_bytes=100)
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"text": "x" * 500}) + "\n")
    assert check_paths([path], engine).grade.value == "FAIL"


def test_clean_copy_of_every_test_corpus_parses_line_for_line(config_file, tmp_path):
    rng = random.Random(11)
    secrets, negatives = load()
    lines = filler_lines(rng, 60, "s1")
    for item in [s.text for s in secrets] + [n.text for n in negatives]:
        for shape in ("bash", "read", "text"):
            lines.append(json.dumps(transcript_line(rng, item, shape, "s1"), ensure_ascii=rng.random() < 0.5))
    for i in range(20):
        lines.append(_nested_line(_token(rng, "Pw7!", 20) if i % 2 else "os.environ[X]")[0].decode())
    lines.append(json.dumps({"type": "user", "message": {"content": _adversarial(200_000, seed=2)}}))
    src = tmp_path / "corpus"
    src.mkdir()
    (src / "all.jsonl").write_text("\n".join(lines) + "\n")
    result = run_cli("scrub", str(src), "--out", str(tmp_path / "out"), "--as", "ben", config=config_file,
                     timeout=300)
    assert result.returncode in (0, 1), result.stdout[-2000:]
    copied = (tmp_path / "out" / "corpus" / "all.jsonl").read_text().split("\n")
    assert len(copied) == len(lines) + 1 and copied[-1] == ""
    for original, clean in zip(lines, copied):
        assert type(json.loads(clean)) is type(json.loads(original))
