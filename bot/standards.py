"""The register of superseded and withdrawn standards (knowledge/standards.yaml), and the citation check.

A topic or quiz file citing a standard that the register lists as superseded draws a warning (the bot still starts);
citing a withdrawn one is a problem that stops the load, naming file and line.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from bot.yamlfile import LineDict, Problem, display_name, load_yaml, yaml_files

REGISTER_FILE = "standards.yaml"
REGISTER_KEYS = {"old", "name", "status", "current", "since", "note"}
STATUSES = ("superseded", "withdrawn")
_DASHES = "-‐–—"  # after NFKC, full-width hyphens are plain ones
# A designation as standards write it: GB 50010-2010, GB/T 50010-2010, JGJ/T 235-2011, DB46/T 1-2020, GB 50016.
DESIGNATION = re.compile(rf"(?P<prefix>[A-Za-z]+(?:\d+(?=\s*/))?(?:\s*/\s*[A-Za-z])?)\s*(?P<number>\d+(?:\.\d+)*)"
                         rf"(?:\s*[{_DASHES}]\s*(?P<year>\d{{4}}))?")
EDITION = re.compile(r"\s*\(\s*(?P<year>\d{4})\s*年\s*版\s*\)")


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def citation_pattern(old: str, current: str | None = None) -> re.Pattern[str] | None:
    """What counts as citing `old` in NFKC-normalised text, or None when `old` is not a designation.

    `GB 50010-2010` matches GB50010-2010 and GB 50010—2010 but not GB/T 50010-2010 (another designation), not
    GB 50010-20101 or GB 500100-2010 (other numbers), not DGB 50010-2010. When the current designation is the old
    one with an edition, e.g. GB 50016-2014 → GB 50016-2014（2018年版）, citing that edition is not stale.
    """
    found = DESIGNATION.fullmatch(_nfkc(old).strip())
    if not found:
        return None
    prefix = r"\s*/\s*".join(re.escape(part.strip()) for part in found["prefix"].split("/"))
    pattern = rf"(?<![A-Za-z0-9/]){prefix}\s*{re.escape(found['number'])}"
    if found["year"]:
        pattern += rf"\s*[{_DASHES}]\s*{found['year']}(?!\d)"
    else:
        pattern += r"(?!\.?\d)"
    head = DESIGNATION.match(_nfkc(current or "").strip())
    edition = EDITION.match(_nfkc(current or "").strip(), head.end()) if head else None
    if head and edition and _same_designation(head, found):
        pattern += rf"(?!\s*\(\s*{edition['year']}\s*年\s*版)"
    return re.compile(pattern, re.IGNORECASE)


def _same_designation(a: re.Match[str], b: re.Match[str]) -> bool:
    def key(m: re.Match[str]) -> tuple[str, str, str | None]:
        return re.sub(r"\s", "", m["prefix"]).upper(), m["number"], m["year"]
    return key(a) == key(b)


@dataclass(frozen=True)
class StandardChange:
    """One entry of the register: a designation no longer to be cited, and what to cite instead."""

    old: str
    status: str                  # superseded (warn) | withdrawn (fail)
    pattern: re.Pattern[str]
    current: str | None = None
    since: str | None = None
    note: str | None = None
    file: str = ""
    line: int = 0

    def finding(self, display: str, line: int) -> Problem:
        since = f" since {self.since}" if self.since else ""
        instead = f": cite {self.current} instead" if self.current else ""
        message = f"cites {self.old}, {self.status}{since}{instead} (see {self.file}:{self.line})"
        return Problem(display, line, message, warning=self.status == "superseded")


def _register_text(raw: LineDict, key: str, display: str, problems: list[Problem]) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(display, raw.line_of(key), f"'{key}' must be text (or be left out)"))
        return None
    return value.strip()


def _check_change(raw: LineDict, display: str, problems: list[Problem]) -> StandardChange | None:
    count = len(problems)

    def problem(key: str | None, message: str) -> None:
        problems.append(Problem(display, raw.line_of(key) if key else raw.line, message))

    for key in sorted(set(raw) - REGISTER_KEYS):
        problem(key, f"unknown key '{key}' (allowed: {', '.join(sorted(REGISTER_KEYS))})")
    old = _register_text(raw, "old", display, problems)
    current = _register_text(raw, "current", display, problems)
    note = _register_text(raw, "note", display, problems)
    _register_text(raw, "name", display, problems)
    pattern = citation_pattern(old, current) if old else None
    if "old" not in raw:
        problem(None, "missing 'old' (the designation no longer to be cited, e.g. GB 50010-2010)")
    elif old and pattern is None:
        problem("old", f"old {old!r} is not a designation like 'GB 50010-2010'")
    status = raw.get("status")
    if status not in STATUSES:
        problem("status" if "status" in raw else None, f"status must be {' or '.join(STATUSES)}, not {status!r}")
    if status == "superseded" and not current:
        problem(None, "a superseded standard needs 'current' (what to cite instead)")
    if pattern and current and pattern.search(_nfkc(current)):
        problem("current", f"current {current!r} would itself count as citing {old!r}")
    since = raw.get("since")
    if isinstance(since, datetime.date):
        since = since.isoformat()
    elif since is not None:
        try:
            since = datetime.date.fromisoformat(str(since).strip()).isoformat()
        except ValueError:
            problem("since", f"since {since!r} is not a date like 2024-08-01 (leave it out when unsure)")
            since = None
    if len(problems) != count or pattern is None:
        return None
    return StandardChange(old=old, status=status, pattern=pattern, current=current, since=since, note=note,
                          file=display, line=raw.line)


def load_register(directory: Path) -> tuple[list[StandardChange], list[Problem]]:
    """The register `directory/standards.yaml` and its problems; no file means no register."""
    path = directory / REGISTER_FILE
    if not path.is_file():
        return [], []
    display = display_name(path, directory.parent)
    data, problems = load_yaml(path, display)
    if data is None:
        return [], problems
    if not isinstance(data, dict) or not isinstance(data.get("standards"), list):
        return [], problems + [Problem(display, 1, "the file must have a top-level 'standards:' list")]
    changes: list[StandardChange] = []
    seen: dict[str, StandardChange] = {}
    for index, raw in enumerate(data["standards"]):
        if not isinstance(raw, LineDict):
            problems.append(Problem(display, data["standards"].line_of(index), "each entry must be a mapping"))
            continue
        change = _check_change(raw, display, problems)
        if change is None:
            continue
        key = re.sub(r"\s", "", _nfkc(change.old)).upper()
        if key in seen:
            problems.append(Problem(display, raw.line, f"{change.old} is listed twice (also line {seen[key].line})"))
            continue
        seen[key] = change
        changes.append(change)
    return changes, problems


def stale_citations(path: Path, display: str, register: list[StandardChange]) -> list[Problem]:
    """Every line of a knowledge file that cites a designation of the register (comment lines excepted)."""
    findings = []
    if not register:
        return findings
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        text = _nfkc(line)
        findings += [change.finding(display, number) for change in register if change.pattern.search(text)]
    return findings


def check_citations(folder: Path, register: list[StandardChange]) -> tuple[list[Problem], list[Problem]]:
    """(warnings, problems) for the YAML files of `folder`: superseded citations warn, withdrawn ones fail."""
    findings = [f for path, display in yaml_files(folder) for f in stale_citations(path, display, register)]
    return sorted(f for f in findings if f.warning), sorted(f for f in findings if not f.warning)
