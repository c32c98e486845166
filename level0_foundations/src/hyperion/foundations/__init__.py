"""Hyperion level 0: numerics every later level leans on (numpy only)."""

from hyperion.foundations.gradcheck import GradcheckError, gradcheck, numerical_gradient

__all__ = ["GradcheckError", "gradcheck", "numerical_gradient"]
