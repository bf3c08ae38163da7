"""Semantic versions of published algorithm versions, and the version ranges callers may ask for."""

from __future__ import annotations

import re

SEMVER_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
# "1.2.x", "1.2.*", "1.x", "1.*" (the docs show "*", clients commonly send "x").
RANGE_RE = re.compile(r"^(\d+)(?:\.(\d+))?\.[x*]$")

# version_type of a publish request -> which part is bumped. "patch" is the docs' name for "revision".
VERSION_TYPES = {"major": 0, "minor": 1, "revision": 2, "patch": 2, "default": 1}

Version = tuple[int, int, int]


def parse(text: str) -> Version | None:
    match = SEMVER_RE.match(text or "")
    return tuple(int(part) for part in match.groups()) if match else None  # type: ignore[return-value]


def parse_range(text: str) -> tuple[int, int | None] | None:
    """``(major, minor or None)`` for ``1.2.x`` / ``1.x`` forms, else None."""
    match = RANGE_RE.match(text or "")
    if not match:
        return None
    return int(match.group(1)), (int(match.group(2)) if match.group(2) is not None else None)


def in_range(version: Version, wanted: tuple[int, int | None]) -> bool:
    major, minor = wanted
    return version[0] == major and (minor is None or version[1] == minor)


def bump(latest: Version | None, version_type: str) -> Version:
    """The next version after ``latest`` (None: nothing published yet, so counting from 0.0.0)."""
    part = VERSION_TYPES[version_type]
    major, minor, patch = latest or (0, 0, 0)
    if part == 0:
        return major + 1, 0, 0
    if part == 1:
        return major, minor + 1, 0
    return major, minor, patch + 1


def format_version(version: Version) -> str:
    return ".".join(str(part) for part in version)
