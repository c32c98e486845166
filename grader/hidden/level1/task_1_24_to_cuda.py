"""Task 1.24: moving a Tensor between devices through the backends (``ToDevice``): CPU -> CUDA and back,
values bit-identical (also from a transposed, non-contiguous view), the device recorded, the copy a graph
node whose backward brings the gradient to the source device.

Graded on a machine with an NVIDIA GPU and CuPy; elsewhere it scores 0 with "not run: no CUDA GPU"
(``hyperion_grader.cuda``), never points for code that did not run. A skeleton stub fails first, on any
machine (a CPU -> CPU move through ``ToDevice.apply``)."""

import numpy as np

from hyperion_grader.cuda import allow_cuda_import, assert_ran_on_gpu
from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.24"
TITLE = "Tensor to the CUDA backend"
POINTS = 5
TIMEOUT = 120
MEMORY_MB = None


@probe(reference=False)
def to_cuda_and_back():
    import hyperion.tensor as ht
    from hyperion.tensor.ops.movement import ToDevice

    rng = np.random.default_rng(2400)
    x0 = rng.standard_normal((5, 3))
    ToDevice.apply(ht.tensor(x0), "cpu")  # a skeleton stub raises here, GPU or not
    allow_cuda_import()
    from hyperion.tensor.backend import cuda_is_available

    if not cuda_is_available():
        return {"gpu": False, "why": "hyperion.tensor.backend.cuda_is_available() is False"}
    x = ht.tensor(x0, requires_grad=True)
    y = x.to("cuda")
    back = y.detach().to("cpu")
    t = ht.tensor(x0).T.to("cuda")  # a non-contiguous view
    g = rng.standard_normal((5, 3))
    gy = y._ctx.backward(y._backend.from_host(g)) if y._ctx is not None else None
    return {
        "gpu": True,
        "x": x0,
        "g": g,
        "device": y.device,
        "back_device": back.device,
        "t_device": t.device,
        "back": back.numpy(),
        "t": t.cpu().numpy(),
        "y_host": y._backend.to_numpy(y._array()),
        "graph": bool(y.requires_grad and y._ctx is not None),
        "grad": None if gy is None else np.asarray(gy),
    }


def check_to_cuda_and_back(sub, ref):
    assert_ran_on_gpu(sub)
    x = sub["x"]
    assert_true(sub["device"] == "cuda", f"x.to('cuda').device is {sub['device']!r}")
    assert_true(sub["back_device"] == "cpu", f"y.to('cpu').device is {sub['back_device']!r}")
    assert_true(sub["t_device"] == "cuda", f"x.T.to('cuda').device is {sub['t_device']!r}")
    assert_close(sub["y_host"], x, rtol=0, atol=0, name="the CUDA copy's values")
    assert_close(sub["back"], x, rtol=0, atol=0, name="values after CPU -> CUDA -> CPU")
    assert_close(sub["t"], x.T, rtol=0, atol=0, name="a transposed view moved to CUDA")
    assert_true(sub["graph"], "the copy of a tensor that requires grad must be a graph node")
    assert_true(sub["grad"] is not None, "ToDevice.backward returned nothing")
    assert_close(sub["grad"], sub["g"], rtol=0, atol=0, name="the gradient brought back to the CPU")
