"""The issue's benchmark scene in fdtdx 0.6.3: N³ cells with a 10-cell PML on every face, one plane source,
no monitors (detectors), fp32; prints Mcells/s of the second (compiled) run.

    python fdtdx_scene.py N STEPS [gpu|cpu]

Runs with JAX and fdtdx installed (not a dependency of this project). If ``import fdtdx`` fails on tidy3d
(fdtdx imports it at import time, only for its mode solver, which this scene does not use) and
``FDTDX_TIDY3D_STUB`` names a folder holding an import stub, the stub is used and the output says so.
"""

import os
import sys
import time

try:
    import fdtdx
    tidy3d_used = "real tidy3d"
except Exception as error:  # noqa: BLE001 - reported, then retried with the stub
    stub = os.environ.get("FDTDX_TIDY3D_STUB")
    if not stub:
        raise
    print(f"import fdtdx failed ({type(error).__name__}: {error}); retrying with the tidy3d import stub")
    for name in [m for m in sys.modules if m.startswith(("fdtdx", "tidy3d"))]:
        del sys.modules[name]
    sys.path.insert(0, stub)
    import fdtdx
    tidy3d_used = "tidy3d import stub"
import jax
import jax.numpy as jnp

n, steps = int(sys.argv[1]), int(sys.argv[2])
backend = sys.argv[3] if len(sys.argv) > 3 else "gpu"
dx, c = 50e-9, 299792458.0
dt = 0.99 * dx / (c * 3**0.5)  # fdtdx's step at courant_factor 0.99
config = fdtdx.SimulationConfig(time=steps * dt, grid=fdtdx.UniformGrid(spacing=dx), dtype=jnp.float32,
                                backend=backend)
volume = fdtdx.SimulationVolume(partial_grid_shape=(n, n, n))
objects, constraints = [volume], []
boundaries, placed = fdtdx.boundary_objects_from_config(fdtdx.BoundaryConfig.from_uniform_bound(thickness=10,
                                                                                                  boundary_type="pml"),
                                                         volume)
objects += list(boundaries.values())
constraints += placed
source = fdtdx.UniformPlaneSource(partial_grid_shape=(None, None, 1), fixed_E_polarization_vector=(1, 0, 0),
                                  direction="+", wave_character=fdtdx.WaveCharacter(wavelength=1.55e-6))
constraints.append(source.place_relative_to(volume, axes=(0, 1, 2), own_positions=(0, 0, 0),
                                            other_positions=(0, 0, 0)))
objects.append(source)
key = jax.random.PRNGKey(0)
container, arrays, params, config, _ = fdtdx.place_objects(object_list=objects, config=config,
                                                           constraints=constraints, key=key)
arrays, container, _ = fdtdx.apply_params(arrays, container, params, key)


@jax.jit
def simulate(arrays, key):
    return fdtdx.run_fdtd(arrays=arrays, objects=container, config=config, key=key, show_progress=False)


start = time.perf_counter()
jax.block_until_ready(simulate(arrays, key))
first = time.perf_counter() - start
start = time.perf_counter()
_, final = jax.block_until_ready(simulate(arrays, key))
second = time.perf_counter() - start
total = config.time_steps_total
energy = float(sum(jnp.sum(jnp.square(f)) for f in jax.tree_util.tree_leaves(final.fields)))
version = getattr(fdtdx, "__version__", "0.6.3")
print(f"fdtdx {version} ({tidy3d_used}), jax {jax.__version__}, "
      f"{jax.devices()[0].platform}: {n}^3 x {total} steps: compile+run {first:.2f} s, run {second:.3f} s -> "
      f"{n**3 * total / second / 1e6:.1f} Mcells/s (sum of squared field leaves {energy:.3e})")
