"""Java (java11): a plain ``javac`` build against the host's JDK and Debian's Java libraries; runners/java.

The algorithm is ``src/main/java/algorithmia/<Name>/<Name>.java`` (``package algorithmia.<Name>;``,
``public class <Name>`` with a public ``apply`` and an optional ``load()``), and ``pom.xml`` its
manifest, as on a real cluster. A real cluster runs Maven against Maven Central; this machine reaches
only the Python package index, Debian's packages and the npm registry, so the build does what Maven
would with what is here:

    1. pom.xml's <dependencies> become jars from Debian's Maven repository (/usr/share/maven-repo,
       where every Debian Java library package puts its jars and POMs, e.g. libgoogle-gson-java for
       com.google.code.gson:gson), with their own dependencies. A dependency that is not there (the
       Algorithmia client, anything only Maven Central has) fails the build, naming it and why.
       Test-scoped ones are skipped: src/test is not compiled or run.
    2. javac compiles src/main/java/**/*.java for Java 11 (``--release 11``: the Java 11.0
       environment's API, whatever the host JDK) into target/classes; src/main/resources is copied
       beside the classes; both are zipped as target/algorithm.jar (a real cluster's artifact).
    3. The runner (runners/java/Runner.java) goes into the build as runner/runner.jar, never into the
       repository: compiled once per runner source, JDK and GSON into a machine-wide cache
       (~/.cache/localcluster/java-runner, as uv caches Python packages), then copied.
    4. The pipeline's load check starts a worker with --check, which also writes the build's class
       data archive (runner/classes.jsa, see START_SCRIPT): workers map it at start.

Workers start as ``/bin/sh -c START_SCRIPT java ... localcluster.runner.Runner --class
algorithmia.<Name>.<Name>``; the script only moves file descriptors (see Runner.java) and picks the
class data archive. Paths on the class path are relative to the checkout (the worker's cwd), so the
archive, which records them, stays valid when the build directory is renamed into place.

Start-up, measured on the 2-core test machine (other suites running): the first call of a new build,
through the server, took 377 ms (median of 4) without the archive and 166 ms with it; the runner
alone, spawn to first JSON answer, 470 ms and 330 ms (median of 12). The check runs with C1 only (-XX:TieredStopAtLevel=1: it is
short-lived, 0.1 s less); serving workers keep the full JIT, since C1-only code ran a matrix
product twice as slow, which would skew every benchmark of a Java algorithm. G1 (the default) stays:
with JDK 17 the default CDS archive's heap objects are only mapped with G1, so SerialGC started no
faster. javac itself runs with -J-XX:TieredStopAtLevel=1 (1.5 s -> 1.0 s a compile).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from localcluster.builds.languages.base import BuildContext, BuildFailed, WorkerSpec

RUNNER_SOURCE = Path(__file__).resolve().parents[2] / "execution" / "runners" / "java" / "Runner.java"
RUNNER_CLASS = "localcluster.runner.Runner"
DEBIAN_MAVEN_REPO = Path("/usr/share/maven-repo")
GSON = ("com.google.code.gson", "gson")
JAVA_RELEASE = 11  # the environment is "Java 11.0"

# Relative to the checkout, the worker's cwd (see the module docstring).
ALGORITHM_JAR = "target/algorithm.jar"
RUNNER_JAR = "../runner/runner.jar"
CLASS_DATA_ARCHIVE = "../runner/classes.jsa"

# The worker's shell step, run as ``sh -c START_SCRIPT java OPTIONS MAIN ARGS``: the server's pipes
# move to fds 3 (calls) and 4 (answers), stdin becomes /dev/null and stdout an append-only file in
# the worker's private TMPDIR that the runner empties before each call and reads after it (Java
# cannot dup2; runner.py does the same with os.dup2). The JVM's own warnings go to stderr, the
# worker log. The load check (--check) writes the class data archive at its exit, with C1 only and
# without the archiver's notes about classes it skips; a serving worker maps the archive when it exists.
START_SCRIPT = (
    'set -f\n'  # $cds is split into words, never globbed
    'out="${TMPDIR:-/tmp}/localcluster-stdout-$$"\n'
    f'archive={CLASS_DATA_ARCHIVE}\n'
    'case " $* " in\n'
    '  *" --check "*) cds="-XX:ArchiveClassesAtExit=$archive -XX:TieredStopAtLevel=1 -Xlog:cds*=error:stderr" ;;\n'
    '  *) cds=""; if [ -f "$archive" ]; then cds="-XX:SharedArchiveFile=$archive"; fi ;;\n'
    'esac\n'
    'exec "$0" -Xlog:disable -Xlog:all=warning:stderr $cds "$@" --stdout-file "$out" 3<&0 4>&1 0</dev/null 1>>"$out"\n'
)

JVM_OPTIONS = (
    "-Dfile.encoding=UTF-8",
    # The per-call environment (System.getenv's map) and the pipes on fds 3 and 4 (FileDescriptor(int)).
    "--add-opens", "java.base/java.util=ALL-UNNAMED",
    "--add-opens", "java.base/java.io=ALL-UNNAMED",
)

WHY_NOT_MAVEN_CENTRAL = (
    "they come from Maven Central, which this machine cannot reach. localcluster builds Java with the "
    "host's JDK and the Java libraries Debian installs under /usr/share/maven-repo (a Debian package such "
    "as libcommons-lang3-java provides org.apache.commons:commons-lang3); remove them from pom.xml or install "
    "the Debian package that provides them")
WHY_NOT_ALGORITHMIA_CLIENT = (
    "The Algorithmia Java client is not packaged by Debian: call the API with java.net.http, reading "
    "ALGORITHMIA_API and ALGORITHMIA_API_KEY from the environment at each request, as localcluster's Java "
    "templates do.")


def starter(name: str) -> dict[str, str]:
    """The files of a new Java algorithm's repository: the real cluster's Java template, except that its
    pom.xml lists only GSON (the real one also asks Maven Central for com.algorithmia:algorithmia-client
    and algorithmia-extras, which this machine cannot reach; the hello world does not use them)."""
    return {
        "pom.xml": _STARTER_POM.replace("__ALGO__", name),
        f"src/main/java/algorithmia/{name}/{name}.java": _STARTER_MAIN.replace("__ALGO__", name),
        f"src/test/java/algorithmia/{name}/{name}Test.java": _STARTER_TEST.replace("__ALGO__", name),
    }


def build(context: BuildContext) -> WorkerSpec:
    checkout, log = context.checkout, context.runner.log
    main_file = f"src/main/java/algorithmia/{context.name}/{context.name}.java"
    if not (checkout / main_file).is_file():
        raise BuildFailed(f"No algorithm entry point: expected {main_file} declaring 'package algorithmia.{context.name};' "
                          f"and 'public class {context.name}' with a public apply method.")
    if not (checkout / "pom.xml").is_file():
        raise BuildFailed("No pom.xml: a Java algorithm's repository holds its Maven manifest (pom.xml) beside src/.")
    jdk = find_jdk()
    gson = debian_jar(*GSON)
    if gson is None:
        raise BuildFailed("this localcluster cannot build java11: GSON is not installed (Debian package "
                          "libgoogle-gson-java: `make toolchains` installs it); the Java runner reads and writes JSON with it.")
    log.line(f"Java: javac of the host's JDK {jdk.version} ({jdk.home}), compiling for Java {JAVA_RELEASE}")
    pom = read_pom(checkout / "pom.xml")
    release = compile_release(pom, log)
    classpath = resolve_dependencies(pom, checkout, log)
    compile_algorithm(context, jdk, release, classpath, pom.encoding)
    add_runner(context, jdk, gson)
    runtime = _unique([ALGORITHM_JAR, *classpath, RUNNER_JAR, str(gson.jar)])
    return WorkerSpec(
        argv=("/bin/sh", "-c", START_SCRIPT, str(jdk.java), *JVM_OPTIONS, "-cp", ":".join(runtime), RUNNER_CLASS,
              "--class", f"algorithmia.{context.name}.{context.name}"),
        style="java", main_file=main_file)


# ---------------------------------------------------------------------------------------------
# The JDK


@dataclass(frozen=True)
class Jdk:
    home: Path
    javac: Path
    java: Path
    version: str


def find_jdk() -> Jdk:
    """The JDK whose javac is on PATH (Debian's default-jdk-headless); its java runs the workers."""
    found = shutil.which("javac")
    if found is None:
        raise BuildFailed("this localcluster cannot build java11: no javac on PATH. Install a JDK "
                          "(Debian package default-jdk-headless: `make toolchains` does it).")
    javac = Path(os.path.realpath(found))
    home = javac.parent.parent
    version = "unknown version"
    release = home / "release"
    if release.is_file():
        match = re.search(r'^JAVA_VERSION="([^"]+)"', release.read_text(errors="replace"), re.MULTILINE)
        if match:
            version = match.group(1)
    return Jdk(home=home, javac=javac, java=javac.parent / "java", version=version)


# ---------------------------------------------------------------------------------------------
# pom.xml


@dataclass(frozen=True)
class Dependency:
    group: str
    artifact: str
    version: str
    scope: str
    optional: bool = False
    system_path: str = ""

    def __str__(self) -> str:
        return f"{self.group}:{self.artifact}" + (f":{self.version}" if self.version else "")


@dataclass(frozen=True)
class Pom:
    dependencies: tuple[Dependency, ...]
    properties: dict
    parent: str | None       # groupId:artifactId:version of <parent>
    compiler: dict           # maven-compiler-plugin's <configuration>: release, source, target, encoding

    @property
    def encoding(self) -> str:
        return self.compiler.get("encoding") or self.properties.get("project.build.sourceEncoding") or "UTF-8"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element, name: str):
    return next((c for c in element if _local(c.tag) == name), None) if element is not None else None


def _text(element, name: str) -> str:
    found = _child(element, name)
    return (found.text or "").strip() if found is not None else ""


def read_pom(path: Path) -> Pom:
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as exc:
        raise BuildFailed(f"pom.xml is not well-formed XML: {exc}.") from None
    properties = {_local(p.tag): (p.text or "").strip() for p in (_child(root, "properties") or [])}
    parent = _child(root, "parent")
    for key in ("groupId", "artifactId", "version"):
        value = _text(root, key) or _text(parent, key)
        properties[f"project.{key}"] = properties[f"pom.{key}"] = value
    properties["project.basedir"] = properties["basedir"] = "."

    def expand(value: str) -> str:
        for _round in range(5):  # properties may name properties
            expanded = re.sub(r"\$\{([^}]+)\}", lambda m: properties.get(m.group(1), m.group(0)), value)
            if expanded == value:
                break
            value = expanded
        return value

    dependencies = []
    for element in _child(root, "dependencies") or []:
        if _local(element.tag) != "dependency":
            continue
        dependencies.append(Dependency(
            group=expand(_text(element, "groupId")), artifact=expand(_text(element, "artifactId")),
            version=expand(_text(element, "version")), scope=expand(_text(element, "scope")) or "compile",
            optional=_text(element, "optional") == "true", system_path=expand(_text(element, "systemPath"))))
    parent_name = None
    if parent is not None:
        parent_name = f"{_text(parent, 'groupId')}:{_text(parent, 'artifactId')}:{_text(parent, 'version')}"
    return Pom(dependencies=tuple(dependencies), properties={key: expand(value) for key, value in properties.items()},
               parent=parent_name, compiler=_compiler_configuration(root, expand))


def _compiler_configuration(root, expand) -> dict:
    """maven-compiler-plugin's <configuration> (release, source, target, encoding), if the pom sets it."""
    plugins = _child(_child(root, "build"), "plugins")
    for plugin in plugins or []:
        if _text(plugin, "artifactId") == "maven-compiler-plugin":
            configuration = _child(plugin, "configuration")
            return {key: expand(_text(configuration, key)) for key in ("release", "source", "target", "encoding")
                    if _text(configuration, key)}
    return {}


def compile_release(pom: Pom, log) -> str:
    """The Java release the pom compiles for, checked against the environment's Java 11."""
    compiler, props = pom.compiler, pom.properties
    asked = (compiler.get("release") or props.get("maven.compiler.release") or compiler.get("source")
             or props.get("maven.compiler.source") or compiler.get("target") or props.get("maven.compiler.target"))
    if not asked:
        return str(JAVA_RELEASE)
    level = asked[2:] if asked.startswith("1.") else asked
    if not level.isdigit():
        raise BuildFailed(f"pom.xml asks for Java release {asked!r}, which javac does not know.")
    if int(level) > JAVA_RELEASE:
        raise BuildFailed(f"pom.xml compiles for Java {level}, but this environment is Java {JAVA_RELEASE}: "
                          f"its javac would refuse release {level}. Compile for {JAVA_RELEASE} or lower.")
    if int(level) < JAVA_RELEASE:
        log.line(f"pom.xml compiles for Java {asked}; javac compiles for Java {JAVA_RELEASE} (--release "
                 f"{JAVA_RELEASE}): the API a Java {JAVA_RELEASE} cluster links against (its JDK compiling "
                 f"with -source/-target {asked}); Java {asked}'s syntax limits are not enforced here.")
    return str(JAVA_RELEASE)


# ---------------------------------------------------------------------------------------------
# Dependencies from Debian's Maven repository


@dataclass(frozen=True)
class DebianJar:
    jar: Path          # the jar as Debian names it without a version (/usr/share/java/gson.jar): upgrades follow
    pom: Path | None
    version: str       # the upstream version Debian packages
    package: str       # the Debian package, when its POM says


def debian_jar(group: str, artifact: str, version: str = "") -> DebianJar | None:
    base = DEBIAN_MAVEN_REPO.joinpath(*group.split("."), artifact)
    if not base.is_dir():
        return None
    candidates = [base / "debian" / f"{artifact}-debian.jar"]
    if version and re.fullmatch(r"[\w.+-]+", version):
        candidates.insert(0, base / version / f"{artifact}-{version}.jar")
    candidates += sorted(base.glob(f"*/{artifact}-*.jar"))
    jar = next((c for c in candidates if c.is_file()), None)
    if jar is None:
        return None
    pom = jar.with_suffix(".pom")
    pom = pom if pom.is_file() else None
    if jar.is_symlink():  # ../../../../java/gson.jar: name the jar Debian keeps at one path across versions
        jar = Path(os.path.normpath(jar.parent / os.readlink(jar)))
    versions = sorted(d.name for d in base.iterdir() if d.is_dir() and d.name != "debian")
    package = ""
    if pom is not None:
        text = pom.read_text(errors="replace")
        original = re.search(r"<debian\.originalVersion>([^<]+)<", text)
        package_match = re.search(r"<debian\.package>([^<]+)<", text)
        versions = [original.group(1)] if original else versions
        package = package_match.group(1) if package_match else ""
    return DebianJar(jar=jar, pom=pom, version=", ".join(versions) or "debian", package=package)


def resolve_dependencies(pom: Pom, checkout: Path, log) -> list[str]:
    """pom.xml's dependencies (and theirs) as class path entries; fails naming what cannot be had here."""
    if pom.parent is not None:
        group, artifact, _version = (pom.parent.split(":") + ["", "", ""])[:3]
        if not DEBIAN_MAVEN_REPO.joinpath(*group.split("."), artifact).is_dir():
            raise BuildFailed(f"pom.xml inherits from the parent POM {pom.parent}, which comes from Maven Central: "
                              "this machine cannot reach it, so what the pom inherits cannot be read. Remove <parent>.")
    classpath: list[str] = []
    missing: list[Dependency] = []
    seen: set[tuple[str, str]] = set()
    if not pom.dependencies:
        log.line("pom.xml lists no dependencies.")
    for dependency in pom.dependencies:
        if dependency.scope == "test":
            log.line(f"Dependency {dependency} (test scope): skipped, src/test is not compiled or run here.")
            continue
        if dependency.scope == "system":
            path = (checkout / dependency.system_path).resolve() if dependency.system_path else None
            if path is None or not path.is_file() or not path.is_relative_to(checkout.resolve()):
                missing.append(dependency)
                continue
            log.line(f"Dependency {dependency} (system scope): {dependency.system_path} from the repository")
            classpath.append(os.path.relpath(path, checkout.resolve()))
            continue
        found = debian_jar(dependency.group, dependency.artifact, dependency.version)
        if found is None:
            if not dependency.optional:
                missing.append(dependency)
            continue
        seen.add((dependency.group, dependency.artifact))
        asked = f", pom.xml asks for {dependency.version}" if dependency.version else ""
        package = f"Debian package {found.package}, " if found.package else ""
        log.line(f"Dependency {dependency}: {found.jar} ({package}version {found.version}{asked})")
        classpath.append(str(found.jar))
        classpath.extend(_transitive(found, seen, log, depth=1))
    if missing:
        names = ", ".join(str(d) for d in missing)
        why = (f"pom.xml asks for dependencies this localcluster cannot provide: {names}. Except for system-scoped jars "
               f"committed to the repository, {WHY_NOT_MAVEN_CENTRAL}.")
        if any(d.group == "com.algorithmia" for d in missing):
            why += " " + WHY_NOT_ALGORITHMIA_CLIENT
        raise BuildFailed(why)
    return _unique(classpath)


def _transitive(found: DebianJar, seen: set, log, depth: int) -> list[str]:
    """The runtime dependencies a Debian POM lists, as Maven would add them; Debian installs those it
    packages with the library, so one it lists but does not have is noted, not fatal."""
    if found.pom is None or depth > 8:
        return []
    try:
        pom = read_pom(found.pom)
    except BuildFailed:
        return []
    jars = []
    for dependency in pom.dependencies:
        key = (dependency.group, dependency.artifact)
        if dependency.scope not in ("compile", "runtime") or dependency.optional or key in seen:
            continue
        seen.add(key)
        nested = debian_jar(dependency.group, dependency.artifact)
        if nested is None:
            log.line(f"  {'  ' * depth}needs {dependency.group}:{dependency.artifact}: not installed, left out")
            continue
        log.line(f"  {'  ' * depth}needs {dependency.group}:{dependency.artifact}: {nested.jar}")
        jars.append(str(nested.jar))
        jars.extend(_transitive(nested, seen, log, depth + 1))
    return jars


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# ---------------------------------------------------------------------------------------------
# Compiling


def _javac(context: BuildContext, jdk: Jdk, release: str, classpath: list[str], output: Path,
           sources: list[str], cwd: Path, what: str, encoding: str = "UTF-8") -> None:
    argfile = context.work / f"javac-{output.name}-sources.txt"
    argfile.write_text("".join('"' + source.replace("\\", "\\\\").replace('"', '\\"') + '"\n' for source in sources))
    command = [str(jdk.javac), "-J-XX:TieredStopAtLevel=1", "-encoding", encoding, "--release", release,
               "-g", "-parameters", "-implicit:class", "-d", str(output)]
    if classpath:
        command += ["-cp", ":".join(classpath)]
    code, _output = context.runner.run(command + [f"@{argfile}"], cwd=cwd)
    if code != 0:
        raise BuildFailed(f"Compiling {what} failed (javac exit code {code}): see the compiler's messages above.")


def compile_algorithm(context: BuildContext, jdk: Jdk, release: str, classpath: list[str], encoding: str) -> None:
    checkout, log = context.checkout, context.runner.log
    sources = sorted(p.relative_to(checkout).as_posix() for p in (checkout / "src/main/java").rglob("*.java"))
    classes = checkout / "target" / "classes"
    shutil.rmtree(classes, ignore_errors=True)  # committed classes are not what we built
    classes.mkdir(parents=True)
    shown = ", ".join(Path(entry).name for entry in classpath) or "the JDK only"
    log.line(f"Compiling {len(sources)} Java source file{'s' if len(sources) != 1 else ''} of src/main/java "
             f"(javac --release {release}) against {shown}")
    _javac(context, jdk, release, classpath, classes, sources, checkout, "src/main/java", encoding)
    resources = checkout / "src" / "main" / "resources"
    if resources.is_dir():
        shutil.copytree(resources, classes, dirs_exist_ok=True)
        log.line("Copied src/main/resources beside the classes")
    if (checkout / "src" / "test").is_dir():
        log.line("src/test: not compiled or run (localcluster builds what a call runs).")
    _zip_directory(classes, checkout / ALGORITHM_JAR)
    log.line(f"Packaged {ALGORITHM_JAR}")


def runner_cache_dir() -> Path:
    """Where compiled runners are kept for every build of this machine's user, as uv keeps packages."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "localcluster" / "java-runner"


def add_runner(context: BuildContext, jdk: Jdk, gson: DebianJar) -> None:
    """The Java runner in this build (runner/runner.jar), so a build keeps working whatever later happens
    to the runner's source. Compiled once per runner source, JDK and GSON (about 1 s of javac), then
    copied from the machine-wide cache."""
    log = context.runner.log
    classpath = [str(gson.jar)]
    jar = Path(os.path.normpath(context.checkout / RUNNER_JAR))
    jar.parent.mkdir(parents=True, exist_ok=True)
    identity = hashlib.sha256(RUNNER_SOURCE.read_bytes())
    identity.update(f"{jdk.javac}:{jdk.version}:{JAVA_RELEASE}".encode())
    for entry in classpath:
        stat = os.stat(entry)
        identity.update(f":{entry}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    cached = runner_cache_dir() / identity.hexdigest()[:24] / "runner.jar"
    if cached.is_file():
        shutil.copyfile(cached, jar)
        log.line(f"The localcluster Java runner, compiled before: {cached}")
        return
    classes = jar.parent / "classes"
    classes.mkdir()
    log.line("Compiling the localcluster Java runner")
    _javac(context, jdk, str(JAVA_RELEASE), classpath, classes, [str(RUNNER_SOURCE)], context.work,
           "the localcluster Java runner")
    _zip_directory(classes, jar)
    shutil.rmtree(classes)
    try:  # another build may be storing the same jar: each writes its own file, the rename is atomic
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f".runner-{os.getpid()}-{context.work.name}.jar")
        shutil.copyfile(jar, partial)
        os.replace(partial, cached)
    except OSError as exc:
        log.line(f"(the compiled runner could not be cached: {exc})")


def _zip_directory(directory: Path, jar: Path) -> None:
    """A jar of ``directory`` (a zip with a manifest; zipfile is instant where the jar tool starts a JVM)."""
    with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: localcluster\r\n\r\n")
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())


# ---------------------------------------------------------------------------------------------
# The starter files


_STARTER_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/maven-v4_0_0.xsd">
    <modelVersion>4.0.0</modelVersion>
    <groupId>algorithmia.__ALGO__</groupId>
    <artifactId>__ALGO__</artifactId>
    <packaging>jar</packaging>
    <version>1.0-SNAPSHOT</version>
    <name>__ALGO__</name>
    <properties>
        <maven.compiler.release>11</maven.compiler.release>
        <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
    </properties>
    <dependencies>
        <dependency>
            <groupId>com.google.code.gson</groupId>
            <artifactId>gson</artifactId>
            <version>2.8.0</version>
        </dependency>

        <dependency>
            <groupId>junit</groupId>
            <artifactId>junit</artifactId>
            <version>3.8.1</version>
            <scope>test</scope>
        </dependency>
    </dependencies>
</project>
"""

_STARTER_MAIN = """package algorithmia.__ALGO__;

import com.google.gson.*;
import java.util.*;

public class __ALGO__ {
    // API calls will begin at the apply() method, with the request body passed as 'input'
    // For more details, see algorithmia.com/developers/algorithm-development/languages
    public String apply(String input) throws Exception {
        return "Hello " + input;
    }
}
"""

_STARTER_TEST = """package algorithmia.__ALGO__;

import junit.framework.Test;
import junit.framework.TestCase;
import junit.framework.TestSuite;

public class __ALGO__Test extends TestCase {
    public __ALGO__Test(String testName) {
        super(testName);
    }

    public static Test suite() {
        return new TestSuite(__ALGO__Test.class);
    }

    public void test__ALGO__() throws Exception {
        __ALGO__ algorithm = new __ALGO__();
        assertEquals("Hello Bob", algorithm.apply("Bob"));
    }
}
"""
