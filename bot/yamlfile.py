"""YAML loading that remembers line numbers, so every problem can name its file and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    message: str
    warning: bool = False  # printed by the checks, but neither fails them nor stops the bot loading

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        return f"{self.file}:{self.line}: {kind}{self.message}"


class LineDict(dict):
    """A mapping that knows the line of each key's value (1-based)."""

    line: int = 0
    lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


class LineList(list):
    line: int = 0
    lines: list[int]

    def line_of(self, index: int) -> int:
        return self.lines[index] if index < len(self.lines) else self.line


class _Loader(yaml.SafeLoader):
    duplicate_keys: list[tuple[int, str]]


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            loader.duplicate_keys.append((key_node.start_mark.line + 1, str(key)))
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = value_node.start_mark.line + 1
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def load_yaml(path: Path, display: str) -> tuple[Any, list[Problem]]:
    """Parse a YAML file; syntax errors and duplicate keys come back as problems with their line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(display, 1, f"not UTF-8 text ({exc.reason})")]
    loader = _Loader(text)
    loader.duplicate_keys = []
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        # "while parsing a flow sequence" points where the bracket opened; that is the line to fix
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(display, line, f"YAML syntax error: {reason}")]
    finally:
        loader.dispose()
    problems = [Problem(display, line, f"duplicate key {key!r}") for line, key in loader.duplicate_keys]
    return data, problems


def display_name(path: Path, base: Path) -> str:
    """How problems name a file: relative to `base` (the folder holding knowledge/), e.g. knowledge/topics/conc.yaml."""
    return str(path.relative_to(base)) if base in path.parents else str(path)


def yaml_files(folder: Path) -> list[tuple[Path, str]]:
    """Every *.yaml file of a knowledge subfolder (topics/, quiz/) with its display name, in name order."""
    return [(path, display_name(path, folder.parent.parent)) for path in sorted(folder.glob("*.yaml"))]


def iter_entries(folder: Path, key: str, problems: list[Problem]) -> Iterator[tuple[str, LineDict]]:
    """Each mapping under the top-level `key:` list of every YAML file in `folder`, with the file's display name.

    Files that do not parse, or lack the list, add problems and yield nothing.
    """
    files = yaml_files(folder)
    if not files:
        problems.append(Problem(str(folder), 0, "no *.yaml files"))
    for path, display in files:
        data, file_problems = load_yaml(path, display)
        problems += file_problems
        if data is None:
            continue
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            problems.append(Problem(display, 1, f"the file must have a top-level '{key}:' list"))
            continue
        for index, raw in enumerate(data[key]):
            if isinstance(raw, LineDict):
                yield display, raw
            else:
                problems.append(Problem(display, data[key].line_of(index), f"each entry of '{key}' must be a mapping"))
