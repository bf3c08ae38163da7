"""Templates in every language (issue 21): each layout is recognised, renamed and templated, with the
placeholders in code, in strings and in comments; binary files arrive byte for byte; a template in
another language than the algorithm's is refused, naming both; a code_path archive is the same source."""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import tarfile
import zipfile
import zlib

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.build_publish import archive_template_name
from ansible_collections.algorithmia.testbench.plugins.module_utils.environments import SHORTHANDS
from ansible_collections.algorithmia.testbench.plugins.module_utils.layouts import LAYOUTS
from ansible_collections.algorithmia.testbench.plugins.module_utils.source_tree import (
    TEMPLATE_FILE_LIMIT,
    SourceError,
    directory_layout,
    layout_of,
    read_directory,
    renamed_path,
    template_tree,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.tarsafe import read_archive
from ansible_collections.algorithmia.testbench.plugins.module_utils.workflow import WorkflowError, validate_workflow
from tests.unit.test_workflow import SCHEMA

F = 0o100644
OWNER = "alice"
REFERENCES = {"hello_world": "hello_world_ci"}


def png():
    """A real 1x1 PNG: binary (NUL bytes), and it carries a placeholder in a text chunk."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"tEXt", b"Comment\x00algo://.my/hello_world <algo> <user>")
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


def jar():
    """A .jar (a zip) whose stored members hold what would be templated in a text file."""
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: <algo>\n")
        archive.writestr("algorithmia/Lib.class", b"\xca\xfe\xba\xbe" + b"algo://.my/hello_world/latestPrivate")
    return stream.getvalue()


BINARIES = {"assets/logo.png": png(), "lib/helper.jar": jar()}
# The same line in every language's comments and strings: references, <algo>, <user> and .my.
SAYS = "{0} calls algo://.my/hello_world/latestPrivate, reads data://.my/<algo>/greeting.txt for <user>"

# language shorthand -> (template name, {path: text}); each template carries its own name in code (a
# function, class, package or crate), in strings and in comments ({says}), and a longer word that must stay.
TEMPLATES = {
    "python3": ("hello_py", {
        "requirements.txt": "algorithmia>=2.0,<3\n",
        "src/__init__.py": "",
        "src/hello_py.py": "# {says}\nimport Algorithmia\nGREETING = \"{says}\"\nhello_py_version = 1\n\n"
                           "def apply(input):\n    return \"hello_py says \" + input\n",
        "src/hello_py_test.py": "from . import hello_py\n\n\ndef test():\n    assert hello_py.apply('x')\n",
    }),
    "javascript": ("hello_js", {
        "package.json": json.dumps({"name": "hello_js", "main": "src/hello_js.js",
                                    "dependencies": {"algorithmia": "^0.3.10"}}, indent=2) + "\n",
        "src/hello_js.js": "// {says}\nconst GREETING = \"{says}\";\nconst hello_js_version = 1;\n"
                           "exports.apply = function hello_js(input, cb) { cb(null, \"hello_js says \" + input); };\n",
        "src/hello_js_test.js": "const hello_js = require(\"./hello_js\");\n",
    }),
    "java": ("hello_java", {
        "pom.xml": "<project><groupId>algorithmia</groupId><artifactId>hello_java</artifactId>\n"
                   "<!-- {says} --></project>\n",
        "src/main/java/algorithmia/hello_java/hello_java.java":
            "package algorithmia.hello_java;\n// {says}\npublic class hello_java {\n"
            "    static final String GREETING = \"{says}\";\n    static final int hello_java_version = 1;\n"
            "    public String apply(String input) { return \"hello_java says \" + input; }\n}\n",
        "src/test/java/algorithmia/hello_java/hello_javaTest.java":
            "package algorithmia.hello_java;\nclass hello_javaTest { hello_java subject = new hello_java(); }\n",
    }),
    "ruby": ("hello_ruby", {
        "Gemfile": "source \"https://rubygems.org\"\ngem \"algorithmia\"\n",
        "src/hello_ruby.rb": "# {says}\nGREETING = \"{says}\"\nHELLO_RUBY = \"hello_ruby\"\n"
                             "def apply(input)\n  \"hello_ruby says #{input}\"\nend\n",
    }),
    "scala": ("hello_scala", {
        "build.sbt": "name := \"hello_scala\"\n// {says}\n",
        "src/main/scala/algorithmia/hello_scala/hello_scala.scala":
            "package algorithmia.hello_scala\n// {says}\nclass hello_scala {\n  val greeting = \"{says}\"\n"
            "  def apply(input: String): String = s\"hello_scala says $input\"\n}\n",
    }),
    "r": ("hello_r", {
        "packages.txt": "algorithmia\njsonlite\n",
        "src/hello_r.R": "# {says}\ngreeting <- \"{says}\"\nhello_r_version <- 1\n"
                         "algorithm <- function(input) paste(\"hello_r says\", input)\n",
    }),
    "rust": ("hello_rust", {
        "Cargo.toml": "[package]\nname = \"hello_rust\"\nversion = \"0.1.0\"\n# {says}\n\n[dependencies]\nalgorithmia = \"2\"\n",
        "src/lib.rs": "// {says}\nextern crate hello_rust;\npub const GREETING: &str = \"{says}\";\n"
                      "pub fn apply(input: &str) -> String { format!(\"hello_rust says {}\", input) }\n",
    }),
    "csharp": ("hello_cs", {
        "hello_cs.csproj": "<Project><PropertyGroup><AssemblyName>hello_cs</AssemblyName></PropertyGroup>\n"
                           "<!-- {says} --></Project>\n",
        "src/hello_cs.cs": "// {says}\nnamespace hello_cs {\n  public class hello_cs {\n"
                           "    const string Greeting = \"{says}\";\n"
                           "    public string apply(string input) { return \"hello_cs says \" + input; }\n  }\n}\n",
    }),
}


def template(language, extra=None):
    """``(template name, tree)`` of the language's template, with the binary files and a README."""
    name, files = TEMPLATES[language]
    tree = {path: (F, text.replace("{says}", SAYS.format(name)).encode()) for path, text in files.items()}
    tree.update({path: (F, data) for path, data in BINARIES.items()})
    tree["README.md"] = (F, "{0}: see <algo>\n".format(name).encode())
    tree.update(extra or {})
    return name, tree


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def test_every_language_has_a_template_here_and_a_layout():
    assert set(TEMPLATES) == {"python3"} | set(SHORTHANDS) - {"python2", "pytorch", "tensorflow-2.3", "tensorflow-1.14"}
    assert {layout.language for layout in LAYOUTS} == {"Python", "JavaScript", "Java", "Ruby", "Scala", "R", "Rust", "C#"}


@pytest.mark.parametrize("language", sorted(TEMPLATES))
def test_each_layout_is_recognised_by_its_manifest_and_main_file(language):
    name, tree = template(language)
    layout, found = layout_of(tree, hint="the_directory")
    assert layout.builds_on(SHORTHANDS[language][0]) and found == name


EXPECTED_PATHS = {
    "python3": ["requirements.txt", "src/__init__.py", "src/hello_py_ci.py", "src/hello_py_ci_test.py"],
    "javascript": ["package.json", "src/hello_js_ci.js", "src/hello_js_ci_test.js"],
    "java": ["pom.xml", "src/main/java/algorithmia/hello_java_ci/hello_java_ci.java",
             "src/test/java/algorithmia/hello_java_ci/hello_javaTest.java"],
    "ruby": ["Gemfile", "src/hello_ruby_ci.rb"],
    "scala": ["build.sbt", "src/main/scala/algorithmia/hello_scala_ci/hello_scala_ci.scala"],
    "r": ["packages.txt", "src/hello_r_ci.R"],
    "rust": ["Cargo.toml", "src/lib.rs"],
    "csharp": ["hello_cs_ci.csproj", "src/hello_cs_ci.cs"],
}
# What the deployed copy says in code, in strings and in its manifest (beside SAYS, checked for all).
EXPECTED_TEXT = {
    "python3": {"src/hello_py_ci.py": ["hello_py_version = 1", "return \"hello_py_ci says \""],
                "src/hello_py_ci_test.py": ["from . import hello_py_ci\n", "assert hello_py_ci.apply"]},
    "javascript": {"src/hello_js_ci.js": ["const hello_js_version = 1;", "function hello_js_ci(input, cb)",
                                          "\"hello_js_ci says \""],
                   "src/hello_js_ci_test.js": ["require(\"./hello_js_ci\")"],
                   "package.json": ["\"name\": \"hello_js_ci\"", "\"main\": \"src/hello_js_ci.js\""]},
    "java": {"src/main/java/algorithmia/hello_java_ci/hello_java_ci.java": [
        "package algorithmia.hello_java_ci;", "public class hello_java_ci {", "hello_java_version = 1",
        "\"hello_java_ci says \""],
        "src/test/java/algorithmia/hello_java_ci/hello_javaTest.java": [
            "package algorithmia.hello_java_ci;", "class hello_javaTest { hello_java_ci subject = new hello_java_ci(); }"],
        "pom.xml": ["<artifactId>hello_java_ci</artifactId>"]},
    "ruby": {"src/hello_ruby_ci.rb": ["HELLO_RUBY = \"hello_ruby_ci\"", "\"hello_ruby_ci says #{input}\""]},
    "scala": {"src/main/scala/algorithmia/hello_scala_ci/hello_scala_ci.scala": [
        "package algorithmia.hello_scala_ci\n", "class hello_scala_ci {", "s\"hello_scala_ci says $input\""],
        "build.sbt": ["name := \"hello_scala_ci\""]},
    "r": {"src/hello_r_ci.R": ["hello_r_version <- 1", "paste(\"hello_r_ci says\", input)"]},
    "rust": {"src/lib.rs": ["extern crate hello_rust_ci;", "format!(\"hello_rust_ci says {}\", input)"],
             "Cargo.toml": ["name = \"hello_rust_ci\""]},
    "csharp": {"src/hello_cs_ci.cs": ["namespace hello_cs_ci {", "public class hello_cs_ci {", "\"hello_cs_ci says \""],
               "hello_cs_ci.csproj": ["<AssemblyName>hello_cs_ci</AssemblyName>"]},
}


@pytest.mark.parametrize("language", sorted(TEMPLATES))
def test_a_template_in_each_language_is_renamed_and_templated(language):
    name, tree = template(language)
    deployed = name + "_ci"
    result = template_tree(tree, deployed, OWNER, REFERENCES, template_name=name, language=language)
    assert sorted(result) == sorted(EXPECTED_PATHS[language] + list(BINARIES) + ["README.md"])
    says = SAYS.format(deployed).replace("algo://.my/hello_world/", "algo://alice/hello_world_ci/").replace(
        "data://.my/<algo>/", "data://alice/{0}/".format(deployed)).replace("<user>", OWNER)
    layout, _name = layout_of(tree)
    originals = {renamed_path(path, name, deployed): path for path in tree}
    sources = [path for path in result if layout.is_source(path) and path not in BINARIES]
    assert sources and all(layout.is_source(path) for path in EXPECTED_TEXT[language])
    for path in sources:
        text = result[path][1].decode()
        # the template's name is gone as a word, whatever the file (code, strings, comments)
        assert not re.search(r"\b{0}\b".format(name), text), (path, text)
        assert not re.search(r"<algo>|<user>|algo://\.my/|data://\.my/", text), (path, text)
        # in a comment and in a string alike
        original = tree[originals[path]][1].decode()
        assert text.count(says) == original.count(SAYS.format(name)), (path, text)
    for path, fragments in EXPECTED_TEXT[language].items():
        for fragment in fragments:
            assert fragment in result[path][1].decode(), (path, fragment, result[path][1].decode())
    # placeholders are templated in any text file; the name is a word to rename only in the language's files
    assert result["README.md"][1] == "{0}: see {1}\n".format(name, deployed).encode()
    for path, data in BINARIES.items():
        assert sha256(result[path][1]) == sha256(data) and result[path][0] == F


@pytest.mark.parametrize("language", sorted(TEMPLATES))
def test_the_same_name_only_renders_the_placeholders(language):
    name, tree = template(language)
    result = template_tree(tree, name, OWNER, template_name=name, language=language)
    assert sorted(result) == sorted(tree)
    layout, _name = layout_of(tree)
    main = next(path for path in result if path in layout.paths(name)[-1:])
    assert "algo://alice/hello_world/latestPrivate" in result[main][1].decode()
    assert "data://alice/{0}/greeting.txt for alice".format(name) in result[main][1].decode()


def test_large_and_binary_files_are_pushed_byte_for_byte():
    large = ("// <algo> algo://.my/hello_world\n" * (TEMPLATE_FILE_LIMIT // 30)).encode()
    latin1 = "// caf\xe9 <algo>\n".encode("latin-1")  # not UTF-8
    name, tree = template("javascript", {"src/big.js": (F, large), "src/latin1.js": (F, latin1)})
    result = template_tree(tree, "other", OWNER, REFERENCES, template_name=name)
    assert len(large) > TEMPLATE_FILE_LIMIT
    assert sha256(result["src/big.js"][1]) == sha256(large)
    assert result["src/latin1.js"][1] == latin1


MISMATCHES = [
    ("java", "python3", "template hello_java is a Java template (pom.xml, src/main/java/algorithmia/hello_java/hello_java.java) "
                        "but language is python3, which builds Python templates (requirements.txt, src/<Name>.py). "
                        "Fix: set language to java, or give the algorithm a Python template"),
    ("python3", "javascript", "template hello_py is a Python template (requirements.txt, src/hello_py.py) but language is "
                              "javascript, which builds JavaScript templates (package.json, src/<Name>.js). Fix: set language "
                              "to python3 (or python2, pytorch, tensorflow-2.3, tensorflow-1.14)"),
    ("csharp", "rust", "template hello_cs is a C# template (hello_cs.csproj, src/hello_cs.cs) but language is rust"),
    ("ruby", "scala", "template hello_ruby is a Ruby template (Gemfile, src/hello_ruby.rb) but language is scala"),
]


@pytest.mark.parametrize("template_language, language, message", MISMATCHES)
def test_a_template_in_another_language_is_refused_naming_both(template_language, language, message):
    name, tree = template(template_language)
    with pytest.raises(SourceError) as caught:
        template_tree(tree, name + "_ci", OWNER, template_name=name, language=language)
    assert message in str(caught.value)


def test_every_python_shorthand_builds_a_python_template_and_no_other():
    name, tree = template("python3")
    for language in ("python2", "pytorch", "tensorflow-2.3", "tensorflow-1.14"):
        assert template_tree(tree, name, OWNER, template_name=name, language=language)
    adk = {"requirements.txt": (F, b"algorithmia\n"), "src/Algorithm.py": (F, b"from Algorithmia import ADK\n")}
    with pytest.raises(SourceError, match=r"template x is a Python template \(requirements.txt, src/Algorithm.py\) "
                                          r"but language is java"):
        template_tree(adk, "x", OWNER, language="java")


def test_no_recognisable_main_file_names_what_each_language_expects():
    with pytest.raises(SourceError) as caught:
        template_tree({"package.json": (F, b"{}"), "src/index.js": (F, b""), "src/other.js": (F, b"")}, "hello", OWNER)
    text = str(caught.value)
    assert "a JavaScript template (package.json) needs src/<Name>.js; main files found: src/index.js, src/other.js" in text
    for expected in ("Python: requirements.txt, src/<Name>.py (or src/Algorithm.py)", "JavaScript: package.json, src/<Name>.js",
                     "Java: pom.xml, src/main/java/algorithmia/<Name>/<Name>.java", "Ruby: Gemfile, src/<Name>.rb",
                     "Scala: build.sbt, src/main/scala/algorithmia/<Name>/<Name>.scala", "R: packages.txt, src/<Name>.R",
                     "Rust: Cargo.toml, src/lib.rs", "C#: <Name>.csproj, src/<Name>.cs"):
        assert expected in text
    # the name it is known by picks the main file among several
    assert layout_of({"package.json": (F, b"{}"), "src/index.js": (F, b""), "src/hello.js": (F, b"")}, "hello")[1] == "hello"
    with pytest.raises(SourceError, match="Cargo.toml names no package"):
        layout_of({"Cargo.toml": (F, b"[dependencies]\nname = \"x\"\n"), "src/lib.rs": (F, b"")})
    with pytest.raises(SourceError, match="several languages: Java .*, Python"):
        layout_of(dict(template("java")[1], **template("python3")[1]))


def write(directory, tree):
    for path, (_mode, data) in tree.items():
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_bytes(data)


def archive(path, tree, top=None):
    with tarfile.open(path, "w:gz") as tar:
        for name, (_mode, data) in sorted(tree.items()):
            info = tarfile.TarInfo("{0}/{1}".format(top, name) if top else name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("language", ["javascript", "java"])
def test_a_code_path_archive_is_the_same_source_as_the_template_directory(tmp_path, language):
    name, tree = template(language)
    directory = tmp_path / name
    write(directory, tree)
    (directory / "node_modules" / "left-pad").mkdir(parents=True)  # installed dependencies are never pushed
    (directory / "node_modules" / "left-pad" / "index.js").write_text("module.exports = 1;\n")
    from_directory = template_tree(read_directory(str(directory)), "deployed", OWNER, REFERENCES, name, language)
    for top in (None, name):
        path = archive(tmp_path / "{0}-{1}.tar.gz".format(name, top), tree, top)
        code_path = "data://.my/testbench_code/{0}.tar.gz".format(name)
        from_archive = template_tree(read_archive(str(path)), "deployed", OWNER, REFERENCES,
                                     archive_template_name(code_path), language)
        assert from_archive == from_directory
    assert directory_layout(str(directory), name)[1] == name
    for path, data in BINARIES.items():
        assert sha256(from_directory[path][1]) == sha256(data)


def test_the_workflow_refuses_a_template_of_another_language_before_any_cluster(tmp_path):
    name, tree = template("java")
    write(tmp_path / "algorithms" / name, tree)
    document = {"algorithms": [{"name": "hello_world", "language": "python3", "code_path": "data://.my/code/x.tar.gz"},
                               {"name": name, "language": "python3"}]}
    with pytest.raises(WorkflowError) as caught:
        validate_workflow(document, SCHEMA, "mixed", algorithms_dir=str(tmp_path / "algorithms"))
    (problem,) = caught.value.problems
    assert str(problem) == (
        "$.algorithms[1]: template hello_java is a Java template (pom.xml, "
        "src/main/java/algorithmia/hello_java/hello_java.java) but language is python3, which builds Python templates "
        "(requirements.txt, src/<Name>.py). Fix: set language to java, or give the algorithm a Python template.")
    document["algorithms"][1]["language"] = "java"
    workflow = validate_workflow(document, SCHEMA, "mixed", algorithms_dir=str(tmp_path / "algorithms"))
    assert workflow["algorithms"][1]["template_dir"] == str(tmp_path / "algorithms" / name)


def test_the_workflow_refuses_a_template_without_a_main_file(tmp_path):
    (tmp_path / "algorithms" / "hello_js" / "src").mkdir(parents=True)
    (tmp_path / "algorithms" / "hello_js" / "package.json").write_text("{}")
    (tmp_path / "algorithms" / "hello_js" / "src" / "main.js").write_text("")
    (tmp_path / "algorithms" / "hello_js" / "src" / "other.js").write_text("")
    document = {"algorithms": [{"name": "hello_js", "language": "javascript"}, {"name": "nothing", "language": "java"}]}
    with pytest.raises(WorkflowError) as caught:
        validate_workflow(document, SCHEMA, "js", algorithms_dir=str(tmp_path / "algorithms"))
    first, second = map(str, caught.value.problems)
    assert first.startswith("$.algorithms[0]: template hello_js: cannot tell the algorithm's language and main file: "
                            "a JavaScript template (package.json) needs src/hello_js.js; main files found: src/main.js, "
                            "src/other.js")
    assert second == ("$.algorithms[1]: algorithm nothing has no code: no code_path, and no template algorithms/nothing/src/. "
                      "Fix: add code_path (the source cluster's data URI of a .tar.gz of the algorithm's source), or "
                      "create the template algorithms/nothing/ with pom.xml and src/main/java/algorithmia/nothing/nothing.java "
                      "(docs/usage.md, \"Writing a template in each language\").")


def test_the_schema_suggests_every_shorthand():
    assert SCHEMA["$defs"]["language"]["examples"] == list(SHORTHANDS)
