"""Contests from YAML files (`qualitybot contest create FILE`): every problem names file and line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.accounts import REGION_NAMES, resolve_region
from bot.clock import utc_now
from bot.contest_setup import MODES
from bot.contests import ContestSpec
from bot.when import parse_duration, parse_moment
from bot.yamlfile import LineDict, Problem, load_yaml

SPEC_KEYS = {"title", "description", "starts_at", "ends_at", "questions", "seconds_per_question", "categories",
             "topics", "regions", "min_team_size", "speed_bonus", "difficulty", "mode"}


class ContestFileError(ValueError):
    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _moment(value: Any, now: datetime, tz: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):  # YAML reads 2025-09-20 09:00:00 as a datetime of its own
        return value.replace(tzinfo=tz) if value.tzinfo is None else value
    return parse_moment(str(value), now, tz)


def read_contest_file(path: Path, tz: ZoneInfo, now: datetime | None = None) -> ContestSpec:
    """A contest from YAML; problems name file and line.

    Times are in the configured time zone (北京时间) unless an offset is given, and may be relative to when the file
    is read (`now`, `now+1h`, 明天上午9点), so an example file works on any day; `ends_at` may also be a length of
    time after the start (`2h`, `3d`).
    """
    now = now or utc_now()
    data, problems = load_yaml(path, str(path))
    if data is None or problems:
        raise ContestFileError(problems or [Problem(str(path), 1, "empty file")])
    if not isinstance(data, LineDict):
        raise ContestFileError([Problem(str(path), 1, "expected a mapping of contest settings")])
    found: list[Problem] = []

    def bad(key: str, message: str) -> None:
        found.append(Problem(str(path), data.line_of(key), f"{key}: {message}"))

    for key in sorted({"title", "starts_at", "ends_at", "questions"} - set(data)):
        found.append(Problem(str(path), data.line, f"missing '{key}'"))
    for key in sorted(set(data) - SPEC_KEYS):
        bad(key, "unknown setting")
    values: dict[str, Any] = {}
    if "starts_at" in data:
        values["starts_at"] = _moment(data["starts_at"], now, tz)
        if values["starts_at"] is None:
            bad("starts_at", "not a time: write e.g. 2026-12-20 09:00, now, now+1h or 明天上午9点")
    if "ends_at" in data:
        length = parse_duration(str(data["ends_at"])) if not isinstance(data["ends_at"], datetime) else None
        if length is not None and values.get("starts_at"):
            values["ends_at"] = values["starts_at"] + length
        else:
            values["ends_at"] = _moment(data["ends_at"], now, tz)
        if values["ends_at"] is None:
            bad("ends_at", "not a time: write e.g. 2026-12-20 18:00, now+7d, 3d (after the start) or 后天下午6点")
    for key in ("questions", "seconds_per_question", "min_team_size"):
        if key in data:
            if isinstance(data[key], bool) or not isinstance(data[key], int):
                bad(key, "must be a whole number")
            else:
                values[key] = data[key]
    for key in ("title", "description"):
        if key in data:
            if not isinstance(data[key], str):
                bad(key, "must be text")
            else:
                values[key] = data[key]
    for key in ("categories", "topics", "regions"):
        if key in data and data[key] is not None:
            if not isinstance(data[key], list) or not all(isinstance(v, str) for v in data[key]):
                bad(key, "must be a list of names")
            else:
                values[key] = list(data[key])
    if "regions" in values:
        resolved = [resolve_region(r) for r in values["regions"]]
        if None in resolved:
            bad("regions", f"unknown 市县 {values['regions'][resolved.index(None)]!r}; known: {'、'.join(REGION_NAMES)}")
        values["regions"] = resolved
    if "speed_bonus" in data:
        if not isinstance(data["speed_bonus"], bool):
            bad("speed_bonus", "must be true or false")
        else:
            values["speed_bonus"] = data["speed_bonus"]
    if "mode" in data:
        if data["mode"] not in MODES:
            bad("mode", f"must be one of {', '.join(MODES)} (self: each at their own pace; live: the host opens "
                        "each question for everyone)")
        else:
            values["mode"] = data["mode"]
    if "difficulty" in data:
        mix = data["difficulty"]
        if not isinstance(mix, dict) or not all(k in (1, 2, 3) and isinstance(v, (int, float)) for k, v in mix.items()):
            bad("difficulty", "must map 1, 2, 3 to shares, e.g. {1: 0.3, 2: 0.5, 3: 0.2}")
        else:
            values["difficulty"] = dict(mix)
    if found:
        raise ContestFileError(found)
    return ContestSpec(**values)
