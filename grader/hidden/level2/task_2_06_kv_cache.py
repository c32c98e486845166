"""Task 2.6: KVCache.append — write the new keys/values in place at the end of what is stored and
return views of everything so far; check shapes and capacity."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "2.6"
TITLE = "KV cache append"
POINTS = 10
TIMEOUT = 60

STEPS = [3, 1, 1, 2]  # tokens appended per call: a prefill, then decoding steps


def _error(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "no error"


@probe
def append():
    from hyperion.tensor import Tensor
    from hyperion.transformer.kv_cache import KVCache

    rng = np.random.default_rng(61)
    cache = KVCache(2, 3, 8, 4, dtype="float64")
    out = {"steps": []}
    for t in STEPS:
        k, v = rng.standard_normal((2, 3, t, 4)), rng.standard_normal((2, 3, t, 4))
        keys, values = cache.append(Tensor(k, requires_grad=True), Tensor(v))
        out["steps"].append({"k": k, "v": v, "keys": keys.detach().numpy().copy(),
                             "values": values.detach().numpy().copy(), "length": cache.length,
                             "view": keys.untyped_storage_id() == cache.keys.untyped_storage_id()
                             and values.untyped_storage_id() == cache.values.untyped_storage_id(),
                             "grad": bool(keys.requires_grad)})
    out["overflow"] = _error(lambda: cache.append(Tensor(np.zeros((2, 3, 2, 4))), Tensor(np.zeros((2, 3, 2, 4)))))
    out["length_after_overflow"] = cache.length
    out["wrong_heads"] = _error(lambda: cache.append(Tensor(np.zeros((2, 2, 1, 4))), Tensor(np.zeros((2, 2, 1, 4)))))
    out["k_v_differ"] = _error(lambda: cache.append(Tensor(np.zeros((2, 3, 1, 4))), Tensor(np.zeros((2, 3, 2, 4)))))
    return out


def check_append(sub, ref):
    ks, vs = [], []
    for i, (got, mine) in enumerate(zip(sub["steps"], ref["steps"], strict=True)):
        assert_close(got["k"], mine["k"], rtol=0, atol=0, name="the probe's input")
        ks.append(mine["k"])
        vs.append(mine["v"])
        n = sum(STEPS[: i + 1])
        what = f"append #{i + 1} ({STEPS[i]} new positions, {n} in all)"
        assert_true(got["length"] == n, f"{what}: cache.length is {got['length']}, expected {n}")
        assert_true(got["keys"].shape == (2, 3, n, 4), f"{what}: returned keys of shape {got['keys'].shape}, "
                    f"expected {(2, 3, n, 4)}")
        assert_close(got["keys"], np.concatenate(ks, axis=2), rtol=0, atol=0, name=f"{what}: keys")
        assert_close(got["values"], np.concatenate(vs, axis=2), rtol=0, atol=0, name=f"{what}: values")
        assert_true(got["view"], f"{what}: return views of cache.keys / cache.values, not copies")
        assert_true(not got["grad"], f"{what}: cached values must be detached (no gradient)")
    assert_true(sub["overflow"] == "ShapeError",
                f"appending past max_length: expected ShapeError, got {sub['overflow']}")
    assert_true(sub["length_after_overflow"] == sum(STEPS), "a refused append must not change cache.length")
    assert_true(sub["wrong_heads"] == "ShapeError", f"k, v with the wrong head count: expected ShapeError, "
                f"got {sub['wrong_heads']}")
    assert_true(sub["k_v_differ"] == "ShapeError", f"k and v of different shapes: expected ShapeError, "
                f"got {sub['k_v_differ']}")
