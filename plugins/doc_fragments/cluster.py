# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The connection options of every module that talks to a cluster (``DOCUMENTATION``), the
    source cluster's options of the modules that also read from one (``SOURCE``, used as
    ``algorithmia.testbench.cluster.source``), and the run record's (``RECORD``).

    Keep in step with ``module_utils/cluster_options.py``.
    """

    DOCUMENTATION = r"""
options:
  api_address:
    description:
      - Base URL of the cluster's API, for example V(https://api.example.com), without V(/v1).
      - If not set, the value of the E(ALGORITHMIA_API) environment variable is used.
      - Must not contain credentials; give the key in O(api_key).
    type: str
    required: true
  api_key:
    description:
      - "API key of the cluster, sent as C(Authorization: Simple <key>)."
      - Needs algorithm management and read/write data access for the modules that change things.
      - If not set, the value of the E(ALGORITHMIA_API_KEY) environment variable is used.
      - Never logged, returned or put in a URL or an error message.
    type: str
    required: true
  ca_cert:
    description:
      - CA certificate that signed the cluster's TLS certificate, as the path of a PEM file on
        the controller or as the PEM text itself (as a vault usually holds it).
      - PEM text is written to a private temporary file that is removed when the task ends.
      - If not set, the value of the E(ALGORITHMIA_CA_CERT) environment variable is used; if
        that is not set either, the system's CAs (or E(REQUESTS_CA_BUNDLE)) are trusted.
    type: str
  validate_certs:
    description:
      - Whether to check the cluster's TLS certificate. Only set V(false) for a throwaway test cluster.
      - If not set, the value of the E(ALGORITHMIA_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for a connection and for each answer from the cluster.
      - Calls that legitimately take longer (an algorithm call with its own timeout) raise only
        the wait for the answer.
      - If not set, the value of the E(ALGORITHMIA_TIMEOUT) environment variable is used.
    type: float
    default: 60
  lease:
    description:
      - The run's lease on this cluster, as M(algorithmia.testbench.cluster_lease) took it; while the task works it
        renews the lease every third of O(lease.ttl) (a build awaited, a long benchmark), and warns when it was taken
        over meanwhile. Not renewed in check mode. Unset, no lease is kept alive.
    type: dict
    suboptions:
      generation:
        description: The lease's generation (C(lease.generation) of cluster_lease's result).
        type: int
        required: true
      run_id:
        description: The run holding it.
        type: str
        required: true
      owner:
        description: The user whose Data API keeps it.
        type: str
        required: true
      ttl:
        description: Its time to live in seconds.
        type: int
        default: 900
notes:
  - Every call is classified once as safe to repeat or not. Safe calls are reads and downloads,
    whole-file uploads, creating a data collection, deleting what may already be gone, updating an
    algorithm's settings, git fetch, the O(algorithmia.testbench.algo_build_publish#module:test_payload)
    call, and - each checked first before a repeat - creating an algorithm, publishing a version
    (never twice) and git push (never twice).
  - Safe calls are repeated on HTTP 429, 502, 503 and 504, on refused, reset or broken
    connections (a download that breaks off resumes where it stopped) and on timeouts, up to four
    times, with jittered exponential backoff (a random pause under half a second, then about 1, 2
    and 4 seconds) or the server's C(Retry-After) (at most 60 seconds), and no repeat starts later than
    five times O(timeout) after the call's first failure. A failure says after how many attempts.
  - Never repeated - a failed TLS handshake (unknown CA, wrong host name, no common protocol), and
    calls that would act twice - starting a build (compile), starting an environment sync, and every call of
    M(algorithmia.testbench.algo_benchmark), which counts each failure.
requirements:
  - requests >= 2.32
  - urllib3 >= 2.2
"""

    SOURCE = r"""
options:
  source_api_address:
    description:
      - Base URL of the source cluster's API (the workflow's C(source_info.cluster_address)), without C(/v1).
    type: str
  source_api_key:
    description:
      - API key of the source cluster, with read access to the files the task copies or reads.
      - If not set, the value of the E(SOURCE_API_KEY) environment variable is used (as the seed tool did).
      - Never logged, returned or put in a URL or an error message.
    type: str
  source_ca_cert:
    description:
      - CA certificate of the source cluster, a PEM file path or the PEM text.
      - If not set, the value of the E(SOURCE_CA_CERT) environment variable is used.
    type: str
  source_validate_certs:
    description:
      - Whether to check the source cluster's TLS certificate.
    type: bool
    default: true
  source_timeout:
    description:
      - Seconds to wait for a connection and for each answer from the source cluster.
    type: float
    default: 60
"""

    RECORD = r"""
options:
  record_file:
    description:
      - JSON-lines file of this run's record for this cluster, appended to (created 0600). Before each
        change the task makes, it writes what it is about to create and, after it, what it created, so
        that cleanup removes exactly what this collection made, even after a crash.
      - Things that existed before (a file written over, an algorithm pushed to) are recorded as such and
        never deleted by cleanup. Not set means no record.
    type: path
  run_id:
    description:
      - Identifier of the run, written into each record line.
    type: str
"""
