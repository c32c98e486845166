"""The reproduction in one command per experiment: data, speed against the PyTorch twin, training, evaluation.

    python -m hyperion.repro.fno.run --experiment burgers --device cuda --out results/
    python -m hyperion.repro.fno.run --experiment darcy   --device cuda --out results/

The two experiments are independent processes. Each writes ``results_<experiment>.json`` after every
stage (so a run cut short keeps what it did) and ``samples_<experiment>.npz``; ``--experiment both``
(the default) runs them one after the other, each alone on the machine (``--parallel``: side by side).

Burgers: (1) ``train + test`` zero-mean initial conditions solved at ``s_solve`` by ETDRK4 (CuPy on
CUDA), timed; (2) speed: epochs of our FNO (as trained), of our FNO op by op and of its PyTorch twin
(same initial weights, same batches) alternated in one process, and inference per sample;
(3) training at ``s_train`` with the paper's protocol; (4) zero-shot evaluation of that model at every
resolution 256 ... s_solve.

Darcy: (1) coefficients drawn on the device, the ``train + test`` sparse direct solves at
``darcy_s`` on CPU processes (timed together; then one solve alone), subsampled by 5 to s = 85;
``--darcy-solver pcg`` solves them batched on the device instead (``darcy.solve_pcg``), and then
checks one field against the direct solve (the relative difference goes into the results);
(2) speed against the twin;
(3) training with the authors' pointwise Gaussian normalisation of inputs and targets
(:class:`~hyperion.repro.fno.model.Decoded`); (4) test error at s = 85.

Training always follows the requested protocol (500 epochs, halvings every 100). ``--budget`` is only a
safety net: past it training stops, and the run is recorded as stopped (``"reduced": true``), which
``report.py`` -- the table and the figures -- marks as NOT holding.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

import hyperion.tensor as ht
from hyperion.repro.fno import burgers, darcy
from hyperion.repro.fno.model import Decoded, FNO1d, FNO2d, pointwise_gaussian
from hyperion.repro.fno.train import History, evaluate, predict, run_epoch, train, training_step

RESOLUTIONS = (256, 512, 1024, 2048, 4096, 8192)


def _array_module(device: str) -> Any:
    if device == "cuda":
        import cupy

        return cupy
    return np


def _sync(device: str) -> None:
    if device == "cuda":
        import cupy

        cupy.cuda.Device().synchronize()


def environment(device: str, commit: str) -> dict[str, Any]:
    info: dict[str, Any] = {"device": device, "commit": commit, "python": platform.python_version(),
                            "numpy": np.__version__, "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}
    if device == "cuda":
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        info.update(gpu=props["name"].decode(), cupy=cupy.__version__,
                    driver=cupy.cuda.runtime.driverGetVersion(), cuda_runtime=cupy.cuda.runtime.runtimeGetVersion())
        try:
            import subprocess

            info["driver_version"] = subprocess.run(
                ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                capture_output=True, text=True, timeout=20).stdout.strip()
        except Exception as error:  # noqa: BLE001 - the report says what failed
            info["driver_version"] = f"unknown ({error})"
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = None
    return info


def _epoch_torch(twin: Any, optimizer: Any, x: Any, y: Any, order: np.ndarray, batch: int) -> float:
    """The twin's epoch, organised as :func:`~hyperion.repro.fno.train.run_epoch` (one permutation per epoch)."""
    import torch

    from hyperion.repro.fno.twin import relative_l2_torch

    index = torch.as_tensor(order, device=x.device)
    xs, ys = x[index], y[index]
    losses = []
    for first in range(0, len(order) - batch + 1, batch):
        loss = relative_l2_torch(twin(xs[first : first + batch]), ys[first : first + batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return float(torch.stack(losses).sum().item())


def _timed(fn: Any, device: str) -> tuple[float, Any]:
    """Seconds ``fn()`` takes, the device's queue drained before and after; and what it returned."""
    _sync(device)
    start = time.perf_counter()
    value = fn()
    _sync(device)
    return time.perf_counter() - start, value


def speed(make_model: Any, inputs: np.ndarray, targets: np.ndarray, device: str, epochs: int = 3,
          batch: int = 20) -> dict[str, Any]:
    """Epochs of our FNO (as trained: on CUDA a replayed graph per step), of our FNO op by op (eager) and
    of its PyTorch twin (eager), alternated in one process, same initial weights and batch order; plus
    inference per sample. The first epoch of each warms up (kernel compilation, cuFFT plans, capture)."""
    import torch

    from hyperion.repro.fno.twin import torch_twin

    ht.manual_seed(123)
    model = make_model(device)
    twin = torch_twin(model, device)
    ht.manual_seed(123)
    eager_model = make_model(device)
    x, y = ht.tensor(inputs, device=device), ht.tensor(targets, device=device)
    xt, yt = torch.tensor(inputs, device=device), torch.tensor(targets, device=device)
    step = training_step(model, x, y, batch)
    eager_step = training_step(eager_model, x, y, batch, graph=False)
    optimizer_t = torch.optim.Adam(twin.parameters(), lr=1e-3, weight_decay=1e-4)
    rng = np.random.default_rng(0)
    times: dict[str, list[float]] = {"ours": [], "ours_eager": [], "torch": []}
    losses: dict[str, list[float]] = {"ours": [], "ours_eager": [], "torch": []}
    for epoch in range(epochs + 1):
        order = rng.permutation(inputs.shape[0])
        runs = {"ours": lambda o=order: run_epoch(step, x, y, o, batch),
                "ours_eager": lambda o=order: run_epoch(eager_step, x, y, o, batch),
                "torch": lambda o=order: _epoch_torch(twin, optimizer_t, xt, yt, o, batch)}
        for name, run in runs.items():
            seconds, loss = _timed(run, device)
            losses[name].append(loss)
            if epoch > 0:
                times[name].append(seconds)
    # inference: the whole set, batch 20, no gradients
    _sync(device)
    start = time.perf_counter()
    predict(model, x, batch)
    _sync(device)
    infer_ours = (time.perf_counter() - start) / inputs.shape[0]
    with torch.no_grad():
        torch.cuda.synchronize() if device == "cuda" else None
        start = time.perf_counter()
        for s in range(0, inputs.shape[0], batch):
            twin(xt[s : s + batch])
        torch.cuda.synchronize() if device == "cuda" else None
    infer_theirs = (time.perf_counter() - start) / inputs.shape[0]
    median = {name: float(np.median(values)) for name, values in times.items()}
    return {"samples": int(inputs.shape[0]), "shape": list(inputs.shape[1:]), "batch": batch,
            "graph_step": type(step).__name__, "capture_error": getattr(step, "capture_error", None),
            "epoch_s_ours": times["ours"], "epoch_s_ours_eager": times["ours_eager"],
            "epoch_s_torch": times["torch"], "median_epoch_s_ours": median["ours"],
            "median_epoch_s_ours_eager": median["ours_eager"], "median_epoch_s_torch": median["torch"],
            "ratio_ours_over_torch": median["ours"] / median["torch"],
            "ratio_ours_eager_over_torch": median["ours_eager"] / median["torch"],
            "epoch_losses": losses,  # the same batches from the same weights: the three must agree closely
            "inference_s_per_sample_ours": infer_ours, "inference_s_per_sample_torch": infer_theirs}


def profile_steps(make_model: Any, inputs: np.ndarray, targets: np.ndarray, device: str, steps: int = 10,
                  batch: int = 20) -> dict[str, Any]:
    """Where an eager training step's time goes: level 3's op profiler (CUDA events per op on a GPU) and
    Python's cProfile of the host (the eager step is bound by launching kernels), after a warm-up epoch;
    and the number of ops (Function calls, forward and backward) per step."""
    import cProfile
    import io
    import pstats

    from hyperion import runtime

    steps = min(steps, inputs.shape[0] // batch)
    ht.manual_seed(123)
    model = make_model(device)
    x, y = ht.tensor(inputs[: steps * batch], device=device), ht.tensor(targets[: steps * batch], device=device)
    step = training_step(model, x, y, batch, graph=False)
    order = np.arange(steps * batch)
    run_epoch(step, x, y, order, batch)  # warm-up
    with runtime.profile() as prof:
        run_epoch(step, x, y, order, batch)
    host = cProfile.Profile()
    seconds, _ = _timed(lambda: host.runcall(run_epoch, step, x, y, order, batch), device)
    stream = io.StringIO()
    pstats.Stats(host, stream=stream).sort_stats("tottime").print_stats(30)
    kernels = [r for r in prof.records if r.phase in ("forward", "backward")]  # not views or engine work
    return {"steps": steps, "ops_per_step": len(kernels) / steps, "ops": prof.table(40),
            "host_profile": stream.getvalue()[-9000:], "seconds_per_step_under_cprofile": seconds / steps}


def _experiment_setup(args: argparse.Namespace, name: str) -> tuple[dict[str, Any], Any, Any, Any]:
    """One experiment's results dict, its ``save``, its ``stage`` runner (errors recorded, not raised) and
    ``left()``, the seconds of ``--budget`` still unspent."""
    t0 = time.perf_counter()
    results: dict[str, Any] = {"experiment": name, "args": {k: str(v) for k, v in vars(args).items()},
                               "errors": {}, "environment": environment(args.device, args.commit)}
    path = args.out / f"results_{name}.json"

    def save() -> None:
        results["wall_seconds"] = time.perf_counter() - t0
        path.write_text(json.dumps(results, indent=1))

    def stage(label: str, fn: Any, key: str | None = None) -> Any:
        print(f"[{name} {time.perf_counter() - t0:7.1f}s] {label} ...", flush=True)
        try:
            value = fn()
        except Exception:  # noqa: BLE001 - record and go on: later stages may still run
            results["errors"][label] = traceback.format_exc()
            print(results["errors"][label], file=sys.stderr, flush=True)
            value = None
        if key is not None:
            results[key] = value
        save()
        return value

    def left() -> float:
        return float("inf") if args.budget <= 0 else args.budget - (time.perf_counter() - t0)

    return results, save, stage, left


def _logger(name: str, epochs: int) -> Any:
    def log(epoch: int, history: History) -> None:
        if epoch % 25 == 0 or epoch == epochs - 1:
            print(f"  {name} epoch {epoch:3d}  train {history.train[-1]:.4f}  test {history.test[-1]:.4f} "
                  f"(at epoch {history.test_epochs[-1]})  {history.seconds[-1]:.2f}s", flush=True)
    return log


def _training_record(history: History, args: argparse.Namespace, s: int, seconds: float) -> dict[str, Any]:
    ran = len(history.train)  # fewer than requested only if the --budget deadline stopped it
    return {"s_train": s, "train": args.train, "test": args.test, "epochs": ran, "epochs_requested": args.epochs,
            "stopped_at_deadline": ran < args.epochs, "step_size": args.step_size, "reduced": ran < args.epochs,
            "seconds": seconds, "step": history.step, "capture_error": history.capture_error,
            "train_l2": history.train, "test_l2": history.test, "test_epochs": history.test_epochs,
            "eval_every": args.eval_every, "epoch_seconds": history.seconds, "final_test_l2": history.test[-1]}


def run_burgers(args: argparse.Namespace) -> dict[str, Any]:
    device, xp = args.device, _array_module(args.device)
    results, save, stage, left = _experiment_setup(args, "burgers")
    count = args.train + args.test

    def data() -> tuple[np.ndarray, np.ndarray]:
        burgers.generate(8, args.s_solve, 1, seed=99, dt=args.dt, xp=xp)  # warm-up: cuFFT plans, kernels
        start = time.perf_counter()
        a, u = burgers.generate(count, args.s_solve, 1, seed=args.seed, dt=args.dt, xp=xp, chunk=count,
                                mean_mode=args.mean_mode)
        seconds = time.perf_counter() - start  # generate returns host arrays: the device work is done
        results["burgers_data"] = {"samples": count, "s_solve": args.s_solve, "dt": args.dt,
                                   "steps": round(1 / args.dt), "seconds": seconds,
                                   "seconds_per_sample": seconds / count, "batched_on": device}
        return a, u

    generated = stage("burgers data", data)
    if generated is None:
        return results
    a_full, u_full = generated
    stride = args.s_solve // args.s_train
    a_train, u_train = a_full[:, ::stride], u_full[:, ::stride]
    if args.speed_epochs > 0:
        stage("burgers speed", lambda: speed(lambda d: FNO1d(device=d), a_train[: args.train],
                                             u_train[: args.train], device, args.speed_epochs), "burgers_speed")
    if args.profile:
        stage("burgers profile", lambda: profile_steps(lambda d: FNO1d(device=d), a_train, u_train, device),
              "burgers_profile")
    (args.out / "burgers_speed.done").touch()  # --overlap: the Darcy process may start now
    if args.epochs <= 0:
        save()
        return results

    def training() -> Any:
        x, y = ht.tensor(a_train[: args.train], device=device), ht.tensor(u_train[: args.train], device=device)
        xt, yt = ht.tensor(a_train[args.train :], device=device), ht.tensor(u_train[args.train :], device=device)
        ht.manual_seed(args.seed)
        model = FNO1d(device=device)
        start = time.perf_counter()
        history = train(model, x, y, xt, yt, epochs=args.epochs, step_size=args.step_size,
                        log=_logger("burgers", args.epochs), eval_every=args.eval_every,
                        should_stop=lambda: left() < 8.0, graph=not args.no_graph)
        results["burgers_training"] = _training_record(history, args, args.s_train, time.perf_counter() - start)
        return model

    model = stage("burgers training", training)

    def zero_shot() -> dict[str, float]:
        errors, samples = {}, {}
        test_a, test_u = a_full[args.train :], u_full[args.train :]
        for s in sorted({*RESOLUTIONS, args.s_train}):
            if s > args.s_solve:
                continue
            r = args.s_solve // s
            x, y = ht.tensor(test_a[:, ::r], device=device), ht.tensor(test_u[:, ::r], device=device)
            errors[str(s)] = evaluate(model, x, y)
            samples[f"pred_{s}"] = predict(model, x[:3])
            samples[f"a_{s}"], samples[f"u_{s}"] = test_a[:3, ::r], test_u[:3, ::r]
        np.savez_compressed(args.out / "samples_burgers.npz", **samples)
        return errors

    if model is not None:
        stage("burgers zero-shot", zero_shot, "burgers_zero_shot")
    return results


def _wait_for(path: Path | None) -> float:
    """Wait until ``path`` exists (``--overlap``: the other experiment's marker); returns the seconds waited."""
    start = time.perf_counter()
    while path is not None and not path.exists():
        time.sleep(0.25)
    return time.perf_counter() - start


def run_darcy(args: argparse.Namespace) -> dict[str, Any]:
    device, xp = args.device, _array_module(args.device)
    waited = {"before_data": _wait_for(args.start_after)}
    workers = args.workers or os.cpu_count() or 1
    pool = darcy.solver_pool(workers) if args.darcy_solver == "direct" else None
    results, save, stage, left = _experiment_setup(args, "darcy")
    count, r = args.train + args.test, args.darcy_subsample

    def data() -> tuple[np.ndarray, np.ndarray]:
        warm_up = darcy.sample_coefficient(2, args.darcy_s, np.random.default_rng(1), xp)
        if args.darcy_solver == "pcg":  # first use of the solver's kernels (compiled once), not timed
            darcy.solve_pcg(warm_up, xp=xp)
        log: list[dict[str, Any]] = []
        start = time.perf_counter()
        a, u = darcy.generate(count, args.darcy_s, r, seed=args.seed, xp=xp, pool=pool, solver=args.darcy_solver,
                              log=log)
        seconds = time.perf_counter() - start
        results["darcy_data"] = {"samples": count, "s_solve": args.darcy_s, "subsample": r, "s": a.shape[1],
                                 "seconds": seconds, "seconds_per_sample": seconds / count, "workers": workers,
                                 "u_max_mean": float(u.max(axis=(1, 2)).mean()), "solver": args.darcy_solver}
        field = darcy.sample_coefficient(1, args.darcy_s, np.random.default_rng(args.seed + 1))
        field = field.get()[0] if hasattr(field, "get") else field[0]
        start = time.perf_counter()
        reference = darcy.solve(field)  # one solve in this process, the pool idle: the per-sample cost
        results["darcy_data"]["solve_seconds_one_process"] = time.perf_counter() - start
        if args.darcy_solver == "pcg":
            iterations = [n for entry in log for n in entry["iterations"]]
            check = darcy.solve_pcg(xp.asarray(field[None]), xp=xp).u[0]
            check = check.get() if hasattr(check, "get") else check
            results["darcy_data"].update(
                workers=0, pcg_rtol=darcy.PCG_RTOL, pcg_iterations_min=min(iterations),
                pcg_iterations_max=max(iterations),
                pcg_relative_residual_max=max(entry["relative_residual_max"] for entry in log),
                pcg_vs_direct_max_relative_difference=float(np.abs(check - reference).max() / np.abs(reference).max()))
        return a, u

    generated = stage("darcy data", data)
    if pool is not None:
        pool.shutdown()
    if generated is None:
        return results
    a, u = generated
    a_mean, a_scale = pointwise_gaussian(a[: args.train])
    u_mean, u_scale = pointwise_gaussian(u[: args.train])
    a_enc = (a - a_mean) / a_scale  # the authors encode the inputs once; targets are decoded by the model
    waited["before_speed"] = _wait_for(args.speed_after)
    if args.start_after is not None or args.speed_after is not None:  # --overlap: data beside Burgers' training
        results["waited_seconds"] = waited
    if args.speed_epochs > 0:
        u_enc = (u - u_mean) / u_scale
        stage("darcy speed", lambda: speed(lambda d: FNO2d(args.darcy_modes, device=d), a_enc[: args.train],
                                           u_enc[: args.train], device, args.speed_epochs), "darcy_speed")
    if args.profile:
        stage("darcy profile", lambda: profile_steps(lambda d: FNO2d(args.darcy_modes, device=d), a_enc, u, device),
              "darcy_profile")
    if args.epochs <= 0:
        save()
        return results

    def training() -> Any:
        x, y = ht.tensor(a_enc[: args.train], device=device), ht.tensor(u[: args.train], device=device)
        xt, yt = ht.tensor(a_enc[args.train :], device=device), ht.tensor(u[args.train :], device=device)
        ht.manual_seed(args.seed)
        model = Decoded(FNO2d(args.darcy_modes, device=device), ht.tensor(u_scale, device=device),
                        ht.tensor(u_mean, device=device))
        start = time.perf_counter()
        history = train(model, x, y, xt, yt, epochs=args.epochs, step_size=args.step_size,
                        log=_logger("darcy", args.epochs), eval_every=args.eval_every,
                        should_stop=lambda: left() < 6.0, graph=not args.no_graph)
        results["darcy_training"] = _training_record(history, args, a.shape[1], time.perf_counter() - start)
        np.savez_compressed(args.out / "samples_darcy.npz", a=a[args.train : args.train + 3],
                            u=u[args.train : args.train + 3], pred=predict(model, xt[:3]))
        return model

    stage("darcy training", training)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", choices=("burgers", "darcy", "both"), default="both")
    parser.add_argument("--device", default="cuda" if ht.cuda_is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path("fno_results"))
    parser.add_argument("--budget", type=float, default=0.0,
                        help="wall seconds for each experiment, a safety net only: training stops there and the run "
                             "is recorded as stopped (not the full protocol); 0: no deadline")
    parser.add_argument("--commit", default=os.environ.get("HYPERION_COMMIT", "unknown"))
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=500, help="0: data, speed and profile only")
    parser.add_argument("--step-size", type=int, default=100)
    parser.add_argument("--s-solve", type=int, default=8192)
    parser.add_argument("--s-train", type=int, default=1024)
    parser.add_argument("--dt", type=float, default=1e-3)
    parser.add_argument("--speed-epochs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile 10 training steps (ops and host)")
    parser.add_argument("--eval-every", type=int, default=10, help="test error every this many epochs")
    parser.add_argument("--darcy-s", type=int, default=421)
    parser.add_argument("--darcy-modes", type=int, default=12)
    parser.add_argument("--darcy-subsample", type=int, default=5, help="421 / 5 -> s = 85")
    parser.add_argument("--workers", type=int, default=0, help="processes for the Darcy solves (0: all cores)")
    parser.add_argument("--darcy-solver", choices=darcy.SOLVERS, default="direct",
                        help="direct: SuperLU on CPU processes (the protocol's sparse direct solve); pcg: batched "
                             "preconditioned conjugate gradients on --device (relative residual 1e-10)")
    parser.add_argument("--parallel", action="store_true", help="--experiment both: side by side, not in turn")
    parser.add_argument("--overlap", action="store_true",
                        help="--experiment both: Burgers' data and speed alone, then its training beside Darcy's data "
                             "generation (CPU), then Darcy's speed and training alone")
    parser.add_argument("--start-after", type=Path, default=None, help="wait for this file before starting")
    parser.add_argument("--speed-after", type=Path, default=None, help="wait for this file before the speed stage")
    parser.add_argument("--no-graph", action="store_true", help="train op by op on CUDA (no CUDA graph per step)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mean-mode", action="store_true",
                        help="draw the constant mode of u0 too (the paper's formula read literally; the authors' "
                             "generator leaves it out)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.experiment == "both":
        return run_both(argv if argv is not None else sys.argv[1:], args.out, args.parallel, args.overlap)
    try:
        results = {"burgers": run_burgers, "darcy": run_darcy}[args.experiment](args)
    finally:
        (args.out / f"{args.experiment}.done").touch()
    print(json.dumps({k: v for k, v in results.items() if k.endswith(("_data", "_speed")) or k == "errors"},
                     indent=1)[:4000], flush=True)
    return 1 if results["errors"] else 0


def run_both(argv: list[str], out: Path, parallel: bool, overlap: bool = False) -> int:
    """Both experiments as two processes of this module, in turn (or side by side if ``parallel``, or with
    ``overlap``: see its help); logs in ``out/log_<experiment>.txt``."""
    import subprocess

    rest, skip = [], False
    for arg in argv:  # drop --experiment and its value, and the scheduling flags
        if skip or arg in ("--parallel", "--overlap"):
            skip = False
            continue
        skip = arg == "--experiment"
        if not skip and not arg.startswith("--experiment="):
            rest.append(arg)
    for marker in ("burgers_speed.done", "burgers.done", "darcy.done"):
        (out / marker).unlink(missing_ok=True)
    extra = {"burgers": [], "darcy": []}
    if overlap:
        extra["darcy"] = ["--start-after", str(out / "burgers_speed.done"), "--speed-after", str(out / "burgers.done")]
    children, codes = [], {}
    for name in ("burgers", "darcy"):
        log = (out / f"log_{name}.txt").open("w")
        child = subprocess.Popen([sys.executable, "-m", "hyperion.repro.fno.run", "--experiment", name, *rest,
                                  *extra[name]], stdout=log, stderr=subprocess.STDOUT)
        children.append((name, child, log))
        if not (parallel or overlap):
            codes[name] = child.wait()
    for name, child, log in children:
        codes[name] = child.wait()
        log.close()
    how = "side by side" if parallel else ("overlapped" if overlap else "in turn")
    print(f"{how}: exit codes {codes}; logs in {out}", flush=True)
    return 1 if any(codes.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
