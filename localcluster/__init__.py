"""localcluster: an Algorithmia-compatible cluster that runs on one machine.

The official ``algorithmia`` client, its ``algo`` CLI and plain ``git`` talk to it as they
would to a real cluster. See ``docs/localcluster.md`` for what is and is not emulated.
"""

__version__ = "0.1.0"
