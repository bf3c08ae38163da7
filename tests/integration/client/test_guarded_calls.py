"""The calls that may act twice: git push and fetch, creating an algorithm, publishing, and the calls
of a benchmark, against a real localcluster.

A guarded call checks, before a repeat, whether the attempt whose answer was lost did the work;
a lost answer is made by ``FaultProxy`` (it forwards the request, then resets the connection).
The benchmark's calls are never repeated: the cluster's request log shows one request per call.
"""

from __future__ import annotations

import contextlib
import io
import json
import stat
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from ansible.module_utils.testing import patch_module_args
from dulwich.client import HttpGitClient

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import Algorithm
from ansible_collections.algorithmia.testbench.plugins.module_utils.client import AlgorithmiaClient
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import AuthError, Conflict, ServerError
from ansible_collections.algorithmia.testbench.plugins.module_utils.gitpush import GitRemote, tree_id
from ansible_collections.algorithmia.testbench.plugins.module_utils.retries import RetryPolicy
from ansible_collections.algorithmia.testbench.plugins.module_utils.waiting import Deadline
from tests.integration.modules_support import logged

FILE = stat.S_IFREG | 0o644
ECHO = 'def apply(input):\n    return "{0} {{}}".format(input)\n'
FAST = dict(timeout=10, backoff_factor=0.01)
SETTINGS = {"language": "python3-1", "source_visibility": "closed", "license": "apl", "network_access": "full",
            "pipeline_enabled": True, "environment": "cpu"}


def source_tree(name, word):
    return {"requirements.txt": (FILE, b"algorithmia>=2.0,<3\n"),
            "src/__init__.py": (FILE, b""),
            "src/{0}.py".format(name): (FILE, ECHO.format(word).encode())}


def remote(address, cluster, name, key=None, retries=4):
    return GitRemote(address, cluster.user, name, cluster.user, key or cluster.key, timeout=10,
                     retry_policy=RetryPolicy(retries, backoff_factor=0.01))


def create(cluster, name):
    with AlgorithmiaClient(cluster.url, cluster.key, **FAST) as client:
        return Algorithm(client, cluster.user, name).create({"label": name}, SETTINGS)


def push_and_build(cluster, name, word):
    """Push ``word``'s echo as a new commit of ``name`` and wait for its build; the commit."""
    git = remote(cluster.url, cluster, name)
    commit = git.push(git.plan(source_tree(name, word)), "echo " + word)
    with AlgorithmiaClient(cluster.url, cluster.key, **FAST) as client:
        build = Algorithm(client, cluster.user, name).await_build(commit, Deadline(300))
    assert build["status"] == "succeeded", build
    return commit


@pytest.fixture(scope="module")
def echo(cluster):
    """``Echo``, created, its first commit built (not published)."""
    create(cluster, "Echo")
    return push_and_build(cluster, "Echo", "hello")


# ---- git --------------------------------------------------------------------------------------


def test_a_git_fetch_answered_503_once_is_repeated(cluster, faults):
    create(cluster, "GitFetch")
    refs = "/git/{0}/GitFetch.git/info/refs".format(cluster.user)
    faults({"kind": "error", "status": 503, "path_prefix": refs, "methods": ["GET"], "times": 1})
    plan = remote(cluster.url, cluster, "GitFetch").plan(source_tree("GitFetch", "x"))
    assert plan.master_sha and plan.changed_files
    assert logged(cluster, "GET", refs) == [503, 200]


def test_a_git_fetch_with_a_dropped_answer_is_repeated(cluster, faults):
    create(cluster, "GitDrop")
    pack = "/git/{0}/GitDrop.git/git-upload-pack".format(cluster.user)
    faults({"kind": "drop", "path_prefix": pack, "methods": ["POST"], "times": 1})
    assert remote(cluster.url, cluster, "GitDrop").plan(source_tree("GitDrop", "x")).master_sha
    assert len(logged(cluster, "POST", pack, at_least=2)) == 2


def test_git_failures_name_the_status_not_a_missing_git_server(cluster, faults):
    create(cluster, "GitDown")
    faults({"kind": "error", "status": 503, "path_prefix": "/git/", "message": "maintenance window"})
    with pytest.raises(ServerError) as caught:
        remote(cluster.url, cluster, "GitDown", retries=2).plan(source_tree("GitDown", "x"))
    text = str(caught.value)
    assert "503 Service Unavailable" in text and 'server said "maintenance window"' in text
    assert "after 3 attempts" in text and "serves git" not in text


def test_a_refused_git_key_is_an_auth_error_tried_once(cluster):
    create(cluster, "GitAuth")
    refs = "/git/{0}/GitAuth.git/info/refs".format(cluster.user)
    wrong = "wrongKEY" + "y" * 24
    with pytest.raises(AuthError) as caught:
        remote(cluster.url, cluster, "GitAuth", key=wrong).plan(source_tree("GitAuth", "x"))
    assert caught.value.status == 401 and wrong not in str(caught.value)
    assert len(logged(cluster, "GET", refs)) == 1


def test_a_push_whose_reply_is_lost_is_not_pushed_twice(cluster, proxy):
    create(cluster, "GitLost")
    receive = "/git/{0}/GitLost.git/git-receive-pack".format(cluster.user)
    via = proxy()
    via.add("lost_reply", "POST", receive)
    git = remote(via.url, cluster, "GitLost")
    commit = git.push(git.plan(source_tree("GitLost", "once")), "pushed once")
    assert logged(cluster, "POST", receive) == [200]  # applied once; its answer never reached us
    assert len(via.requests("POST", receive)) == 1
    assert remote(cluster.url, cluster, "GitLost").master() == commit.encode("ascii")


def test_a_push_whose_attempt_failed_before_it_was_applied_is_pushed_again(cluster, faults):
    create(cluster, "GitAgain")
    receive = "/git/{0}/GitAgain.git/git-receive-pack".format(cluster.user)
    faults({"kind": "error", "status": 503, "path_prefix": receive, "methods": ["POST"], "times": 1})
    git = remote(cluster.url, cluster, "GitAgain")
    commit = git.push(git.plan(source_tree("GitAgain", "again")), "pushed again")
    assert logged(cluster, "POST", receive) == [503, 200]
    assert git.master() == commit.encode("ascii")


def test_a_push_repeated_after_someone_else_pushed_is_a_conflict(cluster, proxy):
    create(cluster, "GitRace")
    receive = "/git/{0}/GitRace.git/git-receive-pack".format(cluster.user)
    via = proxy()
    via.add("status", "POST", receive, status=503)
    git = remote(via.url, cluster, "GitRace")
    plan = git.plan(source_tree("GitRace", "mine"))
    other = remote(cluster.url, cluster, "GitRace")
    other.push(other.plan(source_tree("GitRace", "theirs")), "someone else")
    with pytest.raises(Conflict) as caught:
        git.push(plan, "mine")
    assert "master moved" in str(caught.value)


def test_two_pushes_of_the_same_tree_at_once_both_end_done(cluster, monkeypatch):
    """Two clients push the same tree on the same master at the same moment (both have read master
    before either sends: a barrier in dulwich's push). The cluster takes one and refuses the other
    in-protocol (``failed to lock``); the refused one reads master again, finds its tree there and
    is done: both answer the commit master holds, and nothing was pushed twice."""
    create(cluster, "GitTwins")
    tree = source_tree("GitTwins", "twins")
    clients = [remote(cluster.url, cluster, "GitTwins"), remote(cluster.url, cluster, "GitTwins")]
    plans = [client.plan(tree) for client in clients]
    both_decided = threading.Barrier(2)
    waited, refusals = set(), []
    send_pack = HttpGitClient.send_pack

    def send_pack_together(client, path, update_refs, generate_pack_data, **kwargs):
        def update_refs_together(refs):
            wanted = update_refs(refs)
            if id(client) not in waited:  # only each client's first attempt meets the other
                waited.add(id(client))
                both_decided.wait(timeout=60)
            return wanted

        result = send_pack(client, path, update_refs_together, generate_pack_data, **kwargs)
        refusals.extend(status for status in (result.ref_status or {}).values() if status)
        return result

    monkeypatch.setattr(HttpGitClient, "send_pack", send_pack_together)
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda index: clients[index].push(plans[index], "twin {0}".format(index)), range(2)))

    master = clients[0].master().decode("ascii")
    assert done == [master, master]
    assert refusals == ["failed to lock"]
    fetched = clients[0].plan(tree)
    assert fetched.master_sha == master and fetched.up_to_date and fetched.tree_sha.decode() == tree_id(tree)
    receive = "/git/{0}/GitTwins.git/git-receive-pack".format(cluster.user)
    upload = "/git/{0}/GitTwins.git/git-upload-pack".format(cluster.user)
    assert logged(cluster, "POST", receive) == [200, 200]  # the winner's, and the refused one's: never again
    assert len(logged(cluster, "POST", upload)) == 4  # two plans, the refused one's re-read, and ours above


# ---- creating an algorithm ------------------------------------------------------------------


def test_creating_an_algorithm_whose_reply_is_lost_reads_it_back(cluster, proxy):
    created = "/v1/algorithms/" + cluster.user
    via = proxy()
    via.add("lost_reply", "POST", created)
    with AlgorithmiaClient(via.url, cluster.key, **FAST) as client:
        algorithm = Algorithm(client, cluster.user, "LostCreate").create({"label": "LostCreate"}, SETTINGS)
    assert algorithm["name"] == "LostCreate"
    assert logged(cluster, "POST", created)[-2:] == [200, 409]  # created, then "exists": read back


def test_creating_an_algorithm_that_existed_before_is_a_conflict(cluster):
    create(cluster, "Existing")
    with pytest.raises(Conflict):
        create(cluster, "Existing")


# ---- publishing -----------------------------------------------------------------------------


def test_publishing_after_a_dropped_answer_publishes_once(cluster, echo, faults):
    versions = "/v1/algorithms/{0}/Echo/versions".format(cluster.user)
    faults({"kind": "drop", "path_prefix": versions, "methods": ["POST"], "times": 1})
    with AlgorithmiaClient(cluster.url, cluster.key, **FAST) as client:
        algorithm = Algorithm(client, cluster.user, "Echo")
        assert algorithm.publish(echo, "minor", algorithm.read()) == "0.1.0"
        assert algorithm.published_version(echo) == "0.1.0"


def test_publishing_whose_reply_is_lost_publishes_exactly_once(cluster, echo, proxy):
    commit = push_and_build(cluster, "Echo", "again")
    versions = "/v1/algorithms/{0}/Echo/versions".format(cluster.user)
    before = logged(cluster, "POST", versions)
    via = proxy()
    via.add("lost_reply", "POST", versions)
    with AlgorithmiaClient(via.url, cluster.key, **FAST) as client:
        algorithm = Algorithm(client, cluster.user, "Echo")
        assert algorithm.publish(commit, "minor", algorithm.read()) == "0.2.0"
    assert logged(cluster, "POST", versions)[len(before):] == [200]  # one publication, no second attempt
    assert len(via.requests("GET", versions + "/" + commit)) == 1  # the check before the repeat


# ---- calls: the test_payload check repeats, a benchmark never does --------------------------


def test_the_check_call_repeats_once_on_503_and_the_benchmark_call_never_does(cluster, echo, faults):
    path = "/v1/algo/{0}/Echo/{1}".format(cluster.user, echo)
    with AlgorithmiaClient(cluster.url, cluster.key, **FAST) as client:
        algorithm = Algorithm(client, cluster.user, "Echo")
        faults({"kind": "error", "status": 503, "path_prefix": path, "methods": ["POST"], "times": 1})
        checked = algorithm.call(echo, "x", 10, retry=True)
        assert checked.ok and checked.result == "hello x"
        assert logged(cluster, "POST", path) == [503, 200]

        # a call is repeated once at most (docs/usage.md, "A stuck cluster")
        faults({"kind": "error", "status": 503, "path_prefix": path, "methods": ["POST"], "times": 2})
        checked = algorithm.call(echo, "x", 10, retry=True)
        assert not checked.ok and checked.error_type == "ServerError" and "after 2 attempts" in checked.error
        assert logged(cluster, "POST", path, at_least=4)[2:] == [503, 503]

        faults({"kind": "drop", "path_prefix": path, "methods": ["POST"], "times": 1},
               {"kind": "error", "status": 503, "path_prefix": path, "methods": ["POST"]})
        outcomes = [algorithm.call(echo, "x", 10) for _call in range(3)]
    assert [outcome.ok for outcome in outcomes] == [False, False, False]
    assert outcomes[0].error_type == "ClusterConnectionError" and "not repeated" in outcomes[0].error
    assert [outcome.error_type for outcome in outcomes[1:]] == ["ServerError", "ServerError"]
    assert len(logged(cluster, "POST", path, at_least=7)) == 2 + 2 + 3  # one request per call


def test_a_benchmark_under_503s_counts_every_failure_and_sends_each_call_once(cluster, echo, faults, capsys):
    from ansible_collections.algorithmia.testbench.plugins.modules import algo_benchmark

    version = echo  # a git hash: the benchmark calls exactly the built commit
    path = "/v1/algo/{0}/Echo/{1}".format(cluster.user, version)
    before = len(logged(cluster, "POST", path))
    faults({"kind": "error", "status": 503, "path_prefix": path, "methods": ["POST"], "rate": 0.4}, seed=7)
    args = {"api_address": cluster.url, "api_key": cluster.key, "algorithm": "Echo", "version": version,
            "tests": [{"name": "under faults", "payload": "x", "calls": 20, "max_error_rate": 1}]}
    capsys.readouterr()
    with contextlib.redirect_stdout(io.StringIO()) as out, patch_module_args(args):
        with pytest.raises(SystemExit):
            algo_benchmark.main()
    result = json.loads(out.getvalue())
    assert not result.get("failed"), result.get("msg")
    statuses = logged(cluster, "POST", path)[before:]
    (measured,) = result["tests"]
    assert len(statuses) == measured["calls"] == 20
    assert measured["errors"] == statuses.count(503) > 0
