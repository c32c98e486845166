"""Monitors: running DFTs of fields, and the flux and mode overlap computed from them.

A running DFT accumulates ``F̃(ω) = Σ_n F^n e^{iω t_n} Δt`` while the simulation runs, so a
frequency-domain answer costs memory for the monitored cells only, not for the time history.
E is sampled at t = nΔt and H at t = (n-½)Δt; the monitor uses each field's own time.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class DFTMonitor:
    """Running DFT of one field component (``"Ez"``, ``"Hy"``, ...) over a region (a tuple of slices)."""

    def __init__(self, field: str, region: tuple[Any, ...], omegas: Any) -> None:
        if len(field) != 2 or field[0] not in "EH" or field[1] not in "xyz":
            raise ValueError(f"field must be like 'Ez' or 'Hx', got {field!r}")
        self.kind, self.component = field[0], "xyz".index(field[1])
        self.region = tuple(region) + (slice(None),) * (3 - len(region))
        self.omegas = np.atleast_1d(np.asarray(omegas, np.float64))
        self.values: np.ndarray | None = None

    def record(self, sim: Any) -> None:
        fields = sim.E if self.kind == "E" else sim.H
        field = fields[self.component]
        if field is None:
            raise ValueError(f"mode {sim.mode!r} has no {self.kind}{'xyz'[self.component]}")
        t = sim.n * sim.dt - (0.5 * sim.dt if self.kind == "H" else 0.0)
        sample = field[self.region].astype(np.float64)
        phase = np.exp(1j * self.omegas * t) * sim.dt
        term = phase.reshape((-1,) + (1,) * sample.ndim) * sample
        self.values = term if self.values is None else self.values + term


def tmz_flux_x(ez: np.ndarray, hy_left: np.ndarray, hy_right: np.ndarray, dx: float = 1.0) -> np.ndarray:
    """Time-averaged power through an x = const line of a TMz field: ``½ Re Σ (-Ez · conj(Hy)) Δy``.

    ``hy_left``/``hy_right`` are the DFTs of Hy half a cell on either side of the Ez line; their mean
    puts H on the line (S_x = Ey Hz - Ez Hy, and TMz has only the second term).
    """
    hy = 0.5 * (hy_left + hy_right)
    return 0.5 * np.real(np.sum(-ez * np.conj(hy), axis=-1)) * dx


def mode_overlap(field_line: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """``Σ_y u(y) F̃(y)``: the amplitude of the (real, unit-norm) mode ``u`` in a DFT line (last axis)."""
    return np.asarray(field_line) @ np.asarray(profile)
