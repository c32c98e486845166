"""The reproduction in one command: data, speed against the PyTorch twin, training, zero-shot evaluation.

    python -m hyperion.repro.fno.run --device cuda --out results/ --budget 290

Stages, each written to ``results.json`` as soon as it ends (so a run cut short keeps what it did):

1. environment: GPU, driver, library versions, the commit given with ``--commit``;
2. Burgers data: ``train + test`` initial conditions solved at ``s_solve`` by ETDRK4 (CuPy on CUDA),
   timed; solver seconds per sample;
3. speed: epochs of our FNO and of its PyTorch twin (same initial weights, same batches) alternated in
   one process, and inference seconds per sample of both;
4. training at ``s_train`` with the paper's protocol. If ``--budget`` cannot hold the requested epochs
   at the epoch time just measured, the run trains fewer epochs with the learning-rate halvings spaced
   over them (every epochs/5) and records ``"reduced": true``;
5. zero-shot evaluation of that model on the test set at every resolution 256 ... s_solve;
6. Darcy: data-generation time per sample (GRF batched on the device, sparse solves on the CPU
   cores) and the FNO2d epoch time against its twin at s = 85 (timing only: the full Darcy protocol
   does not fit the GPU budget of this run).

``report.py`` turns ``results.json`` and ``samples.npz`` into the table and the figures.
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
from hyperion.repro.fno.model import FNO1d, FNO2d
from hyperion.repro.fno.train import History, evaluate, predict, relative_l2, train

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


def _epoch_hyperion(model: Any, optimizer: Any, x: ht.Tensor, y: ht.Tensor, order: np.ndarray, batch: int) -> float:
    start = time.perf_counter()
    losses = []
    for first in range(0, len(order) - batch + 1, batch):
        index = ht.tensor(order[first : first + batch], device=x.device)
        loss = relative_l2(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    float(sum(loss.item() for loss in losses))
    _sync(x.device)
    return time.perf_counter() - start


def _epoch_torch(twin: Any, optimizer: Any, x: Any, y: Any, order: np.ndarray, batch: int) -> float:
    import torch

    from hyperion.repro.fno.twin import relative_l2_torch

    torch.cuda.synchronize() if x.is_cuda else None
    start = time.perf_counter()
    losses = []
    order_t = torch.as_tensor(order, device=x.device)
    for first in range(0, len(order) - batch + 1, batch):
        index = order_t[first : first + batch]
        loss = relative_l2_torch(twin(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    float(sum(loss.item() for loss in losses))
    if x.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def speed(make_model: Any, inputs: np.ndarray, targets: np.ndarray, device: str, epochs: int = 3,
          batch: int = 20) -> dict[str, Any]:
    """Our epoch and the twin's, alternated, same initial weights and batch order; plus inference per sample."""
    import torch

    from hyperion.optim import Adam
    from hyperion.repro.fno.twin import torch_twin

    ht.manual_seed(123)
    model = make_model(device)
    twin = torch_twin(model, device)
    x, y = ht.tensor(inputs, device=device), ht.tensor(targets, device=device)
    xt, yt = torch.tensor(inputs, device=device), torch.tensor(targets, device=device)
    optimizer = Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    optimizer_t = torch.optim.Adam(twin.parameters(), lr=1e-3, weight_decay=1e-4)
    rng = np.random.default_rng(0)
    ours, theirs = [], []
    for epoch in range(epochs + 1):  # the first epoch of each warms up (kernel compilation, cuFFT plans)
        order = rng.permutation(inputs.shape[0])
        t_ours = _epoch_hyperion(model, optimizer, x, y, order, batch)
        t_theirs = _epoch_torch(twin, optimizer_t, xt, yt, order, batch)
        if epoch > 0:
            ours.append(t_ours)
            theirs.append(t_theirs)
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
    median_ours, median_theirs = float(np.median(ours)), float(np.median(theirs))
    return {"samples": int(inputs.shape[0]), "shape": list(inputs.shape[1:]), "batch": batch,
            "epoch_s_ours": ours, "epoch_s_torch": theirs, "median_epoch_s_ours": median_ours,
            "median_epoch_s_torch": median_theirs, "ratio_ours_over_torch": median_ours / median_theirs,
            "inference_s_per_sample_ours": infer_ours, "inference_s_per_sample_torch": infer_theirs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if ht.cuda_is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path("fno_results"))
    parser.add_argument("--budget", type=float, default=290.0, help="wall seconds for the whole run")
    parser.add_argument("--commit", default=os.environ.get("HYPERION_COMMIT", "unknown"))
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--step-size", type=int, default=100)
    parser.add_argument("--s-solve", type=int, default=8192)
    parser.add_argument("--s-train", type=int, default=1024)
    parser.add_argument("--dt", type=float, default=1e-3)
    parser.add_argument("--speed-epochs", type=int, default=3)
    parser.add_argument("--eval-every", type=int, default=10, help="test error every this many epochs")
    parser.add_argument("--darcy-solves", type=int, default=32)
    parser.add_argument("--darcy-s", type=int, default=421)
    parser.add_argument("--darcy-speed-samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mean-mode", action="store_true",
                        help="draw the constant mode of u0 too (the paper's formula read literally; the authors' "
                             "generator leaves it out)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    device, xp = args.device, _array_module(args.device)
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "errors": {}}

    def save() -> None:
        (args.out / "results.json").write_text(json.dumps(results, indent=1))

    def left() -> float:
        return args.budget - (time.perf_counter() - t0)

    def stage(name: str, fn: Any, key: str | None = None) -> Any:
        print(f"[{time.perf_counter() - t0:7.1f}s] {name} ...", flush=True)
        try:
            value = fn()
        except Exception:  # noqa: BLE001 - record and go on: later stages may still run
            results["errors"][name] = traceback.format_exc()
            print(results["errors"][name], file=sys.stderr, flush=True)
            value = None
        if key is not None:
            results[key] = value
        save()
        return value

    results["environment"] = environment(device, args.commit)
    save()

    # 2. Burgers data at s_solve ---------------------------------------------------------------------
    count = args.train + args.test

    def burgers_data() -> tuple[np.ndarray, np.ndarray]:
        burgers.generate(8, args.s_solve, 1, seed=99, dt=args.dt, xp=xp)  # warm-up: cuFFT plans, kernels
        _sync(device)
        start = time.perf_counter()
        a, u = burgers.generate(count, args.s_solve, 1, seed=args.seed, dt=args.dt, xp=xp, chunk=count,
                                mean_mode=args.mean_mode)
        _sync(device)
        seconds = time.perf_counter() - start
        results["burgers_data"] = {"samples": count, "s_solve": args.s_solve, "dt": args.dt,
                                   "steps": round(1 / args.dt), "seconds": seconds,
                                   "seconds_per_sample": seconds / count, "batched_on": device}
        return a, u

    data = stage("burgers data", burgers_data)
    if data is None:
        return 1
    a_full, u_full = data
    stride = args.s_solve // args.s_train
    a_train, u_train = a_full[:, ::stride], u_full[:, ::stride]

    # 3. speed: our FNO epoch vs the PyTorch twin ----------------------------------------------------
    if args.speed_epochs > 0:
        stage("burgers speed", lambda: speed(lambda d: FNO1d(device=d), a_train[: args.train], u_train[: args.train],
                                             device, args.speed_epochs), "burgers_speed")

    # 4. training --------------------------------------------------------------------------------------
    def burgers_training() -> Any:
        x = ht.tensor(a_train[: args.train], device=device)
        y = ht.tensor(u_train[: args.train], device=device)
        xt, yt = ht.tensor(a_train[args.train :], device=device), ht.tensor(u_train[args.train :], device=device)
        per_epoch = (results.get("burgers_speed") or {}).get("median_epoch_s_ours")
        reserve = 25.0 + (20.0 if args.darcy_solves else 0.0)
        epochs, step_size = args.epochs, args.step_size
        if per_epoch:  # an epoch, plus a test evaluation every eval_every epochs
            fit = int((left() - reserve) / (per_epoch * 1.03))
            if fit < epochs:
                epochs, step_size = max(fit, 1), max(1, round(max(fit, 1) * args.step_size / args.epochs))
        ht.manual_seed(args.seed)
        model = FNO1d(device=device)
        start = time.perf_counter()

        def log(epoch: int, history: History) -> None:
            if epoch % 10 == 0 or epoch == epochs - 1:
                print(f"  epoch {epoch:3d}  train {history.train[-1]:.4f}  test {history.test[-1]:.4f} "
                      f"(at epoch {history.test_epochs[-1]})  "
                      f"{history.seconds[-1]:.2f}s", flush=True)

        history = train(model, x, y, xt, yt, epochs=epochs, step_size=step_size, log=log,
                        eval_every=args.eval_every)
        results["burgers_training"] = {
            "s_train": args.s_train, "train": args.train, "test": args.test, "epochs": epochs,
            "epochs_requested": args.epochs, "step_size": step_size, "reduced": epochs < args.epochs,
            "seconds": time.perf_counter() - start, "train_l2": history.train, "test_l2": history.test,
            "test_epochs": history.test_epochs, "eval_every": args.eval_every,
            "epoch_seconds": history.seconds, "final_test_l2": history.test[-1]}
        return model

    model = stage("burgers training", burgers_training)

    # 5. zero-shot evaluation at every resolution ------------------------------------------------------
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
        np.savez_compressed(args.out / "samples.npz", **samples)
        return errors

    if model is not None:
        stage("burgers zero-shot", zero_shot, "burgers_zero_shot")

    # 6. Darcy: data-generation time and epoch speed at s = 85 (timing only) ---------------------------
    def darcy_timing() -> dict[str, Any]:
        n = args.darcy_solves
        darcy.sample_coefficient(2, args.darcy_s, np.random.default_rng(1), xp)
        _sync(device)
        start = time.perf_counter()
        coefficients = darcy.sample_coefficient(n, args.darcy_s, np.random.default_rng(args.seed), xp)
        _sync(device)
        grf_seconds = time.perf_counter() - start
        host = xp.asnumpy(coefficients) if hasattr(xp, "asnumpy") else coefficients
        workers = os.cpu_count() or 1
        start = time.perf_counter()
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            solutions = np.stack(list(pool.map(darcy.solve, host)))
        solve_seconds = time.perf_counter() - start
        return {"s_solve": args.darcy_s, "samples": n, "grf_seconds_per_sample": grf_seconds / n,
                "solve_wall_seconds": solve_seconds, "workers": workers,
                "solve_seconds_per_sample_wall": solve_seconds / n,
                "u_max_mean": float(solutions.max(axis=(1, 2)).mean())}

    if args.darcy_solves and left() > 15:
        stage("darcy data timing", darcy_timing, "darcy_data")
    if args.darcy_solves and left() > 10:
        def darcy_speed() -> dict[str, Any]:
            rng = np.random.default_rng(5)
            a = xp.asnumpy(darcy.sample_coefficient(200, 85, rng, xp)) if device == "cuda" else \
                darcy.sample_coefficient(200, 85, rng, xp)
            reps = -(-args.darcy_speed_samples // 200)  # timing does not depend on the values: repeat 200 fields
            inputs = np.tile(a, (reps, 1, 1))[: args.darcy_speed_samples].astype(np.float32)
            targets = (inputs / 12.0).astype(np.float32)
            return speed(lambda d: FNO2d(device=d), inputs, targets, device, epochs=1)

        stage("darcy speed (timing only)", darcy_speed, "darcy_speed")
    results["wall_seconds"] = time.perf_counter() - t0
    save()
    print(json.dumps({k: v for k, v in results.items() if k not in ("burgers_training",)}, indent=1)[:6000])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
