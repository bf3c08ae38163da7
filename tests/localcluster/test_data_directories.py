"""Data API directories through the official client: listing with markers, create, delete,
collection ACLs and their effect on other users, /v1/hostedData, .my / .algo / .session."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from Algorithmia.acl import AclType, ReadAcl
from Algorithmia.errors import DataApiError

_session_ids = itertools.count(1)


def session_key(cluster, username, algorithm, session_id=None):
    """The key a running algorithm gets, minted by the server as the execution side mints it."""
    response = requests.post(f"{cluster.url}/localcluster/users/{username}/session-keys", timeout=30,
                             headers={"Authorization": cluster.admin_key},
                             json={"algorithm": "/".join(algorithm),
                                   "session_id": session_id or f"test-session-{next(_session_ids)}"})
    response.raise_for_status()
    return response.json()["api_key"]


@pytest.fixture(scope="module")
def bob(cluster):
    return cluster.new_user("bob")


def _get(cluster, path, key, **params):
    return requests.get(f"{cluster.url}{path}", params=params, headers={"Authorization": key}, timeout=30)


def test_root_lists_the_callers_own_folder_first(cluster, bob):
    assert cluster.client().username() == cluster.user
    assert cluster.client(bob).username() == "bob"


def test_a_directory_of_over_a_thousand_entries_lists_completely_through_markers(cluster):
    client = cluster.client()
    client.dir("data://.my/many").create()
    names = [f"file-{i:04d}.txt" for i in range(1030)]
    folders = ["folder-a", "folder-b", "zz-folder"]
    for folder in folders:
        client.dir(f"data://.my/many/{folder}").create()

    def put(name):
        cluster.client().file(f"data://.my/many/{name}").put(name)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, names))

    listed = list(client.dir("data://.my/many").list())
    assert sorted(d.getName() for d in listed if d.is_dir()) == folders
    assert sorted(f.getName() for f in listed if f.is_file()) == names

    first = _get(cluster, "/v1/data/.my/many", cluster.key).json()
    assert len(first.get("folders", [])) + len(first["files"]) == 1000
    assert first["marker"] and first["next_link"]
    last = requests.get(first["next_link"], headers={"Authorization": cluster.key}, timeout=30).json()
    assert len(last.get("folders", [])) + len(last["files"]) == 33
    assert last["marker"] is None and last["next_link"] is None
    paged = _get(cluster, "/v1/data/.my/many", cluster.key, limit=10, marker=first["marker"]).json()
    assert len(paged.get("folders", [])) + len(paged["files"]) == 10
    bad = _get(cluster, "/v1/data/.my/many", cluster.key, marker="%%%not-a-marker")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 5002


def test_create_directory_and_nested_folders(cluster):
    client = cluster.client()
    collection = client.dir("data://.my/tree")
    assert not collection.exists()
    collection.create()
    assert collection.exists()
    collection.dir("sub").create()
    collection.dir("sub").dir("deeper").create()
    collection.file("sub/deeper/leaf.txt").put("leaf")
    # Writing below a folder that does not exist yet creates it, as object stores do.
    collection.file("implicit/folder/file.txt").put("x")
    assert [d.getName() for d in collection.dirs()] == ["implicit", "sub"]
    assert [f.getName() for f in collection.dir("sub/deeper").files()] == ["leaf.txt"]
    # The client's create() reports only the status of a refusal.
    with pytest.raises(Exception, match="409"):
        collection.create()
    with pytest.raises(Exception, match="409"):
        collection.dir("sub").create()


def test_delete_without_force_refuses_a_non_empty_folder(cluster):
    client = cluster.client()
    client.dir("data://.my/deleting").create()
    folder = client.dir("data://.my/deleting/full")
    folder.create()
    folder.file("one.txt").put("1")
    folder.file("nested/two.txt").put("2")
    with pytest.raises(DataApiError, match="not empty"):
        folder.delete()
    assert folder.file("one.txt").getString() == "1"
    response = requests.delete(f"{cluster.url}/v1/data/.my/deleting/full", params={"force": "true"},
                               headers={"Authorization": cluster.key}, timeout=30)
    assert response.json() == {"result": {"deleted": 2}}
    assert not folder.exists()

    client.dir("data://.my/deleting/empty").create()
    assert client.dir("data://.my/deleting/empty").delete() is True
    client.file("data://.my/deleting/file.txt").put("x")
    assert client.file("data://.my/deleting/file.txt").delete() is True
    assert not client.file("data://.my/deleting/file.txt").exists()
    with pytest.raises(DataApiError, match="does not exist"):
        client.file("data://.my/deleting/file.txt").delete()


def test_deleting_a_collection_with_force(cluster):
    client = cluster.client()
    collection = client.dir("data://.my/doomed")
    collection.create(ReadAcl.public)
    collection.file("a.txt").put("a")
    with pytest.raises(DataApiError, match="not empty"):
        collection.delete()
    assert collection.delete(force=True) is True
    assert not collection.exists()
    names = [c["collection_name"] for c in _get(cluster, "/v1/hostedData", cluster.key).json()["result"]]
    assert "doomed" not in names
    # A new collection of the same name starts empty, with the default ACL.
    collection.create()
    assert list(collection.files()) == []
    assert collection.get_permissions().read_acl == AclType.my_algos


def test_acl_get_and_update_and_their_effect_on_another_user(cluster, bob):
    alice = cluster.client()
    collection = alice.dir("data://.my/shared")
    collection.create()
    collection.file("data.txt").put("shared data")
    assert collection.get_permissions().read_acl == AclType.default
    other = cluster.client(bob).file("data://alice/shared/data.txt")

    assert not other.exists()  # my algorithms: not bob himself
    collection.update_permissions(ReadAcl.public)
    assert collection.get_permissions().read_acl == AclType.public
    assert other.getString() == "shared data"
    assert "shared" in [d.getName() for d in cluster.client(bob).dir("data://alice").dirs()]
    with pytest.raises(Exception):
        other.put("bob may read, not write")
    assert collection.file("data.txt").getString() == "shared data"

    collection.update_permissions(ReadAcl.private)
    assert collection.get_permissions().read_acl == AclType.private
    assert not other.exists()
    assert "shared" not in [d.getName() for d in cluster.client(bob).dir("data://alice").dirs()]
    with pytest.raises(DataApiError):
        cluster.client(bob).dir("data://alice/shared").update_permissions(ReadAcl.public)

    raw = requests.patch(f"{cluster.url}/v1/data/.my/shared", json={"acl": {"read": ["user://bob"]}},
                         headers={"Authorization": cluster.key}, timeout=30)
    assert raw.status_code == 400 and "Invalid read ACL" in raw.json()["error"]["message"]


def test_my_algorithms_acl_lets_the_owners_algorithms_read_for_any_caller(cluster, bob):
    alice = cluster.client()
    alice.dir("data://.my/models").create(ReadAcl.my_algos)
    alice.file("data://.my/models/weights.bin").put(b"\x01\x02")
    private = alice.dir("data://.my/diary")
    private.create(ReadAcl.private)
    private.file("entry.txt").put("dear diary")

    via_alices_algorithm = cluster.client(session_key(cluster, "bob", ("alice", "classifier")))
    via_someone_elses = cluster.client(session_key(cluster, "bob", ("carol", "classifier")))
    alices_own_call = cluster.client(session_key(cluster, "alice", ("carol", "classifier")))

    assert via_alices_algorithm.file("data://alice/models/weights.bin").getBytes() == b"\x01\x02"
    assert not via_someone_elses.file("data://alice/models/weights.bin").exists()
    assert not cluster.client(bob).file("data://alice/models/weights.bin").exists()
    # Private: only alice, also through any algorithm she calls.
    assert not via_alices_algorithm.file("data://alice/diary/entry.txt").exists()
    assert alices_own_call.file("data://alice/diary/entry.txt").getString() == "dear diary"
    with pytest.raises(Exception):
        via_alices_algorithm.file("data://alice/models/new.bin").put(b"algorithms read, never write")


def test_my_pseudonym_is_the_caller(cluster, bob):
    alice = cluster.client()
    alice.dir("data://.my/mine").create()
    alice.file("data://.my/mine/note.txt").put("alice's")
    assert alice.file("data://alice/mine/note.txt").getString() == "alice's"
    bobs = cluster.client(bob)
    bobs.dir("data://.my/mine").create()
    bobs.file("data://.my/mine/note.txt").put("bob's")
    assert bobs.file("data://.my/mine/note.txt").getString() == "bob's"
    assert alice.file("data://.my/mine/note.txt").getString() == "alice's"


def test_algo_collections_need_no_creation_and_belong_to_the_caller(cluster, bob):
    running = cluster.client(session_key(cluster, "alice", ("bob", "thumbnailer")))
    running.file("data://.algo/temp/out.txt").put("made by the algorithm")
    running.file("data://.algo/perm/state.json").putJson({"runs": 1})
    assert running.file("data://.algo/temp/out.txt").getString() == "made by the algorithm"
    assert [f.getName() for f in running.dir("data://.algo/temp").files()] == ["out.txt"]
    assert running.dir("data://.algo/perm").get_permissions() is None  # system-defined

    response = requests.put(f"{cluster.url}/v1/data/.algo/temp/uri.txt", data=b"x",
                            headers={"Authorization": running.apiKey}, timeout=30)
    assert response.json() == {"result": "data://.algo/bob/thumbnailer/temp/uri.txt"}

    # Outside the call, alice reaches the same files by the explicit form; the author cannot.
    alice = cluster.client()
    assert alice.file("data://.algo/bob/thumbnailer/temp/out.txt").getString() == "made by the algorithm"
    assert alice.file("data://.algo/bob/thumbnailer/perm/state.json").getJson() == {"runs": 1}
    assert not cluster.client(bob).file("data://.algo/bob/thumbnailer/temp/out.txt").exists()
    assert list(alice.dir("data://.algo/bob/other/temp").files()) == []  # exists, empty

    outside = requests.put(f"{cluster.url}/v1/data/.algo/temp/x.txt", data=b"x",
                           headers={"Authorization": cluster.key}, timeout=30)
    assert outside.status_code == 400
    assert "inside an algorithm call" in outside.json()["error"]["message"]


def test_session_collections_are_shared_within_one_session_only(cluster):
    first_call = cluster.client(session_key(cluster, "alice", ("bob", "pipeline"), "session-one"))
    nested_call = cluster.client(session_key(cluster, "alice", ("carol", "step"), "session-one"))
    other_session = cluster.client(session_key(cluster, "alice", ("bob", "pipeline"), "session-two"))

    first_call.file("data://.session/handoff.txt").put("for the next step")
    assert nested_call.file("data://.session/handoff.txt").getString() == "for the next step"
    assert [f.getName() for f in nested_call.dir("data://.session").files()] == ["handoff.txt"]
    assert not other_session.file("data://.session/handoff.txt").exists()

    outside = requests.get(f"{cluster.url}/v1/data/.session/handoff.txt",
                           headers={"Authorization": cluster.key}, timeout=30)
    assert outside.status_code == 400
    assert "inside an algorithm call" in outside.json()["error"]["message"]


def test_hosted_data_lists_the_callers_collections(cluster, bob):
    alice = cluster.client()
    alice.dir("data://.my/hosted-public").create(ReadAcl.public)
    alice.dir("data://.my/hosted-private").create(ReadAcl.private)
    result = {c["collection_name"]: c for c in _get(cluster, "/v1/hostedData", cluster.key).json()["result"]}
    public, private = result["hosted-public"], result["hosted-private"]
    assert public["username"] == "alice" and public["id"] and public["object_id"].startswith("collec-")
    assert public["acl"] == {"read_w": True, "read_g": False, "read_u": True, "read_a": True}
    assert private["acl"] == {"read_w": False, "read_g": False, "read_u": True, "read_a": False}
    assert public["location"]
    bobs = [c["collection_name"] for c in _get(cluster, "/v1/hostedData", bob).json()["result"]]
    assert "hosted-public" not in bobs


def test_collections_are_created_by_their_owner_only(cluster, bob):
    with pytest.raises(Exception, match="403"):
        cluster.client(bob).dir("data://alice/planted").create()
    assert not cluster.client().dir("data://alice/planted").exists()
    missing_user = _get(cluster, "/v1/data/nosuchuser", cluster.key)
    assert missing_user.status_code == 404
