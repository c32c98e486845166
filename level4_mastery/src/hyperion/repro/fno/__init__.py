"""Li et al. (2021), "Fourier Neural Operator for Parametric PDEs", reproduced on Hyperion.

    burgers.py   Burgers data: GRF initial conditions, pseudo-spectral ETDRK4 solver (numpy / CuPy)
    darcy.py     Darcy data: thresholded cosine-series GRF coefficients, 5-point FD + sparse direct solve
    model.py     FNO1d / FNO2d on hyperion.tensor (spectral convolutions through hyperion.tensor.fft)
    train.py     relative-L2 loss, Adam + step decay, evaluation at any resolution
    twin.py      the same models in PyTorch: the correctness oracle and the speed baseline
    run.py       the full protocol: data, training, zero-shot evaluation, report and figures
"""
