"""JSON-escape cases, markers, and the byte-identity of lines without findings."""
from __future__ import annotations

import json
import re

from jobs.export.scrub import Action, FileKind
from tests.scrub.conftest import make_engine

TOKEN = "ghp_" + "Q7wErT9yUiOpAsDfGhJkLzXcVbNm1234QwEr"
PEM_BODY = "MIIEowIBAAKCAQEAx4Tq9ZpLmN3vB7yC2dE5fG8hJ1kL4mN6pQ9rS2tU5vW8xY1z"
MARKER = re.compile(r"\[REDACTED:([a-z0-9.-]+):([0-9a-f]{6})\]")


def _scrub(engine, *lines: str) -> tuple[list[str], object]:
    out = engine.process("\n".join(lines).encode(), FileKind.JSONL, "t.jsonl", scrub=True)
    return out.output.decode().split("\n"), out


def test_pem_written_as_escaped_newlines_is_found_in_the_decoded_string(engine):
    pem = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\n"
    line = json.dumps({"type": "user", "content": pem})
    assert "\\n" in line
    (out,), _ = _scrub(engine, line)
    assert PEM_BODY not in out
    assert json.loads(out)["content"].startswith("[REDACTED:private-key:")


def test_token_inside_escaped_quotes_is_masked_without_breaking_the_line(engine):
    line = json.dumps({"command": f'curl -H "Authorization: token {TOKEN}" https://api.github.com'})
    assert '\\"' in line
    (out,), _ = _scrub(engine, line)
    value = json.loads(out)["command"]
    assert TOKEN not in value and value.endswith('" https://api.github.com')


def test_read_tool_line_numbers_do_not_hide_a_pem_body(engine):
    pem = ["-----BEGIN OPENSSH PRIVATE KEY-----", PEM_BODY, PEM_BODY, "-----END OPENSSH PRIVATE KEY-----", "done"]
    view = "\n".join(f"{i:>6}\t{row}" for i, row in enumerate(pem, start=1))
    (out,), _ = _scrub(engine, json.dumps({"tool_use_id": "toolu_01ABC", "content": view}))
    content = json.loads(out)["content"]
    assert PEM_BODY not in content and content.endswith("     5\tdone")


def test_line_without_finding_stays_byte_identical_and_changed_line_keeps_its_other_bytes(engine):
    clean = '{"a": 1.50, "b": "caf\\u00e9", "c": [true, null]}'
    dirty = '{"a": 1.50, "b": "caf\\u00e9", "t": "' + TOKEN + '", "c": [true, null]}'
    (out_clean, out_dirty), _ = _scrub(engine, clean, dirty)
    assert out_clean == clean
    assert out_dirty.startswith('{"a": 1.50, "b": "caf\\u00e9", "t": "[REDACTED:github-pat:')
    assert out_dirty.endswith('", "c": [true, null]}')


def test_same_secret_gives_the_same_marker_across_files_and_another_key_another(engine):
    (a,), _ = _scrub(engine, json.dumps({"x": TOKEN}))
    out = engine.process(f"notes: {TOKEN}\n".encode(), FileKind.TEXT, "n.md", scrub=True).output.decode()
    marker = MARKER.search(a).group(0)
    assert marker in out and MARKER.search(a).group(1) == "github-pat"
    other = make_engine("python", key=b"z" * 32)
    b = other.process(json.dumps({"x": TOKEN}).encode(), FileKind.JSONL, "t", scrub=True).output.decode()
    assert MARKER.search(b).group(0) != marker


def test_findings_give_line_and_column_but_never_the_value(engine):
    _, out = _scrub(engine, '{"a":"x"}', json.dumps({"k": "caf\u00e9 \u2603 " + TOKEN}, ensure_ascii=True))
    (finding,) = [f for f in out.findings if f.action is Action.REMOVED]
    raw_line = json.dumps({"k": "caf\u00e9 \u2603 " + TOKEN}, ensure_ascii=True)
    assert (finding.line, finding.column) == (2, raw_line.index("ghp_") + 1)
    assert TOKEN not in finding.render() and TOKEN not in repr(finding)


def test_json_key_names_a_value_as_secret(engine):
    value = "Zx9Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9L"
    (out,), _ = _scrub(engine, json.dumps({"env": {"MY_SERVICE_TOKEN": value, "HOME": "/Users/dev"}}))
    assert value not in out and '"HOME": "/Users/dev"' in out


def test_lone_surrogate_escape_line_is_scrubbed_and_stays_valid(engine):
    line = '{"a": "\\ud800 ' + TOKEN + '"}'
    (out,), findings = _scrub(engine, line)
    assert TOKEN not in out and json.loads(out)["a"].startswith("\ud800 [REDACTED:")


def test_read_tool_view_after_a_header_line_does_not_hide_a_pem_body(engine):
    body = "MIIEowIBAAKCAQEAx4Tq9ZpL+N3vB7yC2dE5/G8hJ1kL4mN6pQ9rS2tU5vW8xY1z"   # real base64 has + and /
    pem = ["-----BEGIN OPENSSH PRIVATE KEY-----", body, body, "-----END OPENSSH PRIVATE KEY-----"]
    view = "Here is the file:\n" + "\n".join(f"{i:>6}\t{row}" for i, row in enumerate(pem, start=1))
    (out,), _ = _scrub(engine, json.dumps({"tool_use_id": "toolu_01ABC", "content": view}))
    assert body[:20] not in out and json.loads(out)["content"].startswith("Here is the file:\n")
    note = ("# notes\n\n" + view + "\nend\n").encode()
    text = engine.process(note, FileKind.TEXT, "n.md", scrub=True).output.decode()
    assert body[:20] not in text and text.count("\n") == note.count(b"\n")


def test_a_keyword_spelled_with_json_unicode_or_slash_escapes_is_still_found(engine):
    token_line = json.dumps({"content": f"key {TOKEN}"}).replace("ghp_", "gh\\u0070_")
    url_line = '{"u":"postgres:\\/\\/admin:Zq8vLw3NpR5tXy2@db.corp.io\\/app"}'
    out, report = _scrub(engine, token_line, url_line)
    assert TOKEN[4:] not in out[0] and "Zq8vLw3NpR5tXy2" not in out[1]
    assert {f.rule for f in report.findings} >= {"github-pat", "database-url-password"}
