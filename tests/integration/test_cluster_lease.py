"""cluster_lease against a localcluster: one run at a time, a live lease refused or waited for, an
expired one taken over, a release that leaves another run's lease alone, and the take atomic
among eight runs at once."""

from __future__ import annotations

import threading
import time

import pytest

from tests.collection import ensure_importable
from tests.integration.modules_support import run_module

ensure_importable()

# pylint: disable=wrong-import-position
from ansible_collections.algorithmia.testbench.plugins.module_utils.client import AlgorithmiaClient  # noqa: E402
from ansible_collections.algorithmia.testbench.plugins.module_utils.lease import ClusterLease, LeaseHeld, LeaseKeeper, LeaseLost  # noqa: E402
from ansible_collections.algorithmia.testbench.plugins.modules import cluster_lease  # noqa: E402


@pytest.fixture
def lease_of(fresh_cluster):
    def make():
        return ClusterLease(AlgorithmiaClient(fresh_cluster.url, fresh_cluster.key), fresh_cluster.user)
    return make


def args(cluster, **values):
    return dict({"api_address": cluster.url, "api_key": cluster.key}, **values)


def test_a_run_takes_renews_and_releases_its_lease(fresh_cluster, capsys):
    taken = run_module(cluster_lease, args(fresh_cluster, run_id="run-a", holder="laptop"), capsys)
    assert taken["changed"] is False and taken["took_over"] is None
    assert taken["lease"]["run_id"] == "run-a" and taken["lease"]["host"] == "laptop" and taken["lease"]["ttl_s"] == 900
    again = run_module(cluster_lease, args(fresh_cluster, run_id="run-a"), capsys)
    assert again["lease"]["generation"] == taken["lease"]["generation"]  # renewed, not taken anew
    seen = run_module(cluster_lease, args(fresh_cluster, state="query"), capsys)
    assert seen["lease"]["run_id"] == "run-a" and seen["lease"]["expired"] is False
    released = run_module(cluster_lease, args(fresh_cluster, run_id="run-a", state="absent"), capsys)
    assert released["released"] is True
    assert run_module(cluster_lease, args(fresh_cluster, state="query"), capsys)["lease"] is None


def test_a_live_lease_stops_another_run_naming_its_holder(fresh_cluster, capsys):
    run_module(cluster_lease, args(fresh_cluster, run_id="run-a", holder="laptop"), capsys)
    refused = run_module(cluster_lease, args(fresh_cluster, run_id="run-b"), capsys)
    assert refused["failed"]
    for text in (f"Cluster {fresh_cluster.url} is being changed by another testbench run: run run-a from laptop",
                 "s ago, expires in", "Nothing was changed", "Fix: wait for that run", "testbench_lease_wait"):
        assert text in refused["msg"], refused["msg"]
    assert refused["holder"]["run_id"] == "run-a"
    mine = run_module(cluster_lease, args(fresh_cluster, run_id="run-b", state="absent"), capsys)
    assert mine["released"] is False and "not this run's any more" in str(mine.get("warnings"))


def test_check_mode_takes_nothing_and_reports_a_live_lease(fresh_cluster, capsys):
    run_module(cluster_lease, args(fresh_cluster, run_id="run-a"), capsys)
    checked = run_module(cluster_lease, args(fresh_cluster, run_id="run-b", _ansible_check_mode=True), capsys)
    assert checked["changed"] is False and checked["lease"]["run_id"] == "run-a"
    assert "a real run would stop here" in str(checked["warnings"])


def test_waiting_for_a_lease_until_it_is_released(lease_of):
    holder, waiter = lease_of(), lease_of()
    first = holder.take("run-a")
    timer = threading.Timer(2.0, holder.release, args=(first["generation"], "run-a"))
    timer.start()
    lines = []
    try:
        taken = waiter.take("run-b", wait_s=60, progress=lines.append)
    finally:
        timer.cancel()
    assert taken["document"]["run_id"] == "run-b" and taken["waited_s"] >= 1.5 and taken["took_over"] is None


def test_an_expired_lease_is_taken_over_and_its_holder_learns_it_lost(lease_of):
    dead, heir = lease_of(), lease_of()
    first = dead.take("run-dead", ttl_s=10)
    with pytest.raises(LeaseHeld):
        heir.take("run-heir")
    # the cluster's clock must pass the expiry (its age is judged by it), and its Date has whole seconds
    time.sleep(12)
    taken = heir.take("run-heir")
    assert taken["took_over"]["run_id"] == "run-dead" and taken["generation"] == first["generation"] + 1
    with pytest.raises(LeaseLost, match="lost its lease"):
        dead.renew(first["generation"], "run-dead")
    assert dead.release(first["generation"], "run-dead") is False
    assert heir.holder()["run_id"] == "run-heir"


def test_of_eight_runs_taking_at_once_exactly_one_holds_the_lease(lease_of, fresh_cluster):
    outcomes = {}

    def take(name):
        try:
            outcomes[name] = lease_of().take(name)["document"]["run_id"]
        except LeaseHeld as exc:
            outcomes[name] = "held by " + exc.holder["run_id"]

    threads = [threading.Thread(target=take, args=("run-{0}".format(n),)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [name for name, outcome in outcomes.items() if outcome == name]
    assert len(winners) == 1, outcomes
    assert all(outcome in (winners[0], "held by " + winners[0]) for outcome in outcomes.values()), outcomes
    assert [r for r in fresh_cluster.request_log() if (r.get("status") or 0) >= 500] == []


def test_a_keeper_renews_the_lease_while_a_module_works_and_says_when_it_was_lost(lease_of, fresh_cluster):
    lease = lease_of()
    taken = lease.take("run-a", ttl_s=10)
    keeper = LeaseKeeper(AlgorithmiaClient(fresh_cluster.url, fresh_cluster.key),
                         {"generation": taken["generation"], "run_id": "run-a", "owner": fresh_cluster.user, "ttl": 10},
                         interval_s=0.5).start()
    try:
        time.sleep(2.0)
        assert keeper.renewals >= 2 and keeper.lost is None
        assert lease.holder()["age_s"] < 2 and lease.holder()["generation"] == taken["generation"]
        lease_of()._delete(taken["generation"])  # as a run that took it over after its expiry would
        time.sleep(1.5)
        assert keeper.lost and "lost its lease" in keeper.lost
    finally:
        keeper.stop()
