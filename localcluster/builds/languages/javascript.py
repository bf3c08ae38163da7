"""JavaScript: the host's Node.js, package.json's dependencies from the npm registry through the machine-wide npm cache.

The algorithm is ``src/<Name>.js`` exporting ``apply(input, cb)`` (``cb(err, result)``; an async function
or a returned promise works too) and optionally ``load``; its worker is
``localcluster/execution/runners/javascript/runner.js`` on the host's ``node`` (Debian's nodejs).

The build, each step in the build log:

1. ``src/<Name>.js`` must exist, and ``node`` be installed;
2. package.json's dependencies (dependencies, devDependencies, optionalDependencies, peerDependencies)
   must all come from the npm registry or from the commit itself: this machine reaches no other host,
   so a git repository, a tarball elsewhere, a path outside the repository, an .npmrc naming another
   registry or a package-lock.json resolving from one fails the build here, named, before npm runs;
3. ``npm install`` in the checkout (node_modules/ beside package.json, as a real cluster's build does):
   first ``--offline``, so when npm's machine-wide cache (``npm_config_cache`` or npm's default, shared
   by every localcluster of this user) holds everything, nothing is downloaded and the registry is not
   asked; only on a cache miss ``--prefer-offline`` against the registry;
4. the pipeline's load check: the runner requires the algorithm (a syntax error is reported with its
   file, line and caret) without calling ``load``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from localcluster.builds.languages.base import BuildContext, BuildFailed, WorkerSpec, in_build

RUNNER = Path(__file__).resolve().parents[2] / "execution" / "runners" / "javascript" / "runner.js"
STYLE = "node"

CACHE_HIT = "All dependencies were found in the machine-wide npm cache: nothing was downloaded."
CACHE_MISS = "Some dependencies are not in the machine-wide npm cache: installing them from the npm registry."

PUBLIC_REGISTRY = "registry.npmjs.org"
DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
# npm-package-arg's GitHub shorthand ("user/repo", "user/repo#ref"): a git dependency.
GITHUB_SHORTHAND = re.compile(r"^[^@%/\s.-][^:@%/\s]*/[^@\s/%]+(?:#.*)?$")
GIT_PREFIXES = ("git+", "git://", "git@", "github:", "gitlab:", "bitbucket:", "gist:")
NPM_FLAGS = ("--no-audit", "--no-fund", "--no-progress", "--color=false", "--foreground-scripts",
             "--fetch-retries=1", "--fetch-timeout=60000")


def starter(name: str) -> dict[str, str]:
    """A new JavaScript algorithm's repository, as a real cluster lays it out."""
    package = {
        "name": name.lower(),
        "version": "0.1.0",
        "description": f"Algorithmia algorithm {name}",
        "main": f"src/{name}.js",
        "dependencies": {"algorithmia": "0.3.x"},
    }
    return {
        "package.json": json.dumps(package, indent=2) + "\n",
        f"src/{name}.js": (
            'var Algorithmia = require("algorithmia");\n'
            "\n"
            "// API calls will begin at the apply() method, with the request body passed as 'input'\n"
            "// For more details, see algorithmia.com/developers/algorithm-development/languages\n"
            "exports.apply = function(input, cb) {\n"
            '    cb(null, "Hello " + input);\n'
            "};\n"
        ),
    }


def build(context: BuildContext) -> WorkerSpec:
    main = context.checkout / "src" / f"{context.name}.js"
    if not main.is_file():
        raise BuildFailed(f"No algorithm entry point: expected src/{context.name}.js exporting apply(input, cb) "
                          "(exports.apply = function(input, cb) {...}).")
    node = _tool("node", "nodejs", context)
    context.runner.log.line(f"Using the host's Node.js ({node})")
    context.runner.run([node, "--version"], cwd=context.checkout)
    dependencies = _dependencies(context.checkout / "package.json", context)
    if dependencies:
        _refuse_other_sources(dependencies, context)
        _npm_install(_tool("npm", "npm", context), context)
    return WorkerSpec(argv=(node, str(RUNNER), "--module-file", in_build(main, context)), style=STYLE,
                      main_file=main.relative_to(context.checkout).as_posix())


def _tool(command: str, package: str, context: BuildContext) -> str:
    found = shutil.which(command)
    if found is None:
        raise BuildFailed(f"this localcluster cannot build {context.language} ({context.environment}): `{command}` "
                          f"is not installed on this machine (Debian package {package}; `make setup` installs it).")
    return found


def _dependencies(package_json: Path, context: BuildContext) -> dict[str, str]:
    """package.json's dependencies of every kind, name -> spec; empty when there is nothing to install."""
    log = context.runner.log
    if not package_json.is_file():
        log.line("No package.json: nothing to install.")
        return {}
    try:
        manifest = json.loads(package_json.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BuildFailed(f"package.json is not valid JSON: {exc}.") from None
    if not isinstance(manifest, dict):
        raise BuildFailed("package.json must hold a JSON object.")
    found: dict[str, str] = {}
    for field in DEPENDENCY_FIELDS:
        section = manifest.get(field) or {}
        if not isinstance(section, dict):
            raise BuildFailed(f"package.json's {field} must be an object of package name -> version.")
        found.update({str(name): str(spec) for name, spec in section.items()})
    if not found:
        log.line("package.json lists no dependencies: nothing to install.")
    return found


def _refuse_other_sources(dependencies: dict[str, str], context: BuildContext) -> None:
    """Fail, naming each one, when anything would be fetched from elsewhere than the npm registry."""
    checkout = context.checkout
    registry_hosts = _RegistryHosts(context)
    problems = [f"package.json: {name} {spec!r} is {why}" for name, spec in dependencies.items()
                if (why := _foreign_source(spec, checkout, registry_hosts))]
    npmrc = checkout / ".npmrc"
    if npmrc.is_file():
        for line in npmrc.read_text(errors="replace").splitlines():
            key, _sep, value = line.partition("=")
            key, value = key.strip(), value.strip()
            if (key == "registry" or key.endswith(":registry")) and not registry_hosts.allows(value):
                problems.append(f".npmrc: {key} = {value} names a registry other than the npm registry")
    lock = checkout / "package-lock.json"
    if lock.is_file():
        try:
            resolved = set(_resolved_urls(json.loads(lock.read_text(encoding="utf-8"))))
        except (ValueError, UnicodeDecodeError) as exc:
            raise BuildFailed(f"package-lock.json is not valid JSON: {exc}.") from None
        problems.extend(f"package-lock.json: resolves {where} from {why}" for where in sorted(resolved)
                        if (why := _foreign_url(where, registry_hosts)))
    if problems:
        for problem in problems:
            context.runner.log.line(problem)
        raise BuildFailed("this localcluster cannot install these dependencies: it reaches only the npm registry "
                          f"({registry_hosts.configured()}), the Python package index and Debian's packages, so "
                          "git repositories, tarballs on other hosts, other registries and paths outside the "
                          "repository cannot be fetched. Publish them to the npm registry, or commit them into "
                          "the repository and refer to them as file:<path>.")


class _RegistryHosts:
    """The npm registry's host as this machine's npm is configured (asked once, only when needed)."""

    def __init__(self, context: BuildContext | None, configured: str | None = None) -> None:
        self.context = context
        self._configured = configured

    def configured(self) -> str:
        if self._configured is None:
            self._configured = self._ask_npm()
        return self._configured

    def _ask_npm(self) -> str:
        npm = shutil.which("npm")
        if npm is None:
            return PUBLIC_REGISTRY
        # Asked outside the checkout: the algorithm's own .npmrc is what is being judged.
        code, output = self.context.runner.run([npm, "config", "get", "registry"], cwd=self.context.work,
                                               env=_npm_env(), echo=False, timeout=60)
        host = urlsplit(output.strip()).hostname if code == 0 else None
        return host or PUBLIC_REGISTRY

    def allows(self, address: str) -> bool:
        host = urlsplit(address).hostname
        return host == PUBLIC_REGISTRY or host == self.configured()


def _foreign_source(spec: str, checkout: Path, registry_hosts: _RegistryHosts) -> str | None:
    """Why ``spec`` (a package.json version spec) is not from the registry, or None when it is."""
    spec = spec.strip()
    if spec.startswith("npm:"):  # an alias: npm:<name>@<range>, from the registry
        return None
    if spec.startswith(GIT_PREFIXES) or GITHUB_SHORTHAND.match(spec):
        return "a git repository"
    if re.match(r"^[a-z][a-z0-9+.-]*://", spec, re.IGNORECASE):
        return _foreign_url(spec, registry_hosts)
    if spec.startswith(("file:", "link:", ".", "/", "~")):
        target = spec.split(":", 1)[1] if spec.startswith(("file:", "link:")) else spec
        resolved = (checkout / os.path.expanduser(target)).resolve()
        if not resolved.is_relative_to(checkout.resolve()):
            return "a path outside the algorithm's repository"
    return None


def _foreign_url(address: str, registry_hosts: _RegistryHosts) -> str | None:
    if address.startswith(GIT_PREFIXES):
        return "a git repository"
    scheme = urlsplit(address).scheme.lower()
    if scheme in ("http", "https"):
        if registry_hosts.allows(address):
            return None
        return f"a tarball on {urlsplit(address).hostname}, which is not the npm registry"
    if scheme in ("", "file"):
        return None
    return f"a {scheme} address"


def _resolved_urls(node) -> list[str]:
    """Every ``resolved`` of a package-lock.json (v1 nests them, v2/v3 list packages flat)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "resolved" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_resolved_urls(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_resolved_urls(value))
    return found


def _npm_env() -> dict:
    env = dict(os.environ)
    env["npm_config_update_notifier"] = "false"
    return env


def _npm_version(npm: str) -> str:
    """npm's version from its package.json (``npm --version`` would cost a quarter of a second per build)."""
    try:
        package = Path(os.path.realpath(npm)).parent.parent / "package.json"  # <npm>/bin/npm-cli.js
        return str(json.loads(package.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "(version unknown)"


def _npm_install(npm: str, context: BuildContext) -> None:
    runner, checkout = context.runner, context.checkout
    runner.log.line(f"Installing package.json's dependencies with npm {_npm_version(npm)} ({npm})")
    base = [npm, "install", *NPM_FLAGS]
    code, output = runner.run(base + ["--offline"], cwd=checkout, env=_npm_env(), echo=False)
    if code == 0:
        runner.log.write(output)
        runner.log.line(CACHE_HIT)
        return
    runner.log.line(CACHE_MISS)
    code, _output = runner.run(base + ["--prefer-offline"], cwd=checkout, env=_npm_env())
    if code != 0:
        raise BuildFailed(f"Installing package.json's dependencies failed (npm exit code {code}): see npm's "
                          "output above.")
