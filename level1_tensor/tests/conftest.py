"""Shared test set-up: the helper module ``torch_compare`` on the path, and hypothesis' profile.

Shrinking a failing example is skipped: against a fresh skeleton every property test fails at once
(``NotImplementedError``), and shrinking hundreds of those made a learner's first run take ten
minutes instead of one. A failure still reports the example that failed.
"""

import sys
from pathlib import Path

from hypothesis import Phase, settings

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

settings.register_profile("hyperion", phases=(Phase.explicit, Phase.reuse, Phase.generate), deadline=None)
settings.load_profile("hyperion")
