"""localcluster's shape: imports run one way, and every route answers where it did.

The import checks read the source (no cluster). The route table is checked against a running
cluster, on the paths where two routes could both match: the answer names the handler that won.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2] / "localcluster"
UUID = "4beb6189-3e18-4a7a-a466-473bebe68a9f"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """localcluster module -> the localcluster modules it imports (anywhere in the file)."""
    modules = {_module_name(path): path for path in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from localcluster.x import y": y is a module or a name in x.
                targets = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same, one node per package of localcluster (or top-level module)."""

    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    packages: dict[str, set[str]] = {package(m): set() for m in graph}
    for module, targets in graph.items():
        packages[package(module)].update(package(t) for t in targets if package(t) != package(module))
    return packages


def test_no_module_imports_itself_back():
    assert _cycles(_import_graph()) == []


def test_no_package_imports_itself_back():
    # Stricter: users/ -> auth.py -> users/ would pass the module check and still be a circle here.
    assert _cycles(_package_graph(_import_graph())) == []


def test_the_app_imports_its_parts_by_name():
    # No importlib, no module names in strings: what the app is made of reads from its imports.
    source = (ROOT / "app.py").read_text()
    assert "importlib" not in source and "import_module" not in source and "__import__" not in source
    imported = _import_graph()["localcluster.app"]
    for resource in ("users", "data", "environments", "algorithms", "execution", "gitserver", "hooks"):
        assert f"localcluster.{resource}.routes" in imported, resource


# Where routes overlap, the winner as of the restructuring (method, path, key, status, message).
ROUTES = [
    # data/ before its own /v1/connector/{connector}/ catch-all
    ("GET", "/v1/connector/data", "user", 200, None),
    ("PUT", "/v1/connector/data/.my", "user", 400,
     "Cannot write a file at data://alice: name a file inside a collection, e.g. data://.my/<collection>/<file>."),
    ("GET", "/v1/connector/s3/x", "user", 501, "The connector 's3' is not implemented by localcluster: only 'data' is."),
    # algorithms: the UUID routes first; methods they lack fall through to owner/name routes
    ("GET", f"/v1/algorithms/{UUID}", "user", 404, f"No such algorithm with ID {UUID}"),
    ("POST", f"/v1/algorithms/{UUID}", "user", 403, f"User alice may not create algorithms for {UUID}."),
    ("GET", f"/v1/algorithms/{UUID}/builds", "admin", 404, f"No such algorithm with ID {UUID}"),
    ("PUT", f"/v1/algorithms/{UUID}/builds", "admin", 404, f"No such algorithm: {UUID}/builds"),
    ("POST", f"/v1/algorithms/{UUID}/version", "user", 404, f"No such algorithm with ID {UUID}"),
    ("GET", f"/v1/algorithms/{UUID}/version", "user", 404, f"No such algorithm: {UUID}/version"),
    ("GET", f"/v1/algorithms/{UUID}/compile", "user", 404, f"No such algorithm: {UUID}/compile"),
    ("GET", "/v1/algorithms/alice/Foo/extra/x", "user", 404, "Not Found"),
    # execution: by name, by UUID, with a version
    ("POST", "/v1/algo/alice/Foo", "user", 404, "No such algorithm: alice/Foo"),
    ("POST", "/v1/algo/.my/Foo", "admin", 404, "No such algorithm: admin/Foo"),
    ("POST", f"/v1/algo/{UUID}", "user", 404, f"No such algorithm with ID {UUID}"),
    ("POST", f"/v1/algo/{UUID}/1.0.0", "user", 404, f"No such algorithm with ID {UUID}"),
    ("GET", "/v1/algo/alice/Foo", "user", 405, "Method Not Allowed"),
    # environments under each prefix; the template download needs no key
    ("GET", "/webapi/v1/algorithm-environments/languages", "user", 200, None),
    ("GET", "/webapi/v1/algorithm-environments/edge/environments/current", "admin", 200, None),
    ("GET", "/v1/algorithm-environments/edge/environments/current", "user", 403, "This endpoint needs an admin API key."),
    ("GET", "/v1/algorithm-environments/edge/environment-specifications/nope/template", None, 404,
     "No environment specification nope."),
    ("GET", "/v1/algorithm-environments/x", "user", 404, "Not Found"),
    # hooks and the worker pool share /localcluster
    ("GET", "/localcluster/health", None, 200, None),
    ("POST", "/localcluster/health", None, 405, "Method Not Allowed"),
    ("GET", "/localcluster/workers", "user", 403, "This endpoint needs an admin API key."),
    ("GET", "/localcluster/workers", "admin", 200, None),
    ("GET", "/localcluster/nope", "admin", 404, "Not Found"),
]


@pytest.mark.parametrize("method, path, who, status, message", ROUTES)
def test_overlapping_routes_answer_as_before(cluster, method, path, who, status, message):
    key = {"user": cluster.key, "admin": cluster.admin_key, None: None}[who]
    headers = {"Authorization": f"Simple {key}"} if key else {}
    response = requests.request(method, cluster.url + path, headers=headers, data=b"{}" if method != "GET" else None,
                                timeout=60)
    assert response.status_code == status
    if message is not None:
        assert response.json()["error"]["message"] == message


@pytest.mark.parametrize("who, status, text", [
    (None, 401, "Authentication required: use your username and an API key.\n"),
    ("user", 404, "No such algorithm: alice/Foo\n"),
])
def test_git_paths_are_the_git_servers(cluster, who, status, text):
    auth = ("alice", cluster.key) if who else None
    response = requests.get(f"{cluster.url}/git/alice/Foo.git/info/refs", params={"service": "git-upload-pack"},
                            auth=auth, timeout=60)
    assert (response.status_code, response.text) == (status, text)
    assert (response.headers.get("WWW-Authenticate") is not None) == (who is None)
