"""Hyperion's autograder: skeletons from the reference, sandboxed probes, a judge that trusts only data.

Kept import-light: this package is also served to sandboxed children from memory.
"""

__version__ = "0.1.0"
