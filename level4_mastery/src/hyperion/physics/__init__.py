"""Differentiable physics on Hyperion: an FDTD solver with CPML, on numpy, numba and CUDA.

Start with :class:`~hyperion.physics.yee.Simulation` (2D TMz/TEz and 3D, numpy), the checks in
:mod:`hyperion.physics.checks`, the gradients in :mod:`hyperion.physics.adjoint` and the 3D backends in
:mod:`hyperion.physics.backends`.
"""

from hyperion.physics.pml import CPMLSettings
from hyperion.physics.sources import ContinuousWave, GaussianPulse, ModeSource, PlaneWaveTFSF, PointSource
from hyperion.physics.yee import CourantError, Simulation, courant_limit

__all__ = ["CPMLSettings", "ContinuousWave", "CourantError", "GaussianPulse", "ModeSource", "PlaneWaveTFSF",
           "PointSource", "Simulation", "courant_limit"]
