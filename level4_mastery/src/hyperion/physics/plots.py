"""``python -m hyperion.physics.plots [--out DIR] [--bend JSON]``: the figures of the Level 4 FDTD pages.

Each figure is computed here from a run (nothing is drawn from stored numbers): the PEC-cavity
spectrum against the analytic modes, the line source against the Hankel function, the CPML's
reflection against a large reference domain, and -- given the JSON written by
``optimize_bend --json`` -- the bend's optimisation history and its design evolving (a GIF).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from hyperion.physics import checks
from hyperion.physics.monitors import DFTMonitor
from hyperion.physics.sources import GaussianPulse, PointSource
from hyperion.physics.yee import Simulation


def cavity_spectrum(out: Path, plt) -> None:
    nx, ny, steps = 40, 30, 8000
    sim = Simulation((nx, ny), pml=None)
    sim.sources.append(PointSource((7, 5), GaussianPulse(width=3.0, delay=12.0)))
    trace = np.empty(steps)
    for n in range(steps):
        sim.step()
        trace[n] = sim.E[2][nx - 9, ny - 7, 0]
    spectrum = np.abs(np.fft.rfft(trace * np.hanning(steps), 16 * steps))
    f = np.fft.rfftfreq(16 * steps, sim.dt)
    keep = f < 0.06
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.semilogy(f[keep], spectrum[keep], lw=1, label="FDTD probe spectrum")
    for m in range(1, 4):
        for n in range(1, 4):
            fa = 0.5 * np.hypot(m / nx, n / ny)
            if fa < 0.06:
                ax.axvline(fa, color="C3", lw=0.6, ls="--")
    ax.set_xlabel("frequency (cycles per Δx/c)")
    ax.set_ylabel("|Ez(f)|")
    ax.set_title("PEC cavity 40×30: spectrum and analytic TM_mn (dashed)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "cavity.png", dpi=120)


def hankel(out: Path, plt) -> None:
    import scipy.special

    wavelength, pml, reach = 20, 12, 64
    n = 2 * (reach + pml + 6)
    f0 = 1.0 / wavelength
    pulse = GaussianPulse.for_band(f0, 0.5 * f0)
    sim = Simulation((n, n), pml=pml)
    c = n // 2
    sim.sources.append(PointSource((c, c), pulse))
    omega = 2 * np.pi * f0
    monitor = DFTMonitor("Ez", (slice(c, c + reach + 1), c), [omega])
    sim.monitors.append(monitor)
    steps = int(2.5 * n / sim.courant + 2 * pulse.delay / sim.dt)
    sim.run(steps)
    current = pulse.spectrum(omega, sim.dt, steps)[0]
    w = 2 * np.sin(omega * sim.dt / 2) / sim.dt
    r = np.arange(4, reach + 1)
    numeric = np.abs(monitor.values[0, 4:, 0])
    analytic = np.abs(-(w / 4) * current * scipy.special.hankel1(0, omega * r))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(r / wavelength, numeric, "o", ms=3, label="FDTD |Ez| (DFT)")
    ax.plot(r / wavelength, analytic, "-", label="(ω/4)|I H0(kr)|")
    ax.set_xlabel("r / λ")
    ax.set_ylabel("|Ez|")
    ax.set_title("2D line source at 20 cells per wavelength vs the Hankel function")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "hankel.png", dpi=120)


def cpml(out: Path, plt) -> None:
    values = {angle: checks.cpml_reflection(angle).value for angle in (0, 45)}
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar([f"{a}°" for a in values], list(values.values()), color=["C0", "C1"])
    ax.axhline(-40, color="C3", ls="--", lw=1, label="limit at 0° (-40 dB)")
    ax.axhline(-30, color="C2", ls="--", lw=1, label="limit at 45° (-30 dB)")
    ax.set_ylabel("reflection (dB)")
    ax.set_title("10-cell CPML: measured reflection")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "cpml.png", dpi=120)


def bend(out: Path, plt, result_path: Path) -> None:
    from matplotlib import animation

    result = json.loads(result_path.read_text(encoding="utf-8"))
    history = result["history"]
    its = [h["iteration"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for k, wl in enumerate((1270, 1290)):
        ax.plot(its, [h["t21"][k] for h in history], label=f"|S21|² {wl} nm")
        ax.plot(its, [h["t11"][k] for h in history], ls="--", label=f"|S11|² {wl} nm")
    ax.axhline(10 ** -0.05, color="k", lw=0.6)
    ax.set_xlabel("Adam iteration")
    ax.set_yscale("log")
    ax.set_title("Lightweight bend: optimisation through our adjoint")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "bend_history.png", dpi=120)
    final_field(out, plt, np.asarray(result["design"]))
    designs = [np.asarray(h["density"]) for h in history if "density" in h]
    if designs:
        fig, ax = plt.subplots(figsize=(3.2, 3.2))
        image = ax.imshow(designs[0].T, origin="lower", cmap="Greys", vmin=0, vmax=1)
        ax.set_axis_off()

        def frame(i):
            image.set_data(designs[i].T)
            ax.set_title(f"iteration {i}", fontsize=9)
            return (image,)

        anim = animation.FuncAnimation(fig, frame, frames=len(designs), interval=150)
        anim.save(out / "bend_design.gif", writer=animation.PillowWriter(fps=6))


def final_field(out: Path, plt, design: np.ndarray) -> None:
    """|Ez| at 1270 nm over the whole grid for the final binary design (a running DFT of every cell)."""
    from hyperion.physics import bend as bend_model
    from hyperion.physics import tmz

    simulator = bend_model.BendSimulator()
    problem, grid = simulator.problem, simulator.problem.grid
    eps = bend_model.permittivity(simulator.spec, design)
    cb = grid.dt / eps
    state = tmz.zero_state(grid)
    field = np.zeros(grid.shape, complex)
    for n in range(problem.steps):
        state = tmz.step(grid, cb, state, problem.current(n))
        field += problem.weights(n + 1)[0] * state[0]
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.imshow(np.abs(field).T, origin="lower", cmap="magma")
    ax.contour(eps.T, levels=[0.5 * (bend_model.CLADDING + bend_model.SLAB)], colors="w", linewidths=0.5)
    ax.set_title("|Ez| at 1270 nm, final binary design", fontsize=9)
    ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(out / "bend_field.png", dpi=120)


def main(argv: list[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="site/docs/level4/img")
    parser.add_argument("--bend", help="JSON from optimize_bend --json")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cavity_spectrum(out, plt)
    hankel(out, plt)
    cpml(out, plt)
    if args.bend:
        bend(out, plt, Path(args.bend))
    print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
