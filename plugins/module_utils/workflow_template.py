# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Templating of workflow values, and what an algorithm template's source calls.

Placeholders, as the seed tool defined them:

``<algo>``  the algorithm the value belongs to (for benchmark tests: the entrypoint);
``<user>``  the owner on the cluster the value is used on;
``.my``     in ``data://.my/`` and ``algo://.my/``: the owner of the calling key.

``.my`` is understood by the cluster itself, so it is only replaced when the owner is known;
``<user>`` becomes ``.my`` when it is not, which names the same owner in a URI.
"""

from __future__ import annotations

import os
import re

from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import ALGORITHM_NAME, data_uri_basename

MY_URI = re.compile(r"\b(data|algo)://\.my/")
# "algo://.my/Name", or the client form algo(".my/Name"), in a template's source.
ALGORITHM_CALL = re.compile(r"""(?:algo://|\.algo\(\s*['"])\.my/([A-Za-z][A-Za-z0-9_]*)""")
TEMPLATE_FILE_LIMIT = 2 * 1024 * 1024


def render_text(text, algo=None, user=None):
    """One string with ``<algo>``, ``<user>`` and (when ``user`` is known) ``.my`` replaced."""
    if algo:
        text = text.replace("<algo>", algo)
    text = text.replace("<user>", user or ".my")
    if user:
        text = MY_URI.sub(lambda match: "{0}://{1}/".format(match.group(1), user), text)
    return text


def render(value, algo=None, user=None):
    """Every string inside a JSON value rendered with ``render_text`` (dict keys are kept)."""
    if isinstance(value, str):
        return render_text(value, algo, user)
    if isinstance(value, list):
        return [render(item, algo, user) for item in value]
    if isinstance(value, dict):
        return {key: render(item, algo, user) for key, item in value.items()}
    return value


def data_file_plan(source_uri, algo, source_user=None, user=None):
    """Where one data file comes from and goes to: the destination collection is named after
    the algorithm (``data://<owner>/<algo>/<file name>``), as the seed tool did, so payloads
    can refer to ``data://.my/<algo>/<file name>``."""
    source = render_text(source_uri, algo, source_user)
    filename = data_uri_basename(source)
    return {
        "source": source,
        "destination": "data://{0}/{1}/{2}".format(user or ".my", algo, filename),
        "filename": filename,
    }


def template_dir(algorithms_dir, name):
    """``algorithms/<name>`` when it holds a template (a ``src/`` directory), else ``None``.

    Only valid algorithm names are looked up, so a name can never reach outside the directory.
    """
    if not algorithms_dir or not ALGORITHM_NAME.match(str(name)):
        return None
    path = os.path.join(algorithms_dir, name)
    return path if os.path.isdir(os.path.join(path, "src")) else None


def template_calls(path):
    """Names of the algorithms that the template's source calls as ``algo://.my/<Name>``."""
    calls = set()
    if not path:
        return calls
    for root, dirs, files in os.walk(os.path.join(path, "src")):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for filename in sorted(files):
            file_path = os.path.join(root, filename)
            try:
                if os.path.getsize(file_path) > TEMPLATE_FILE_LIMIT:
                    continue  # a model or image, not source
                with open(file_path, "r", encoding="utf-8", errors="ignore") as stream:
                    calls.update(ALGORITHM_CALL.findall(stream.read()))
            except OSError:
                continue
    return calls
