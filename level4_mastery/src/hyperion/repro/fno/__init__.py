"""Li et al. (2021), "Fourier Neural Operator for Parametric PDEs", reproduced on Hyperion.

    burgers.py   Burgers data: GRF initial conditions, pseudo-spectral ETDRK4 solver (numpy / CuPy)
    darcy.py     Darcy data: thresholded cosine-series GRF coefficients, 5-point FD + sparse direct solve
                 (SuperLU, unknowns in a nested-dissection order)
    bench_solver.py  the Darcy solve per sample: nested dissection against SuperLU's minimum degree
    model.py     FNO1d / FNO2d on hyperion.tensor (spectral convolutions through hyperion.tensor.fft), the
                 Darcy output normaliser (Decoded)
    flat_adam.py Adam over one flat buffer holding every parameter (one update per step, not one per tensor),
                 split into a host half (prepare) and a device half (update)
    step.py      a training step as one object; on CUDA recorded once as a CUDA graph and replayed
    train.py     relative-L2 loss, Adam + step decay, evaluation at any resolution, a wall-clock deadline
    twin.py      the same models in PyTorch: the correctness oracle and the speed baseline
    spectral.py  SpectralMix: keep the low modes, mix channels per mode (complex), zeros elsewhere: one Function
    run.py       the protocol per experiment (Burgers, Darcy; in turn or overlapped): data, speed vs the twin, profile,
                 training, evaluation (results_<experiment>.json)
    report.py    REPORT.md ("paper / ours / holds?", targets) and the figures from a run's results

Results of the runs made so far: level4_mastery/results/ and site/docs/level4/fno.md.
"""
