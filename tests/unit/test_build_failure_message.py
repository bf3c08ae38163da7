"""A failed build's message leads with the reason its build log gives last."""

from __future__ import annotations

from ansible_collections.algorithmia.testbench.plugins.module_utils.build_publish import last_words


def test_the_last_non_empty_line_is_the_reason():
    log = "Building alice/x at commit abc (scala-2, Scala 2.x)\nBuild failed: this localcluster cannot build scala-2.\n\n"
    assert last_words(log) == ": Build failed: this localcluster cannot build scala-2"


def test_an_empty_log_adds_nothing():
    assert last_words("") == "" and last_words(None) == "" and last_words(" \n\n") == ""
