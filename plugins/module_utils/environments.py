# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Choosing an algorithm environment: pure matching over the listings a cluster returns.

A cluster lists its installed environments per language
(``GET /v1/algorithm-environments/edge/languages/<language>/environments``) and, to admins,
what its AEMS master offers (``.../environments/available?master=prod|test``). Environment ids
differ between masters (and may differ between clusters), so the portable way to name an
environment is its display name; the seed tool's language shorthands are display names too.
"""

from __future__ import annotations

# The seed tool's language shorthands: (AEMS language, display name of the environment).
SHORTHANDS = {
    "python3": ("python3", "Python 3.7"),
    "python2": ("python2", "Python 2.7"),
    "pytorch": ("python3", "Python 3.8 + PyTorch 1.x"),
    "tensorflow-2.3": ("python3", "Python 3.7 + TensorFlow 2.3"),
    "tensorflow-1.14": ("python3", "Python 3.7 + TensorFlow GPU 1.14"),
}

SYNC_IN_PROGRESS = "in-progress"
SYNC_SUCCEEDED = "succeeded"


class EnvironmentChoiceError(ValueError):
    """The wanted environment cannot be chosen from what the cluster lists."""


class Wanted:
    """Which environment the task asks for: exactly one of language, name or id."""

    def __init__(self, language=None, environment_name=None, environment_id=None):
        given = [opt for opt, value in (("language", language), ("environment_name", environment_name),
                                        ("environment_id", environment_id)) if value]
        if len(given) != 1:
            raise EnvironmentChoiceError(
                "give exactly one of language, environment_name or environment_id (got {0})".format(
                    ", ".join(given) or "none"))
        self.field = given[0]
        self.value = str(language or environment_name or environment_id).strip()
        if self.field == "language":
            if self.value not in SHORTHANDS:
                raise EnvironmentChoiceError(
                    "language {0!r} is not one of the testbench's language shorthands: {1}; to pick any "
                    "other environment, give environment_name (its display name) or environment_id".format(
                        self.value, ", ".join(sorted(SHORTHANDS))))
            self.language, self.display_name = SHORTHANDS[self.value]
        else:
            self.language = None
            self.display_name = self.value if self.field == "environment_name" else None

    def describe(self):
        if self.field == "language":
            return "language={0} ({1!r})".format(self.value, self.display_name)
        return "{0}={1!r}".format(self.field, self.value)

    def matches(self, environment):
        if self.field == "environment_id":
            # An id is exact; the specification id is accepted too since admins see it in syncs.
            return self.value in (environment.get("id"), environment.get("environment_specification_id"))
        if self.language and language_name(environment) not in (None, self.language):
            return False
        return normalise_name(environment.get("display_name")) == normalise_name(self.display_name)


def normalise_name(name):
    """Display names compared without regard to case or runs of spaces ("python 3.7" == "Python  3.7")."""
    return " ".join(str(name or "").split()).casefold()


def language_name(environment):
    """The AEMS language of an environment listing entry (``language`` is an object there)."""
    language = environment.get("language")
    if isinstance(language, dict):
        return language.get("name")
    return language


def summary(environment):
    """What a task returns about an environment: id, display name and language."""
    return {
        "id": environment.get("id"),
        "display_name": environment.get("display_name"),
        "language": language_name(environment),
        "environment_specification_id": environment.get("environment_specification_id"),
        "machine_type": environment.get("machine_type"),
    }


def choose(environments, wanted):
    """The one listed environment ``wanted`` names, or ``None`` when none does.

    Several matches by name (the same display name twice) is an error: guessing could build
    the algorithm on the wrong hardware.
    """
    found = [env for env in environments if wanted.matches(env)]
    unique = {env.get("id"): env for env in found}
    if len(unique) > 1:
        raise EnvironmentChoiceError(
            "{0} matches several environments: {1}; give environment_id to pick one".format(
                wanted.describe(), describe_all(unique.values())))
    return found[0] if found else None


def describe_all(environments, limit=30):
    """``'Python 3.7' (id 4beb..., python3, CPU), ...`` for error messages: what the cluster offers."""
    items = sorted(environments, key=lambda env: (str(language_name(env)), normalise_name(env.get("display_name"))))
    text = ", ".join("{0!r} (id {1}, {2}, {3})".format(
        env.get("display_name"), env.get("id"), language_name(env), env.get("machine_type") or "?")
        for env in items[:limit])
    if len(items) > limit:
        text += ", and {0} more".format(len(items) - limit)
    return text or "none"


def languages_to_list(wanted, cluster_languages):
    """Which languages' environment listings can hold the wanted environment."""
    if wanted.language:
        return [wanted.language]
    return [lang for lang in cluster_languages if lang]


def sync_state(answer):
    """``(status, message)`` of a sync status answer (``{"sync_result": {"status", "message"}}``)."""
    result = (answer or {}).get("sync_result") or {}
    return result.get("status") or "unknown", result.get("message") or ""
