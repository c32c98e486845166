"""The ``conftest.py`` written at the top of every generated level folder (workspace, release).

Public tests must test the learner's code, never a reference that happens to be installed (editable
installs put every level's ``src`` on ``sys.path``; ``hyperion`` is a namespace package, so whichever
portion comes first wins). The conftest puts the folder's own ``src`` first, drops any module of its
packages imported before, and refuses to run the tests when a package still comes from elsewhere.
"""

TEMPLATE = '''"""Written by `start-levelN`: these tests import THIS folder's code (src/), whatever else is installed.

The levels below come from wherever they are installed (the reference, in the course's set-up).
"""

import importlib
import importlib.util
import sys
from pathlib import Path

SRC = (Path(__file__).resolve().parent / "src").resolve()
PACKAGES = sorted(f"hyperion.{p.name}" for p in (SRC / "hyperion").iterdir() if (p / "__init__.py").is_file())

sys.path[:] = [str(SRC)] + [p for p in sys.path if Path(p or ".").resolve() != SRC]
for _name in list(sys.modules):
    if any(_name == p or _name.startswith(p + ".") for p in PACKAGES):
        del sys.modules[_name]  # imported before (a plugin, another conftest): import it again from SRC
importlib.invalidate_caches()
for _name in PACKAGES:  # where each package would load from (found, not imported: nothing runs yet)
    _spec = importlib.util.find_spec(_name)
    _file = Path(_spec.origin).resolve() if _spec and _spec.origin else None
    if _file is None or not _file.is_relative_to(SRC):
        raise RuntimeError(f"{_name} would be imported from {_file}, not from {SRC}: the tests would check "
                           f"that instead of your code. Is a `hyperion/__init__.py` installed somewhere?")
'''
