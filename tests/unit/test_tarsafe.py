"""The code archive reader refuses anything that could escape or surprise, naming the member."""

from __future__ import annotations

import io
import tarfile

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.tarsafe import (
    UnsafeArchive,
    read_archive,
)


def make_archive(tmp_path, members):
    """``members``: (name, kind, payload) with kind file/dir/symlink/hardlink/device/fifo."""
    path = tmp_path / "code.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            data = b""
            if kind == "file":
                data = payload
                info.size = len(data)
                info.mode = 0o644
            elif kind == "exec":
                data = payload
                info.size = len(data)
                info.mode = 0o755
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, payload
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, payload
            elif kind == "device":
                info.type = tarfile.CHRTYPE
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            tar.addfile(info, io.BytesIO(data) if data else None)
    return path


GOOD = [("requirements.txt", "file", b"algorithmia\n"), ("src", "dir", None),
        ("src/hello.py", "file", b"def apply(x):\n    return x\n")]


def test_reads_a_plain_archive(tmp_path):
    files = read_archive(make_archive(tmp_path, GOOD))
    assert files == {"requirements.txt": (0o100644, b"algorithmia\n"),
                     "src/hello.py": (0o100644, b"def apply(x):\n    return x\n")}


def test_a_single_top_directory_is_dropped(tmp_path):
    members = [("hello/" + name, kind, data) for name, kind, data in GOOD] + [("./hello/run.sh", "exec", b"#!/bin/sh\n")]
    files = read_archive(make_archive(tmp_path, members))
    assert sorted(files) == ["requirements.txt", "run.sh", "src/hello.py"]
    assert files["run.sh"][0] == 0o100755


def test_src_as_the_only_top_directory_is_kept(tmp_path):
    files = read_archive(make_archive(tmp_path, [("src/hello.py", "file", b"x")]))
    assert list(files) == ["src/hello.py"]


def test_archiver_noise_is_skipped(tmp_path):
    members = GOOD + [("src/__pycache__/hello.cpython-311.pyc", "file", b"\x00"), ("._hello.py", "file", b"x"),
                      ("src/.DS_Store", "file", b"x")]
    assert sorted(read_archive(make_archive(tmp_path, members))) == ["requirements.txt", "src/hello.py"]


@pytest.mark.parametrize("member, kind, payload, words", [
    ("../evil.py", "file", b"x", "climbs out"),
    ("src/../../evil.py", "file", b"x", "climbs out"),
    ("/etc/cron.d/evil", "file", b"x", "absolute path"),
    ("src/link.py", "symlink", "/etc/passwd", "symbolic link"),
    ("src/hard.py", "hardlink", "requirements.txt", "hard link"),
    ("src/tty", "device", None, "a device"),
    ("src/pipe", "fifo", None, "a FIFO"),
])
def test_dangerous_members_are_refused_by_name(tmp_path, member, kind, payload, words):
    with pytest.raises(UnsafeArchive) as caught:
        read_archive(make_archive(tmp_path, GOOD + [(member, kind, payload)]))
    assert repr(member) in str(caught.value)
    assert words in str(caught.value)


def test_a_bad_member_after_good_ones_refuses_the_whole_archive(tmp_path):
    # The index is checked in full before any file is used.
    with pytest.raises(UnsafeArchive, match="climbs out"):
        read_archive(make_archive(tmp_path, GOOD + [("../late.py", "file", b"x")]))


def test_size_and_count_limits(tmp_path):
    archive = make_archive(tmp_path, GOOD + [("src/big.bin", "file", b"0" * 5000)])
    with pytest.raises(UnsafeArchive, match="'src/big.bin' is 5000 bytes"):
        read_archive(archive, max_file_bytes=4096)
    with pytest.raises(UnsafeArchive, match="unpacks to more than"):
        read_archive(archive, max_total_bytes=5000)
    with pytest.raises(UnsafeArchive, match="more than 2 members"):
        read_archive(archive, max_members=2)


def test_not_a_gzip_tar(tmp_path):
    path = tmp_path / "x.tar.gz"
    path.write_bytes(b"plain text, not an archive")
    with pytest.raises(tarfile.TarError):
        read_archive(path)


def test_reads_from_a_file_object(tmp_path):
    with open(make_archive(tmp_path, GOOD), "rb") as stream:
        assert sorted(read_archive(stream)) == ["requirements.txt", "src/hello.py"]
