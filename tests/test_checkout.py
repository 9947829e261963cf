"""Issue checkouts: hostile tarballs are refused whole, caps hold, and concurrent jobs do not collide."""

from __future__ import annotations

import io
import stat
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from swarm_core.errors import CheckoutRefused
from swarm_core.issue.checkout import CheckoutLimits, checkout, extract

TOP = "octo-repo-0123abc"
DATA_FILTER = [
    pytest.param(
        True,
        id="data-filter",
        marks=pytest.mark.skipif(not hasattr(tarfile, "data_filter"), reason="3.11.4+"),
    ),
    pytest.param(False, id="own-check"),
]


def _info(name: str, kind: bytes = tarfile.REGTYPE, *, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    info.linkname = link
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info


def tarball(*members: tarfile.TarInfo | tuple[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for m in members:
            if isinstance(m, tuple):
                name, data = m
                tar.addfile(_info(name, size=len(data)), io.BytesIO(data))
            else:
                tar.addfile(m)
    return buf.getvalue()


GOOD = tarball(_info(TOP, tarfile.DIRTYPE), (f"{TOP}/src/app.py", b"print('hi')\n"))


def _write(tmp_path: Path, data: bytes) -> Path:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(data)
    return archive


HOSTILE = {
    "absolute path": tarball(("/tmp/swarm-owned", b"x")),
    "dot-dot": tarball((f"{TOP}/../../escaped", b"x")),
    "symlink to an absolute path": tarball(_info(f"{TOP}/etc", tarfile.SYMTYPE, link="/etc")),
    "symlink up and out": tarball(
        _info(TOP, tarfile.DIRTYPE), _info(f"{TOP}/up", tarfile.SYMTYPE, link="../..")
    ),
    "symlink chain out": tarball(
        _info("a", tarfile.DIRTYPE),
        _info("a/b", tarfile.SYMTYPE, link=".."),  # a/b -> the root: inside on its own
        _info("c", tarfile.SYMTYPE, link="a/b/.."),  # through the link: the root's parent
    ),
    "write through a link": tarball(_info("out", tarfile.SYMTYPE, link="/tmp"), ("out/swarm-owned", b"x")),
    "hard link out": tarball(_info(f"{TOP}/passwd", tarfile.LNKTYPE, link="/etc/passwd")),
    "hard link up": tarball(_info(f"{TOP}/passwd", tarfile.LNKTYPE, link="../../etc/passwd")),
    "character device": tarball(_info(f"{TOP}/null", tarfile.CHRTYPE)),
    "block device": tarball(_info(f"{TOP}/sda", tarfile.BLKTYPE)),
    "fifo": tarball(_info(f"{TOP}/pipe", tarfile.FIFOTYPE)),
}


@pytest.mark.parametrize("data_filter", DATA_FILTER)
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_member_refuses_the_whole_archive(tmp_path: Path, case: str, data_filter: bool) -> None:
    dest = tmp_path / "x"
    dest.mkdir()
    with pytest.raises(CheckoutRefused) as err:
        extract(_write(tmp_path, HOSTILE[case]), dest, CheckoutLimits(), data_filter=data_filter)
    assert "the archive" in str(err.value)
    assert not Path("/tmp/swarm-owned").exists()
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "escaped").exists()
    # Nothing reaches out of dest: every path in it resolves inside it.
    for p in dest.rglob("*"):
        assert p.resolve().is_relative_to(dest.resolve()) or not p.is_symlink()


@pytest.mark.parametrize("data_filter", DATA_FILTER)
def test_a_safe_archive_unpacks_with_its_inner_links(tmp_path: Path, data_filter: bool) -> None:
    data = tarball(
        _info(TOP, tarfile.DIRTYPE),
        (f"{TOP}/README.md", b"read me\n"),
        _info(f"{TOP}/docs", tarfile.DIRTYPE),
        _info(f"{TOP}/docs/README.md", tarfile.SYMTYPE, link="../README.md"),
        _info(f"{TOP}/copy.md", tarfile.LNKTYPE, link=f"{TOP}/README.md"),
    )
    dest = tmp_path / "x"
    dest.mkdir()
    extract(_write(tmp_path, data), dest, CheckoutLimits(), data_filter=data_filter)
    assert (dest / TOP / "docs" / "README.md").read_bytes() == b"read me\n"
    assert (dest / TOP / "copy.md").read_bytes() == b"read me\n"


@pytest.mark.parametrize(
    ("data", "limits", "message"),
    [
        (
            tarball(*((f"f{i}", b"") for i in range(11))),
            CheckoutLimits(max_members=10),
            "more than 10 members",
        ),
        (
            tarball(("big", b"\0" * 4_000_000)),  # ~4 KB compressed: a small gzip bomb
            CheckoutLimits(max_unpacked_bytes=3_000_000),
            "unpacks to more than 3000000 bytes",
        ),
        (
            tarball(("a", b"\0" * 2_000_000), ("b", b"\0" * 2_000_000)),
            CheckoutLimits(max_unpacked_bytes=3_000_000),
            "unpacks to more than 3000000 bytes",
        ),
    ],
    ids=["members", "one-large-file", "total"],
)
def test_caps_on_members_and_unpacked_bytes(
    tmp_path: Path, data: bytes, limits: CheckoutLimits, message: str
) -> None:
    dest = tmp_path / "x"
    dest.mkdir()
    with pytest.raises(CheckoutRefused, match=message):
        extract(_write(tmp_path, data), dest, limits)
    assert sum(p.stat().st_size for p in dest.rglob("*") if p.is_file()) <= 3_000_000


class Tarballs:
    """A fake GitHub: one tarball per SHA, a hook run during each download, downloads counted."""

    def __init__(self, data: dict[str, bytes], during: Callable[[str, str], None] | None = None) -> None:
        self.data = data
        self.during = during
        self.downloads: list[str] = []
        self.dests: list[Path] = []
        self._lock = threading.Lock()

    def commit_sha(self, repo: str, ref: str) -> str | None:
        return ref

    def download_tarball(self, repo: str, ref: str, dest: str) -> None:
        with self._lock:
            self.downloads.append(ref)
            self.dests.append(Path(dest))
        Path(dest).write_bytes(self.data[ref])
        if self.during is not None:
            self.during(ref, dest)


def _repo_tar(sha: str) -> bytes:
    top = f"octo-repo-{sha}"
    return tarball(_info(top, tarfile.DIRTYPE), (f"{top}/app.py", f"# {sha}\n".encode()))


def test_the_tarball_cap(tmp_path: Path) -> None:
    client = Tarballs({"a" * 40: _repo_tar("a" * 40)})
    with pytest.raises(CheckoutRefused, match="over the cap of 100"):
        checkout(client, "octo/repo", "a" * 40, tmp_path / "cache", CheckoutLimits(max_tarball_bytes=100))
    assert not (tmp_path / "cache" / "octo+repo" / ("a" * 40)).exists()


def test_extraction_happens_in_a_private_folder_outside_the_pruned_one(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shas = ["a" * 40, "b" * 40, "c" * 40]

    def others_finish_first(ref: str, dest: str) -> None:
        # While A downloads, two newer commits are checked out and the cache is pruned.
        assert stat.S_IMODE(Path(dest).parent.stat().st_mode) == 0o700
        if ref == shas[0]:
            checkout(client, "octo/repo", shas[1], cache)
            time.sleep(0.01)
            checkout(client, "octo/repo", shas[2], cache)

    client = Tarballs({s: _repo_tar(s) for s in shas}, during=others_finish_first)
    root, sha = checkout(client, "octo/repo", shas[0], cache)
    assert sha == shas[0]
    assert (root / "app.py").read_text() == f"# {shas[0]}\n"
    assert all(not d.is_relative_to(cache / "octo+repo") for d in client.dests)
    kept = sorted(p.name for p in (cache / "octo+repo").iterdir())
    assert kept == sorted([shas[0], shas[2]])  # the newest two, the oldest pruned


def test_one_download_per_repository_and_commit_at_a_time(tmp_path: Path) -> None:
    sha = "d" * 40
    client = Tarballs({sha: _repo_tar(sha)}, during=lambda ref, dest: time.sleep(0.2))
    results: list[Path] = []

    def job() -> None:
        results.append(checkout(client, "octo/repo", sha, tmp_path / "cache")[0])

    threads = [threading.Thread(target=job) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert client.downloads == [sha]
    assert len(results) == 4 and len(set(results)) == 1
    assert (results[0] / "app.py").read_text() == f"# {sha}\n"


@pytest.mark.parametrize(("repo", "ref"), [("octo/repo", "../../x"), ("octo/repo", ".."), ("octo/repo", "")])
def test_a_repository_name_or_sha_that_is_a_path_is_refused(tmp_path: Path, repo: str, ref: str) -> None:
    client = Tarballs({})
    with pytest.raises(CheckoutRefused, match="not a repository name and commit"):
        checkout(client, repo, ref, tmp_path / "cache")
    assert client.downloads == []
