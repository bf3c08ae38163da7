#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_lease
short_description: Take, renew, release or read a run's lease on a cluster, so that one run at a time changes it
version_added: 0.1.0
description:
  - A lease says which testbench run is changing a cluster, for every controller to see (two checkouts, AWX, a
    laptop) - it is kept on the cluster itself, in the Data API of the key's user
    (C(data://<owner>/testbench_leases/<generation>/lease.json)), and holds the run id, the controller's host name,
    the start time and the expiry.
  - Taking it is atomic on any cluster - it is the creation of a folder, which the Data API refuses when the folder
    exists - so of two runs taking it at once one gets it and the other reads who did.
  - O(state=present) takes the lease for O(run_id), or renews it when this run holds it already. A lease of another
    run that is past its expiry (its holder died) is taken over, with a warning naming the old holder. A live one
    fails the task, naming its run id, host, age and expiry, after waiting up to O(wait) seconds for it (a progress
    line every 10 s).
  - O(state=absent) releases the lease if it still names O(run_id) (a lease taken over meanwhile is left alone,
    with a warning).
  - O(state=query) reads who holds the lease, changing nothing.
  - Expiry is judged by the cluster's clock (the file's last modification and the Date of the answer), so
    controllers whose clocks disagree still agree.
  - The lease is the run's own bookkeeping, like its run record, so C(changed) is always false - an unchanged re-run
    of the testbench reports no change.
author: Algorithmia testbench maintainers (@algorithmiaio)
options:
  state:
    description: V(present) takes or renews, V(absent) releases, V(query) reads.
    type: str
    choices: [present, absent, query]
    default: present
  run_id:
    description: The run taking or releasing the lease. Required unless O(state=query).
    type: str
  owner:
    description: The user whose Data API keeps the lease. Default is the user of O(api_key).
    type: str
  ttl:
    description: Seconds after its last renewal that a lease expires (when its holder died, another run takes it over).
    type: int
    default: 900
  wait:
    description: Seconds to wait for a live lease of another run to be released or to expire, before failing.
    type: float
    default: 0
  holder:
    description: The name of this controller in the lease. Default is its host name.
    type: str
extends_documentation_fragment:
  - algorithmia.testbench.cluster
  - algorithmia.testbench.attributes
  - algorithmia.testbench.attributes.actiongroup_cluster
attributes:
  check_mode:
    support: full
    details: In check mode no lease is taken or released; a live lease of another run is reported with a warning.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Taking a lease this run holds renews it; C(changed) is always false (see the description).
"""

EXAMPLES = r"""
- name: Take this run's lease on the cluster, waiting up to 10 minutes for another run
  algorithmia.testbench.cluster_lease:
    api_address: https://api.example.com
    api_key: "{{ testbench_api_key }}"
    run_id: "{{ run_id }}"
    wait: 600
  register: lease

- name: Release it
  algorithmia.testbench.cluster_lease:
    api_address: https://api.example.com
    api_key: "{{ testbench_api_key }}"
    run_id: "{{ run_id }}"
    state: absent
"""

RETURN = r"""
lease:
  description:
    - The lease this run holds (O(state=present)), or the one found (O(state=query)) - C(generation), C(run_id),
      C(host), C(started), C(renewed), C(expires) (the holder's clock), C(ttl_s) and C(age_s) (by the cluster's clock);
      null when there is none.
  returned: always
  type: dict
  sample: {generation: 3, run_id: 20261207T101500Z-000042, host: ops-laptop, started: "2026-12-07T10:15:00Z", ttl_s: 900}
took_over:
  description: The expired lease of another run that this one took over, or null.
  returned: when O(state=present)
  type: dict
waited_s:
  description: Seconds spent waiting for the lease.
  returned: when O(state=present)
  type: float
released:
  description: Whether the lease was released (false when it was gone or another run's).
  returned: when O(state=absent)
  type: bool
"""

from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_module import ClusterModule
from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import key_owner
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import TaskFailed
from ansible_collections.algorithmia.testbench.plugins.module_utils.lease import (
    DEFAULT_TTL_S,
    ClusterLease,
    LeaseHeld,
    describe,
    held_message,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.progress import report_progress

PUBLIC = ("generation", "run_id", "host", "owner", "started", "renewed", "expires", "ttl_s", "age_s", "expired")


def public(document):
    return None if document is None else {key: document.get(key) for key in PUBLIC if key in document}


def run(module, lease):
    params = module.params
    state = params["state"]
    if state == "query":
        return dict(changed=False, lease=public(lease.holder()))
    if state == "absent":
        holder = lease.holder()
        if holder is None or holder.get("run_id") != params["run_id"]:
            if holder is not None:
                module.warn("The lease of cluster {0} is not this run's any more: {1}.".format(lease.client.cluster, describe(holder)))
            return dict(changed=False, released=False, lease=public(holder))
        released = False if module.check_mode else lease.release(holder["generation"], params["run_id"])
        return dict(changed=False, released=released, lease=public(holder))
    if module.check_mode:
        holder = lease.holder()
        if holder is not None and holder.get("run_id") != params["run_id"] and not holder.get("expired"):
            module.warn(held_message(lease.client.cluster, holder, params["wait"]) + " (check mode: a real run would "
                        "{0} here)".format("wait" if params["wait"] else "stop"))
        return dict(changed=False, lease=public(holder), took_over=None, waited_s=0.0)
    taken = lease.take(params["run_id"], params["ttl"], params["wait"], params["holder"], progress=report_progress)
    if taken["took_over"] is not None:
        module.warn("Took over the lease of cluster {0} from {1}: it was past its expiry (its run died, or outlasted "
                    "its lease).".format(lease.client.cluster, describe(taken["took_over"])))
    return dict(changed=False, lease=public(taken["document"]), took_over=public(taken["took_over"]), waited_s=round(taken["waited_s"], 1))


def main():
    module = ClusterModule(dict(
        state=dict(type="str", choices=["present", "absent", "query"], default="present"),
        run_id=dict(type="str"),
        owner=dict(type="str"),
        ttl=dict(type="int", default=DEFAULT_TTL_S),
        wait=dict(type="float", default=0.0),
        holder=dict(type="str"),
    ), required_if=[("state", "present", ["run_id"]), ("state", "absent", ["run_id"])], supports_check_mode=True)
    params = module.params
    with module.reporting("{0} the lease of cluster {1}".format(
            {"present": "take", "absent": "release", "query": "read"}[params["state"]], params["api_address"])):
        if params["ttl"] < 10 or params["wait"] < 0:
            raise TaskFailed("Invalid ttl {0!r} or wait {1!r}; nothing was done. Fix: give a ttl of at least 10 s (900 is the "
                             "default) and a wait of at least 0 s.".format(params["ttl"], params["wait"]))
        client = module.connect()
        lease = ClusterLease(client, params["owner"] or key_owner(client))
        try:
            result = run(module, lease)
        except LeaseHeld as exc:
            raise TaskFailed(str(exc), holder=public(exc.holder)) from None
    module.exit_json(**result)


if __name__ == "__main__":
    main()
