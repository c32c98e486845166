import ast

import pytest

from hyperion_grader.markers import MarkerError, find_regions
from hyperion_grader.markers_cu import find_regions_cu

GOOD = '''\
import numpy as np


class T:
    def permute(self, *dims):
        """Task 1.2: permute by stride arithmetic."""
        check = 1
        # BEGIN SOLUTION
        out = dims
        return out
        # END SOLUTION


def f(x):
    """Task 1.4: unbroadcast.

    The convention is '# BEGIN SOLUTION' (this docstring mention is not a marker).
    """
    if x:
        # BEGIN SOLUTION
        return 1
        # END SOLUTION
    return 2
'''


def test_good_regions():
    regions = find_regions(GOOD, "good.py")
    assert [(r.task, r.function, r.begin, r.end, r.indent) for r in regions] == [
        ("1.2", "T.permute", 8, 11, " " * 8),
        ("1.4", "f", 20, 22, " " * 8),
    ]


def _fn(body: str, doc: str = "Task 1.1: x.") -> str:
    return f'def f():\n    """{doc}"""\n{body}'


BAD = {
    "unclosed": (_fn("    # BEGIN SOLUTION\n    return 1\n"), 3, "unclosed"),
    "nested": (
        _fn(
            "    # BEGIN SOLUTION\n    x = 1\n    # BEGIN SOLUTION\n    return 1\n"
            "    # END SOLUTION\n    # END SOLUTION\n"
        ),
        5,
        "nested",
    ),
    "end_without_begin": (_fn("    return 1\n    # END SOLUTION\n"), 4, "without BEGIN"),
    "outside_function": ("x = 1\n# BEGIN SOLUTION\ny = 2\n# END SOLUTION\n", 2, "outside a function"),
    "in_class_body": (
        "class A:\n    # BEGIN SOLUTION\n    y = 2\n    # END SOLUTION\n",
        2,
        "outside a function",
    ),
    "no_task": (_fn("    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", doc="Does x."), 3, "no task"),
    "no_docstring": ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", 2, "no task"),
    "empty": (_fn("    # BEGIN SOLUTION\n    # END SOLUTION\n    return 1\n"), 3, "empty"),
    "mixed_indent": (
        _fn("    if 1:\n        # BEGIN SOLUTION\n        x = 1\n    # END SOLUTION\n    return 1\n"),
        6,
        "indented differently",
    ),
    "inline": (_fn("    x = 1  # BEGIN SOLUTION\n    return x\n"), 3, "alone on its line"),
    "typo": (_fn("    # BEGIN SOLUTIONS\n    return 1\n"), 3, "malformed marker"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_markers_name_file_and_line(name):
    source, line, words = BAD[name]
    with pytest.raises(MarkerError, match=rf"^bad\.py:{line}: .*{words}"):
        find_regions(source, "bad.py")


def test_statement_split_refused():
    src = _fn("    x = (1,\n    # BEGIN SOLUTION\n         2)\n    # END SOLUTION\n")
    with pytest.raises(MarkerError, match=r"bad\.py:\d+:"):
        find_regions(src, "bad.py")


CU = """\
#include <cassert>
// Task 3.1: naive matmul.
extern "C" __global__ void mm(const float* a, float* c, int n) {
    int i = threadIdx.x; /* { not a brace */
    const char* s = "}";
    // BEGIN SOLUTION
    if (i < n) { c[i] = a[i]; }
    // END SOLUTION
}
namespace k {
struct S { int x; };
/** Task 3.2: host helper. */
void helper(int n) const {
    // BEGIN SOLUTION
    n += 1;
    // END SOLUTION
}
}
"""


def test_cu_regions():
    regions = find_regions_cu(CU, "k.cu")
    assert [(r.task, r.function, r.begin, r.end) for r in regions] == [
        ("3.1", "mm", 6, 8),
        ("3.2", "helper", 14, 16),
    ]


@pytest.mark.parametrize(
    "source,line,words",
    [
        ("// BEGIN SOLUTION\nint x;\n// END SOLUTION\n", 1, "outside a function"),
        ("struct A {\n  // BEGIN SOLUTION\n  int x;\n  // END SOLUTION\n};\n", 2, "outside a function"),
        ("// Task 1.1\nvoid f() {\n  // BEGIN SOLUTION\n  int x;\n}\n", 3, "unclosed"),
        ("void f() {\n  // BEGIN SOLUTION\n  int x;\n  // END SOLUTION\n}\n", 2, "no task"),
        ("// Task 1.1\nvoid f() {\n  int x;\n  // END SOLUTION\n}\n", 4, "without BEGIN"),
        ("// Task 1.1\nvoid f() {\n  // BEGIN SOLUTION\n  // BEGIN SOLUTION\n}\n", 4, "nested"),
    ],
)
def test_cu_malformed(source, line, words):
    with pytest.raises(MarkerError, match=rf"^k\.cu:{line}: .*{words}"):
        find_regions_cu(source, "k.cu")


def test_good_source_still_parses():
    ast.parse(GOOD)
