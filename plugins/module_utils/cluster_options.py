# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection options every cluster module takes, and the source cluster's for the modules
that read from one; documented in ``doc_fragments/cluster.py`` (``DOCUMENTATION`` and
``SOURCE``): keep the two in step (sanity's validate-modules checks it).

Environment fallbacks: ``ALGORITHMIA_API`` and ``ALGORITHMIA_API_KEY`` are the names the
official client and the algorithms on a cluster use; the others are this collection's own.
The source cluster's key and CA fall back to the seed tool's ``SOURCE_API_KEY`` and
``SOURCE_CA_CERT``.
``REQUESTS_CA_BUNDLE`` is deliberately not a fallback for ``ca_cert``: it is a machine-wide
setting for every HTTPS call, and it still applies when ``ca_cert`` is not set.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.algorithmia.testbench.plugins.module_utils.client import (
    DEFAULT_TIMEOUT,
    AlgorithmiaClient,
)

ENVIRONMENT = {
    "api_address": "ALGORITHMIA_API",
    "api_key": "ALGORITHMIA_API_KEY",
    "ca_cert": "ALGORITHMIA_CA_CERT",
    "validate_certs": "ALGORITHMIA_VALIDATE_CERTS",
    "timeout": "ALGORITHMIA_TIMEOUT",
}


def cluster_argument_spec():
    """A fresh copy of the shared options, to merge into a module's own argument_spec."""
    return dict(
        api_address=dict(type="str", required=True, fallback=(env_fallback, [ENVIRONMENT["api_address"]])),
        api_key=dict(type="str", required=True, no_log=True, fallback=(env_fallback, [ENVIRONMENT["api_key"]])),
        ca_cert=dict(type="str", fallback=(env_fallback, [ENVIRONMENT["ca_cert"]])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, [ENVIRONMENT["validate_certs"]])),
        timeout=dict(type="float", default=DEFAULT_TIMEOUT, fallback=(env_fallback, [ENVIRONMENT["timeout"]])),
        lease=dict(type="dict", options=dict(
            generation=dict(type="int", required=True),
            run_id=dict(type="str", required=True),
            owner=dict(type="str", required=True),
            ttl=dict(type="int", default=900),
        )),
    )


SOURCE_ENVIRONMENT = {
    "source_api_key": "SOURCE_API_KEY",
    "source_ca_cert": "SOURCE_CA_CERT",
}


def source_argument_spec(required=False):
    """A fresh copy of the source cluster's options (``required``: the module always reads the source)."""
    return dict(
        source_api_address=dict(type="str", required=required),
        source_api_key=dict(type="str", required=required, no_log=True,
                            fallback=(env_fallback, [SOURCE_ENVIRONMENT["source_api_key"]])),
        source_ca_cert=dict(type="str", fallback=(env_fallback, [SOURCE_ENVIRONMENT["source_ca_cert"]])),
        source_validate_certs=dict(type="bool", default=True),
        source_timeout=dict(type="float", default=DEFAULT_TIMEOUT),
    )


def record_argument_spec():
    """The options of the modules that keep a run record (``run_record.py``)."""
    return dict(
        record_file=dict(type="path"),
        run_id=dict(type="str"),
    )


def client_from_options(options, prefix=""):
    """An ``AlgorithmiaClient`` from option values (``prefix="source_"`` reads ``source_api_key``...).

    Raises ``ClientConfigError`` for unusable values, before anything is sent.
    """
    def option(name, default=None):
        value = options.get(prefix + name)
        return default if value is None else value

    client = AlgorithmiaClient(
        option("api_address"),
        option("api_key"),
        ca_cert=option("ca_cert"),
        validate_certs=option("validate_certs", True),
        timeout=option("timeout", DEFAULT_TIMEOUT),
    )
    # So that a failure's fix names the options this client came from (source_ca_cert, not ca_cert).
    client.option_names = option_names(prefix)
    return client


# The testbench role's variable behind each option: the source's certificate checks and timeout
# are the destination's variables (testbench_validate_certs, testbench_timeout).
ROLE_VARIABLES = {
    "api_address": "testbench_api_address", "api_key": "testbench_api_key", "ca_cert": "testbench_ca_cert",
    "validate_certs": "testbench_validate_certs", "timeout": "testbench_timeout",
    "source_api_address": "testbench_source_api_address", "source_api_key": "testbench_source_api_key",
    "source_ca_cert": "testbench_source_ca_cert", "source_validate_certs": "testbench_validate_certs",
    "source_timeout": "testbench_timeout",
}


def option_names(prefix=""):
    """``{"ca_cert": ("source_ca_cert", "testbench_source_ca_cert"), ...}`` for ``errors.ClusterError.naming``."""
    return {name: (prefix + name, ROLE_VARIABLES.get(prefix + name)) for name in ENVIRONMENT}
