"""Hyperion level 0: numerics every later level leans on (numpy; numba for the locality lesson)."""

from hyperion.foundations.gradcheck import GradcheckError, gradcheck, numerical_gradient

__all__ = ["GradcheckError", "gradcheck", "numerical_gradient"]
