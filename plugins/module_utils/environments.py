# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Algorithm environments: pure matching over a cluster's listings, and the environment calls.

Every ``/v1/algorithm-environments/...`` path the collection uses is spoken by
``ClusterEnvironments`` at the end of this file; everything above it is pure logic.

A cluster lists its installed environments per language
(``GET /v1/algorithm-environments/edge/languages/<language>/environments``) and, to admins,
what its AEMS master offers (``.../environments/available?master=prod|test``). Environment ids
differ between masters (and may differ between clusters), so the portable way to name an
environment is its display name; the seed tool's language shorthands are display names too.
"""

from __future__ import annotations

from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import AuthError, NotFound, TaskFailed
from ansible_collections.algorithmia.testbench.plugins.module_utils.waiting import Deadline, poll

EDGE = "/v1/algorithm-environments/edge"

# The testbench's language shorthands: (AEMS language, display name of the environment). The
# Python ones are the seed tool's; the others name each language's environment as AEMS catalogues
# it (java11, scala-2, r36 and csharp-dotnet-core2 are AEMS's documented language names;
# javascript, ruby and rust have none documented, so their pre-AEMS names are used).
SHORTHANDS = {
    "python3": ("python3", "Python 3.7"),
    "python2": ("python2", "Python 2.7"),
    "pytorch": ("python3", "Python 3.8 + PyTorch 1.x"),
    "tensorflow-2.3": ("python3", "Python 3.7 + TensorFlow 2.3"),
    "tensorflow-1.14": ("python3", "Python 3.7 + TensorFlow GPU 1.14"),
    "javascript": ("javascript", "Node.js 20"),
    "java": ("java11", "Java 11.0"),
    "ruby": ("ruby", "Ruby 3.1"),
    "scala": ("scala-2", "Scala 2.x"),
    "r": ("r36", "R 3.6"),
    "rust": ("rust", "Rust 1.x"),
    "csharp": ("csharp-dotnet-core2", "C# .NET Core 2.x"),
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

    def label(self, environment=None):
        """What an algorithm is built on, for messages and the verdict: ``java, 'Java 11.0'``.

        ``environment`` is the chosen environment (``summary()``), when known: its display name
        and AEMS language are then what the cluster says, also for an environment_name or id.
        """
        environment = environment or {}
        language = self.value if self.field == "language" else environment.get("language")
        name = environment.get("display_name") or self.display_name
        if name:
            return "{0}, {1!r}".format(language, name) if language else repr(name)
        return "environment_id {0}".format(self.value)

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


# ---- the environment calls of one cluster ------------------------------------------------


class ClusterEnvironments:
    """Installed environments, the AEMS master's offer and syncs, through an ``AlgorithmiaClient``."""

    def __init__(self, client):
        self.client = client

    def installed(self, wanted):
        """The installed environments that can hold ``wanted`` (a ``Wanted`` or an AEMS language name)."""
        if isinstance(wanted, Wanted):
            if wanted.language:
                languages = [wanted.language]
            else:
                listed = self.client.get_json(EDGE + "/languages", retry=True,
                                              action="list the cluster's algorithm languages") or []
                languages = languages_to_list(wanted, [lang.get("name") for lang in listed])
        else:
            languages = [wanted]
        found = []
        for lang in languages:
            try:
                found.extend(self.client.get_json(EDGE + "/languages/{0}/environments", lang, retry=True,
                                                  action="list the {0} environments".format(lang)) or [])
            except NotFound:
                continue  # a language this cluster does not offer has no environments
        return found

    def available(self, master):
        """What AEMS master ``master`` offers (an admin call)."""
        return self.client.get_json(EDGE + "/environments/available", params={"master": master}, retry=True,
                                    action="list the environments of AEMS master {0!r}".format(master)) or []

    def resolve(self, wanted, master, sync, sync_timeout, check_mode):
        """The installed environment ``wanted`` names, as ``summary()`` plus ``synced``.

        Not installed: with ``sync``, it is synced from ``master`` and awaited (in check mode only
        reported); without, ``TaskFailed`` lists what the cluster has.
        """
        installed = self.installed(wanted)
        env = self._choose(installed, wanted)
        if env is not None:
            return dict(summary(env), synced=False)
        if not sync:
            raise TaskFailed(
                "Failed to choose the environment {0} on cluster {1}: it is not installed. Installed: {2}. Fix: pick "
                "one of those, or set sync_environment: true (with an admin API key) to sync it from the AEMS "
                "master {3!r}.".format(wanted.describe(), self.client.cluster, describe_all(installed), master))
        try:
            offered = self.available(master)
        except AuthError as exc:
            raise TaskFailed(
                "Failed to sync the environment {0} on cluster {1}: it is not installed, and listing AEMS master {2!r} "
                "was refused ({3}). Fix: run this task with an admin API key, ask the cluster's admin to sync it, or "
                "pick an installed one: {4}.".format(wanted.describe(), self.client.cluster, master,
                                                     exc.status, describe_all(installed))) from None
        spec = self._choose(offered, wanted)
        if spec is None:
            raise TaskFailed(
                "Failed to choose the environment {0} on cluster {1}: it is neither installed nor offered by AEMS "
                "master {2!r}. Installed: {3}. The master offers: {4}. Fix: pick one of those (or the other "
                "aems_master).".format(wanted.describe(), self.client.cluster, master,
                                       describe_all(installed), describe_all(offered)))
        if check_mode:
            return dict(summary(spec), synced=True)
        self.sync(spec, master, sync_timeout)
        # Ids may be the cluster's own after a sync: read the installed entry back.
        after = [env for env in self.installed(language_name(spec))
                 if env.get("environment_specification_id") == spec.get("environment_specification_id")]
        env = after[0] if after else self._choose(self.installed(language_name(spec)), wanted)
        if env is None:
            raise TaskFailed("Failed to find the environment {0!r} on cluster {1} after its sync succeeded. Fix: list "
                             "the installed environments and give environment_id.".format(
                                 spec.get("display_name"), self.client.cluster))
        return dict(summary(env), synced=True)

    def sync(self, spec, master, timeout):
        """Sync ``spec`` from the AEMS master and wait until it is installed (at most ``timeout`` s)."""
        spec_id = spec["environment_specification_id"]
        label = "environment {0!r} (specification {1})".format(spec.get("display_name"), spec_id)
        # Never repeated: each POST starts another sync (resolve() checks the installed ones first).
        response = self.client.request("POST", EDGE + "/environment-specifications/{0}/syncs", spec_id,
                                       retry=False, action="start the sync of " + label)
        sync_id = response.text.strip().strip('"')  # the bare id, as real clusters answer
        status, message = poll(
            lambda: sync_state(self.client.get_json(EDGE + "/environment-specifications/{0}/syncs/{1}", spec_id,
                                                    sync_id, retry=True, action="read the sync of " + label)),
            lambda state: state[0] != SYNC_IN_PROGRESS, Deadline(timeout),
            describe=lambda state: "the sync of {0}: {1}".format(label, state[0]))
        if status == SYNC_IN_PROGRESS:
            raise TaskFailed("Failed to sync {0} on cluster {1}: still in progress after {2} s (sync {3}). Fix: "
                             "raise sync_timeout, or run again once the sync has finished.".format(
                                 label, self.client.cluster, timeout, sync_id))
        if status != SYNC_SUCCEEDED:
            raise TaskFailed("Failed to sync {0} from AEMS master {1!r} on cluster {2}: status {3}: {4}. Fix: "
                             "see the cluster's AEMS logs, then run again.".format(
                                 label, master, self.client.cluster, status, message or "no message"))

    def _choose(self, environments, wanted):
        try:
            return choose(environments, wanted)
        except EnvironmentChoiceError as exc:
            raise TaskFailed("Failed to choose the environment on cluster {0}: {1}.".format(
                self.client.cluster, exc)) from None
