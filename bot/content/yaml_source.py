"""Read a YAML file safely and remember on which line every value sits.

Content files are edited by people who do not write Python, so every problem is
reported as ``file:line: message``. Aliases are refused (no "billion laughs"),
files over a size limit are refused before parsing, and only the safe loader's
constructors are used (libyaml's ``CSafeLoader`` when installed, else ``SafeLoader``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 2_000_000
MAX_DEPTH = 50  # content nests a few levels; a file nested hundreds deep overflowed the stack

Loc = tuple[str | int, ...]


class ContentError(Exception):
    """Content that cannot be used. ``problems`` are ``file:line: message`` strings."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class SourceFile:
    """A parsed YAML file with the line (1-based) of each value, keyed by its path."""

    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """The line of ``loc``, or of its nearest parent that has one."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def where(self, loc: Loc) -> str:
        return f"{self.path}:{self.line_of(loc)}"


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
_STR = "tag:yaml.org,2002:str"


def _walk(node: yaml.Node, loader: yaml.SafeLoader, loc: Loc, lines: dict[Loc, int],
          seen: set[int]) -> Any:
    """Build Python values from the node tree, recording lines. A node reached twice is an
    alias (``*name``): refused, so a "billion laughs" file cannot expand."""
    if id(node) in seen:
        raise yaml.MarkedYAMLError(
            None, None, "aliases (*name) are not allowed in content files", node.start_mark
        )
    seen.add(id(node))
    if len(loc) > MAX_DEPTH:
        raise yaml.MarkedYAMLError(
            None, None, f"nested more than {MAX_DEPTH} levels deep", node.start_mark
        )
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.MarkedYAMLError(
                    None, None, "a key must be a plain value", key_node.start_mark
                )
            if id(value_node) in seen:
                raise yaml.MarkedYAMLError(
                    None, None, "aliases (*name) are not allowed in content files",
                    key_node.start_mark,
                )
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                raise yaml.MarkedYAMLError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            out[key] = _walk(value_node, loader, (*loc, key), lines, seen)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, loader, (*loc, i), lines, seen) for i, item in enumerate(node.value)]
    if node.tag == _STR and isinstance(node, yaml.ScalarNode):
        return node.value  # what the safe constructor returns for a string (most values)
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:  # "2026-02-31": a date that does not exist
        raise yaml.MarkedYAMLError(
            None, None, f"{node.value!r} is not a valid value ({exc})", node.start_mark
        ) from None


def load_yaml(path: Path) -> SourceFile:
    """Parse ``path``; raise ContentError with file:line on any problem."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ContentError([f"{path}:1: cannot read file ({exc.strerror})"]) from None
    if size > MAX_FILE_BYTES:
        raise ContentError(
            [f"{path}:1: file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit"]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError([f"{path}:1: not UTF-8 text ({exc.reason})"]) from None
    except IsADirectoryError:
        raise ContentError([f"{path}:1: is a folder, not a file"]) from None
    except OSError as exc:  # unreadable (permissions), vanished, I/O error
        raise ContentError([f"{path}:1: cannot read file ({exc.strerror})"]) from None
    loader = _BaseLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Loc, int] = {}
        data = None if node is None else _walk(node, loader, (), lines, set())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = exc.problem or exc.context or "invalid YAML"
        raise ContentError([f"{path}:{line}: YAML error: {what}"]) from None
    except yaml.YAMLError as exc:
        raise ContentError([f"{path}:1: YAML error: {exc}"]) from None
    except RecursionError:  # the pure-Python parser composes nested nodes recursively
        raise ContentError([f"{path}:1: YAML error: nested too deeply"]) from None
    finally:
        loader.dispose()
    return SourceFile(path=path, data=data, lines=lines)
