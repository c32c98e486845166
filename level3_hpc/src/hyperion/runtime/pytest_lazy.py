"""A pytest plugin that runs every test inside ``hyperion.runtime.lazy()``.

    pytest -p hyperion.runtime.pytest_lazy level1_tensor/tests/test_ops_elementwise.py

Level 1 cannot import level 3, so its op tests are rerun under lazy mode from outside: this plugin
wraps each test's call (not its fixtures) in ``with lazy("cpu"):``; with ``HYPERION_LAZY_INTERPRET=1``
the scheduled groups run op by op instead of compiled by numba (same graphs and schedule, no compile
time). ``test_lazy.py`` runs the level-1 op tests this way in a subprocess.
"""

from __future__ import annotations

import os

import pytest

from hyperion.runtime.lazy import lazy


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    with lazy("cpu", interpret=os.environ.get("HYPERION_LAZY_INTERPRET") == "1"):
        yield
