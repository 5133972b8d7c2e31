"""The repository carries everything its tests, benches and commands read: a clone with nothing beside it works.

The first check of a fresh clone failed because a test read the Merkle vectors from a sibling folder of the
repository that exists only on the machine the code was written on. These tests read every tracked file (`git ls-files`) and refuse
any way of reaching outside the repository that such a path took: the sibling folder named outright, an
absolute path on the build machine, or a path built from `__file__` that climbs above the repository root.
They also hold tests and benches to "a missing file fails, never skips".
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
THIS = Path(__file__).resolve().relative_to(REPO).as_posix()

# Names of places outside the repository; a tracked file that names one reads (or tells someone to read) it.
#: (Spelt in pieces so that this file does not name them itself.)
SIBLING = "shared"
OUTSIDE = re.compile(r"\.\./" + SIBLING + r"|/work/" + SIBLING + r"|/work/main|/work/wt-|/work/helpers|(?<![\w.])\.\./\.\.")
SKIPS = re.compile(r"pytest\.skip\(|\.skipif\(|importorskip\(|unittest\.skip|@skip\b")


def tracked() -> list[str]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
    return [name for name in listing.stdout.decode().split("\0") if name]


def text_of(name: str) -> str | None:
    data = (REPO / name).read_bytes()
    return None if b"\0" in data else data.decode("utf-8", errors="replace")


def levels_above_root(expression: ast.expr, module: str, known: dict[str, int]) -> int | None:
    """How far above the repository root a path expression built from `__file__` lands (0 = the root itself,
    negative = inside it), or None when the expression is not such a path."""
    match expression:
        case ast.Name(id="__file__"):
            return -len(Path(module).parts)          # the file itself: one level per part below the root
        case ast.Name(id=name) if name in known:
            return known[name]
        case ast.Call(func=ast.Name(id="Path"), args=[inner]):
            return levels_above_root(inner, module, known)
        case ast.Call(func=ast.Attribute(value=inner, attr="resolve" | "absolute")):
            return levels_above_root(inner, module, known)
        case ast.Attribute(value=inner, attr="parent"):
            base = levels_above_root(inner, module, known)
            return None if base is None else base + 1
        case ast.Subscript(value=ast.Attribute(value=inner, attr="parents"), slice=ast.Constant(value=int(k))):
            base = levels_above_root(inner, module, known)
            return None if base is None else base + k + 1
        case ast.BinOp(op=ast.Div(), left=inner, right=ast.Constant(value="..")):
            base = levels_above_root(inner, module, known)
            return None if base is None else base + 1
    return None


def climbs_out(name: str, source: str) -> list[str]:
    """Every expression in a module that builds a path above the repository root from `__file__`."""
    known: dict[str, int] = {}
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            level = levels_above_root(node.value, name, known)
            if level is not None:
                known[node.targets[0].id] = level
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.expr):
            level = levels_above_root(node, name, known)
            if level is not None and level > 0:
                found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_tracked_file_names_a_place_outside_the_repository():
    named = [f"{name}:{number}: {line.strip()}"
             for name in tracked() if name != THIS and (text := text_of(name)) is not None
             for number, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert named == []


# The design documents the code was built from live outside the repository; the project cites its own docs/.
DESIGN_DOCS = re.compile(r"\bARCHITECTURE\b|\b(?:LEDGER|MEASURED|STYLE)\.md\b")
CITED = re.compile(r"docs/([\w-]+\.md)(?:,? \(?\"([^\"]+)\"| ((?:§\d+(?:–§\d+)?(?:, )?)+))?")


def test_no_tracked_file_cites_a_design_document_that_is_not_in_the_repository():
    citing = [f"{name}:{number}: {line.strip()}"
              for name in tracked() if name != THIS and (text := text_of(name)) is not None
              for number, line in enumerate(text.splitlines(), 1) if DESIGN_DOCS.search(line)]
    assert citing == []


def test_every_cited_doc_and_section_exists():
    """`docs/ledger.md §7`, `docs/measured.md, "Scrub"`: the file exists, with that numbered or named
    section."""
    missing = []
    for name in tracked():
        if name == THIS or (text := text_of(name)) is None:
            continue
        for match in CITED.finditer(text):
            doc = REPO / "docs" / match[1]
            if not doc.is_file():
                missing.append(f"{name}: docs/{match[1]}")
                continue
            headings = re.findall(r"^#+ (.+)$", doc.read_text(), re.M)
            numbers = {h.split(".", 1)[0] for h in headings if h[0].isdigit()}
            wanted = [] if match[3] is None else re.findall(r"§(\d+)", match[3])
            missing += [f"{name}: docs/{match[1]} §{n}" for n in wanted if n not in numbers]
            if match[2] is not None and match[2] not in headings:
                missing.append(f"{name}: docs/{match[1]} \"{match[2]}\"")
    assert missing == []


def test_no_python_file_builds_a_path_above_the_repository_root():
    climbing = [hit for name in tracked() if name.endswith(".py") and name != THIS
                for hit in climbs_out(name, (REPO / name).read_text())]
    assert climbing == []


@pytest.mark.parametrize("source, escapes", [
    (f'VECTORS = Path(__file__).resolve().parents[2].parent / "{SIBLING}"', True),
    (f'REPO = Path(__file__).resolve().parents[2]\nVECTORS = REPO.parent / "{SIBLING}" / "vectors"', True),
    (f'DATA = Path(__file__).parent / ".." / ".." / ".." / "{SIBLING}"', True),
    ('REPO = Path(__file__).resolve().parents[2]\nVECTORS = REPO / "tests" / "ledger" / "vectors"', False),
    ('VECTORS = Path(__file__).resolve().parent / "vectors"', False),
])
def test_the_climb_check_catches_the_path_that_broke_a_fresh_clone(source, escapes):
    assert bool(climbs_out("tests/ledger/helpers.py", source)) is escapes


def test_no_test_or_bench_skips_itself():
    """A test that skips when its data or a dependency is missing turns a broken clone green."""
    skipping = [f"{name}:{number}: {line.strip()}"
                for name in tracked() if name.startswith(("tests/", "bench/")) and name.endswith(".py")
                and name != THIS
                for number, line in enumerate((REPO / name).read_text().splitlines(), 1) if SKIPS.search(line)]
    assert skipping == []


def test_a_test_over_a_glob_of_missing_files_fails_instead_of_skipping(tmp_path: Path):
    """Data-driven tests are parametrized over globs; under the project's pytest settings a glob of a missing
    folder fails the run (it would otherwise be reported as one skipped test and the run would pass)."""
    test = tmp_path / "test_data.py"
    test.write_text("import pathlib, pytest\n"
                    "@pytest.mark.parametrize('path', sorted(pathlib.Path('missing').rglob('*.json')))\n"
                    "def test_each(path):\n    assert path.exists()\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                          "-c", str(REPO / "pyproject.toml"), "--rootdir", str(tmp_path), str(test)],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode != 0 and "skipped" not in run.stdout, run.stdout
    assert "Empty parameter set" in run.stdout
