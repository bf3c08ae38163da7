"""Concurrent writers against a real started localcluster, as a real cluster answers them.

Each case starts 8 writers at once (threads released together by a barrier) on one thing: one
repository (plain ``git push`` and dulwich pushes), one algorithm name, one algorithm's versions,
one data path, one file deleted while it is read, one collection name. What must hold: no 500 in
the request log (the root conftest fails any test that has one, this module also says which
request), exactly one winner where the API makes an operation create-if-absent, distinct versions,
whole files. No assertion rests on timing: every outcome a race may have is named and accepted,
and the invariants hold whichever happens.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from dulwich.client import HttpGitClient
from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import MemoryRepo

from tests.localcluster.git_support import clone, commit_and_push, git, git_env, wait_for_build

WRITERS = 8
MASTER = b"refs/heads/master"
SETTINGS = {"language": "python3-1", "source_visibility": "closed", "license": "apl", "network_access": "full",
            "pipeline_enabled": True, "environment": "cpu"}
# No requirements: the builds these tests start cost a virtual environment and a load check, no download.
ECHO = 'def apply(input):\n    return "{0} {{}}".format(input)\n'


def at_once(count, work):
    """``work(index)`` for each index in ``range(count)``, released together; the results in order."""
    barrier = threading.Barrier(count)

    def run(index):
        barrier.wait(timeout=60)
        return work(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def api(cluster, method, path, **kwargs):
    return requests.request(method, cluster.url + path, headers={"Authorization": cluster.key}, timeout=120,
                            **kwargs)


def create_algorithm(cluster, name):
    response = api(cluster, "POST", f"/v1/algorithms/{cluster.user}",
                   json={"name": name, "details": {"label": name}, "settings": SETTINGS})
    assert response.status_code == 200, response.text
    return cluster.client().algo(f"{cluster.user}/{name}")


def builds_of(cluster, name):
    response = api(cluster, "GET", f"/v1/algorithms/{cluster.user}/{name}/builds", params={"limit": 100})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def server_errors(cluster, path_prefix):
    return [entry for entry in cluster.request_log()
            if entry["path"].startswith(path_prefix) and entry["status"] == 500]


# ---- git push --------------------------------------------------------------------------------


def test_eight_git_pushes_to_one_repository_one_is_taken_the_others_are_rejected(cluster, tmp_path):
    """Plain ``git push`` of 8 different commits on the same master: git either pushes, or shows
    the push rejected (by the server in the report-status, or by itself when it already read the
    winner's master); never an HTTP error."""
    algo = create_algorithm(cluster, "PushedByGit")
    home = tmp_path / "home"
    home.mkdir()
    env = git_env(home, cluster.user, cluster.key)
    checkouts = []
    for index in range(WRITERS):
        checkout = tmp_path / f"checkout{index}"
        clone(cluster.url, cluster.user, "PushedByGit", checkout, env)
        (checkout / "requirements.txt").write_text("")
        (checkout / "src" / "PushedByGit.py").write_text(ECHO.format(f"writer {index}"))
        git(env, "commit", "-q", "-am", f"writer {index}", cwd=checkout)
        checkouts.append(checkout)
    commits = [git(env, "rev-parse", "HEAD", cwd=checkout).stdout.strip() for checkout in checkouts]

    results = at_once(WRITERS, lambda index: git(env, "push", "origin", "HEAD:master", cwd=checkouts[index], check=False))

    accepted = [commits[index] for index, result in enumerate(results) if result.returncode == 0]
    for result in results:
        if result.returncode != 0:
            refused_by_server = "[remote rejected]" in result.stderr and "(failed to lock)" in result.stderr
            refused_by_git = "[rejected]" in result.stderr and ("fetch first" in result.stderr
                                                                or "non-fast-forward" in result.stderr)
            assert refused_by_server or refused_by_git, result.stderr
            assert "500" not in result.stderr, result.stderr
    assert len(accepted) == 1  # every commit is on the template commit: after one, the others are behind
    master = git(env, "ls-remote", f"{cluster.url}/git/{cluster.user}/PushedByGit.git", "refs/heads/master",
                 cwd=tmp_path).stdout.split()[0]
    assert master == accepted[0]
    assert [build["commit_sha"] for build in builds_of(cluster, "PushedByGit")] == accepted
    assert wait_for_build(algo, master)["status"] == "succeeded"
    assert server_errors(cluster, f"/git/{cluster.user}/PushedByGit.git") == []


def _commit_on(repo, parent, text):
    """A commit of ``parent``'s tree with ``src/Raced.py`` holding ``text``; its id."""
    blob = Blob.from_string(text.encode())
    repo.object_store.add_object(blob)
    src = Tree()
    src.add(b"Raced.py", 0o100644, blob.id)
    empty = Blob.from_string(b"")
    repo.object_store.add_object(empty)
    src.add(b"__init__.py", 0o100644, empty.id)
    repo.object_store.add_object(src)
    root = Tree()
    root.add(b"src", 0o040000, src.id)
    root.add(b"requirements.txt", 0o100644, empty.id)
    repo.object_store.add_object(root)
    commit = Commit()
    commit.tree, commit.parents = root.id, [parent]
    commit.author = commit.committer = b"Writer <writer@example.com>"
    commit.author_time = commit.commit_time = 1700000000
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = text.encode()
    repo.object_store.add_object(commit)
    return commit.id


def test_eight_dulwich_pushes_that_read_the_same_master_one_wins_seven_fail_to_lock(cluster):
    """All 8 read master before any sends its pack (a barrier between dulwich's ref read and its
    POST), so this is the race itself: exactly one push is taken and builds; the other seven get
    ``ng refs/heads/master failed to lock`` inside the git protocol (HTTP 200), and start nothing."""
    create_algorithm(cluster, "Raced")
    url = f"{cluster.url}/git/{cluster.user}/Raced.git"
    clients, commits = [], []
    for index in range(WRITERS):
        client = HttpGitClient(url, username=cluster.user, password=cluster.key)
        repo = MemoryRepo()
        master = client.fetch("", repo).refs[MASTER]
        clients.append(client)
        commits.append((repo, _commit_on(repo, master, ECHO.format(f"writer {index}"))))
    all_read = threading.Barrier(WRITERS)

    def push(index):
        repo, commit = commits[index]

        def update_refs(_refs):
            all_read.wait(timeout=60)
            return {MASTER: commit}

        return clients[index].send_pack("", update_refs, repo.object_store.generate_pack_data).ref_status[MASTER]

    statuses = at_once(WRITERS, push)

    assert sorted(statuses, key=str) == sorted([None] + ["failed to lock"] * (WRITERS - 1), key=str)
    winner = commits[statuses.index(None)][1].decode()
    assert HttpGitClient(url, username=cluster.user, password=cluster.key).get_refs("").refs[MASTER].decode() == winner
    assert [build["commit_sha"] for build in builds_of(cluster, "Raced")] == [winner]
    receive_packs = [entry["status"] for entry in cluster.request_log()
                     if entry["path"] == f"/git/{cluster.user}/Raced.git/git-receive-pack"]
    assert receive_packs == [200] * WRITERS


# ---- algorithms ------------------------------------------------------------------------------


def test_eight_creates_of_one_algorithm_exactly_one_succeeds(cluster):
    def create(_index):
        return api(cluster, "POST", f"/v1/algorithms/{cluster.user}",
                   json={"name": "CreatedOnce", "details": {"label": "CreatedOnce"}, "settings": SETTINGS})

    answers = at_once(WRITERS, create)

    assert sorted(answer.status_code for answer in answers) == [200] + [409] * (WRITERS - 1)
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["error"]["code"] == 1002
            assert "already exists" in answer.json()["error"]["message"]
    listed = api(cluster, "GET", f"/v1/algorithms/{cluster.user}/CreatedOnce").json()
    assert listed["id"] == next(answer.json()["id"] for answer in answers if answer.status_code == 200)


@pytest.fixture(scope="module")
def built_commits(cluster, tmp_path_factory):
    """``Published`` with 9 commits pushed one after the other, each built."""
    algo = create_algorithm(cluster, "Published")
    home = tmp_path_factory.mktemp("published")
    env = git_env(home, cluster.user, cluster.key)
    checkout = home / "Published"
    clone(cluster.url, cluster.user, "Published", checkout, env)
    commits = [commit_and_push(checkout, env, {"requirements.txt": "", "src/Published.py": ECHO.format(index)},
                               f"version {index}") for index in range(WRITERS + 1)]
    for commit in commits:
        assert wait_for_build(algo, commit)["status"] == "succeeded"
    return commits


def publish(cluster, commit):
    return api(cluster, "POST", f"/v1/algorithms/{cluster.user}/Published/versions",
               json={"version_info": {"version_type": "minor", "git_hash": commit}})


def test_eight_publishes_of_one_algorithm_get_eight_distinct_versions(cluster, built_commits):
    answers = at_once(WRITERS, lambda index: publish(cluster, built_commits[index]))

    assert [answer.status_code for answer in answers] == [200] * WRITERS, [answer.text for answer in answers]
    versions = sorted(answer.json()["version_info"]["semantic_version"] for answer in answers)
    assert versions == sorted(f"0.{minor}.0" for minor in range(1, WRITERS + 1))
    listed = api(cluster, "GET", f"/v1/algorithms/{cluster.user}/Published/versions",
                 params={"published": "true", "limit": 100}).json()["results"]
    assert len({version["version_info"]["semantic_version"] for version in listed}) == len(listed) == WRITERS


def test_eight_publishes_of_one_commit_publish_it_once(cluster, built_commits):
    answers = at_once(WRITERS, lambda _index: publish(cluster, built_commits[WRITERS]))

    assert sorted(answer.status_code for answer in answers) == [200] + [400] * (WRITERS - 1)
    assert all(answer.json()["error"]["code"] == 1007 for answer in answers if answer.status_code == 400)


# ---- data ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def collection(cluster):
    assert api(cluster, "POST", f"/v1/data/{cluster.user}", json={"name": "raced"}).status_code == 200
    return f"/v1/data/{cluster.user}/raced"


def content(index, size=None):
    """A whole file that says which writer wrote it: one byte repeated, so a torn file shows, and
    a length of its own, so an answer with one file's length and another's bytes shows too."""
    return bytes([index]) * (size or (512 + 64 * index) * 1024)


def test_eight_uploads_to_one_path_readers_see_only_whole_files(cluster, collection):
    path = f"{collection}/contended.bin"
    assert api(cluster, "PUT", path, data=content(0)).status_code == 200
    wholes = {content(index) for index in range(WRITERS + 1)}
    writing = threading.Event()
    writing.set()
    seen = []

    def read_while_writing():
        while writing.is_set():
            answer = api(cluster, "GET", path)
            assert answer.status_code == 200, answer.text
            assert answer.content in wholes, f"a torn file: {len(answer.content)} bytes of {set(answer.content)}"
            seen.append(answer.content[0])

    def upload(index):
        return [api(cluster, "PUT", path, data=content(index + 1)).status_code for _round in range(5)]

    with ThreadPoolExecutor(4) as readers:
        reading = [readers.submit(read_while_writing) for _reader in range(4)]
        try:
            statuses = at_once(WRITERS, upload)
        finally:
            writing.clear()
        for reader in reading:
            reader.result()

    assert statuses == [[200] * 5] * WRITERS
    assert seen  # the readers read during the uploads
    assert api(cluster, "GET", path).content in wholes - {content(0)}
    assert server_errors(cluster, path) == []


def test_a_file_deleted_while_eight_read_it_is_read_whole_or_not_found(cluster, collection):
    path = f"{collection}/doomed.bin"
    whole = content(7, size=4 * 1024 * 1024)
    for _round in range(5):
        assert api(cluster, "PUT", path, data=whole).status_code == 200

        def read_or_delete(index):
            if index % 4 == 0:  # two deleters: one deletes it, the other finds it gone
                return "delete", api(cluster, "DELETE", path).status_code
            answer = api(cluster, "GET", path)
            assert answer.status_code in (200, 404), answer.text
            assert answer.status_code == 404 or answer.content == whole, f"a torn read: {len(answer.content)} bytes"
            return "read", answer.status_code

        outcomes = at_once(WRITERS, read_or_delete)
        assert sorted(status for kind, status in outcomes if kind == "delete") == [200, 404]
        head = requests.head(cluster.url + path, headers={"Authorization": cluster.key}, timeout=60)
        assert head.status_code == 404
    assert server_errors(cluster, path) == []


def test_eight_creates_of_one_collection_exactly_one_succeeds(cluster):
    def create(_index):
        return api(cluster, "POST", f"/v1/data/{cluster.user}", json={"name": "leased"})

    answers = at_once(WRITERS, create)

    assert sorted(answer.status_code for answer in answers) == [200] + [409] * (WRITERS - 1)
    assert all("already exists" in answer.json()["error"]["message"] for answer in answers if answer.status_code == 409)


def test_eight_creates_of_one_folder_exactly_one_succeeds(cluster, collection):
    def create(_index):
        return api(cluster, "POST", collection, json={"name": "sub"})

    answers = at_once(WRITERS, create)

    assert sorted(answer.status_code for answer in answers) == [200] + [409] * (WRITERS - 1)
