"""The repository stands alone: every decision and section the code cites exists in docs/.

Comments and docstrings cite decisions (`D19`), sections of the specification and the protocol
notes (`SPEC §6.12`, `PROTOCOL §2.5–2.8, §4.2`, `PROTOCOL_AGENT §5.3`, `AGENT_WIRE §3`), rows of
the capability checklist (`SPEC row 50`, `§18 rows 32–50`), appendices (`SPEC Appendix A`) and
the protocol's pitfalls (`pitfall P8`). A citation that names nothing misleads its reader, so
each one must resolve to an entry of docs/decisions.md or to a heading or item of docs/SPEC.md,
docs/PROTOCOL.md, docs/PROTOCOL_AGENT.md or docs/AGENT_WIRE.md. Nothing reaches outside the
repository, and the vectors in tests/vectors are the bytes their README documents."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from tests.support import ROOT

DOCS = ROOT / "docs"
DOCUMENTS = {"SPEC": DOCS / "SPEC.md", "PROTOCOL": DOCS / "PROTOCOL.md", "PROTOCOL_AGENT": DOCS / "PROTOCOL_AGENT.md",
             "AGENT_WIRE": DOCS / "AGENT_WIRE.md"}  # fmt: skip
SCANNED = ["app", "tests", "bench", "scripts", "wsgi.py", "gunicorn.conf.py", "requirements.txt", "requirements-dev.txt",
           "pyproject.toml", "README.md", "CONTRIBUTING.md", "CHANGELOG.md", ".env.example", "docs/DESIGN.md",
           "docs/AGENT_WIRE.md"]  # fmt: skip
SUFFIXES = {".py", ".pyi", ".proto", ".sh", ".md", ".html", ".js", ".css", ".example"}
NOT_SCANNED = ("tests/vectors/",)  # data, not prose

SECTION = r"\d+(?:\.\d+)*"
# `§6.4–6.5, §11.4`: one section, or a range, then more after commas.
CHAIN = rf"§{SECTION}(?:\s*[–-]\s*§?{SECTION})?(?:\s*,\s*§{SECTION}(?:\s*[–-]\s*§?{SECTION})?)*"
SECTION_CITATION = re.compile(rf"\b(SPEC|PROTOCOL_AGENT|PROTOCOL|AGENT_WIRE)(?:\.md)?\s+({CHAIN})")
APPENDIX_CITATION = re.compile(r"\b(SPEC|PROTOCOL_AGENT|PROTOCOL)(?:\.md)?\s+Appendix\s+([A-Z])\b")
ROWS = r"\d+(?:\s*[–-]\s*\d+)?(?:\s*,\s*\d+(?:\s*[–-]\s*\d+)?)*"
ROW_CITATION = re.compile(rf"(?:\bSPEC|§18)\s+rows?\s+({ROWS})")
PITFALL_CITATION = re.compile(r"\bpitfalls?\s+P(\d+)\b")
DECISION_CITATION = re.compile(r"\bD(\d+)\b")


def scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        if not path.exists():
            continue
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        for candidate in candidates:
            relative = candidate.relative_to(ROOT).as_posix()
            if (
                candidate.is_file()
                and (candidate.suffix in SUFFIXES or candidate == path)
                and "__pycache__" not in candidate.parts
                and "node_modules" not in candidate.parts  # installed packages, not ours
                and not re.search(r"_pb2\.pyi?$", candidate.name)
                and not relative.startswith(NOT_SCANNED)
            ):
                files.append(candidate)
    return files


@functools.cache
def texts() -> dict[str, str]:
    return {path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8") for path in scanned_files()}


def citations(pattern: re.Pattern[str]) -> list[tuple[str, re.Match[str]]]:
    """(where, match) for every match of `pattern`; a citation may wrap onto the next line."""
    found = []
    for name, text in texts().items():
        flat = re.sub(r"\n\s*(?:#+|//|\*|-)?\s*", " ", text)  # comment markers of a wrapped line
        found += [(name, match) for match in pattern.finditer(flat)]
    return found


@functools.cache
def headings(document: str) -> set[str]:
    """Section numbers of a document's headings: `### 6.12 Streaming` → "6.12", `## 5. Tools` → "5"."""
    text = DOCUMENTS[document].read_text(encoding="utf-8")
    return set(re.findall(r"^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s", text, re.M))


@functools.cache
def appendices(document: str) -> set[str]:
    return set(re.findall(r"^#{2,3}\s+Appendix\s+([A-Z])\b", DOCUMENTS[document].read_text(encoding="utf-8"), re.M))


def pitfalls() -> set[str]:
    """The numbered pitfalls of PROTOCOL §9: `* **P8 Accept-Encoding…**`."""
    return set(re.findall(r"^\* \*\*P(\d+)\b", DOCUMENTS["PROTOCOL"].read_text(encoding="utf-8"), re.M))


def spec_rows() -> set[int]:
    checklist = DOCUMENTS["SPEC"].read_text(encoding="utf-8").split("## 18. Capability checklist", 1)[1]
    return {int(number) for number in re.findall(r"^\| (\d+) \|", checklist, re.M)}


def numbers_in(chain: str, pattern: str) -> list[str]:
    return re.findall(pattern, chain)


def test_the_cited_documents_are_in_docs():
    for document in (*DOCUMENTS.values(), DOCS / "decisions.md"):
        assert document.is_file(), document
    assert {"6.12", "14", "18"} <= headings("SPEC") and {"2.5", "4.7", "8"} <= headings("PROTOCOL")
    assert {"5", "5.3", "10"} <= headings("PROTOCOL_AGENT") and {"1", "7"} <= headings("AGENT_WIRE")


def test_every_cited_decision_is_in_docs_decisions():
    decisions = set(re.findall(r"^#{2,3}\s+D(\d+)\b", (DOCS / "decisions.md").read_text(encoding="utf-8"), re.M))
    assert decisions == {str(number) for number in range(1, 36)}  # D1–D35 of SPEC §14 (D19: §2.1)
    cited = [(name, match[1]) for name, match in citations(DECISION_CITATION)]
    assert len(cited) > 30, "the scan found the code's citations"
    assert [(name, f"D{number}") for name, number in cited if number not in decisions] == []


def test_every_cited_section_is_a_heading_of_its_document():
    found = citations(SECTION_CITATION)
    assert len(found) > 100, "the scan found the code's citations"
    missing = [
        (name, match[0], section)
        for name, match in found
        for section in numbers_in(match[2], SECTION)
        if section not in headings(match[1])
    ]
    assert missing == []


@pytest.mark.parametrize("kind", ["appendix", "pitfall", "row"])
def test_every_cited_appendix_pitfall_and_checklist_row_exists(kind):
    if kind == "appendix":
        missing = [
            (name, match[0]) for name, match in citations(APPENDIX_CITATION) if match[2] not in appendices(match[1])
        ]
    elif kind == "pitfall":
        missing = [(name, match[0]) for name, match in citations(PITFALL_CITATION) if match[1] not in pitfalls()]
    else:
        rows = spec_rows()
        missing = []
        for name, match in citations(ROW_CITATION):
            for part in re.findall(r"\d+(?:\s*[–-]\s*\d+)?", match[1]):
                ends = [int(end) for end in re.split(r"\s*[–-]\s*", part)]
                missing += [(name, match[0], end) for end in ends if end not in rows]
    assert missing == []


def test_every_cited_docs_file_exists():
    cited = {(name, path) for name, text in texts().items() for path in re.findall(r"\bdocs/[\w.-]+\.md\b", text)}
    assert len(cited) > 5, "the scan found the code's references"
    assert sorted((name, path) for name, path in cited if not (ROOT / path).is_file()) == []


def test_no_code_reads_outside_the_repository():
    """A clone of this repository alone runs its tests: no path into a `shared/` beside it."""
    outside = re.compile(r"""/\s*["']shared["']|["']\.\./shared|\bshared/vectors\b""")
    reaching = [name for name, text in texts().items() if name.endswith(".py") and outside.search(text)]
    assert reaching == []


def test_the_vectors_are_the_bytes_their_readme_documents():
    import hashlib

    vectors = ROOT / "tests" / "vectors"
    documented = dict(
        re.findall(r"^\| `([\w.]+)` \|.*sha256 `([0-9a-f]{64})`", (vectors / "README.md").read_text(), re.M)
    )
    assert set(documented) == {path.name for path in vectors.iterdir() if path.name != "README.md"}
    for name, digest in documented.items():
        assert hashlib.sha256((vectors / name).read_bytes()).hexdigest() == digest, name
