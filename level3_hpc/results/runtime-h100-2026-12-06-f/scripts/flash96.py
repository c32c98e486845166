# ruff: noqa
"""d = 96 FlashAttention on Hopper: the suite's flash benchmark with its tile sweeps (08 forward, 09 backward)."""
import json

from hyperion.kernels import suite

if __name__ == "__main__":
    suite.ATTN_DIMS = (96,)
    for r in suite.bench_flash(False, True):
        sweeps = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k.startswith("sweep")}
        print(f"d=96 N={r['N']} causal={r['causal']} fwd {r['fwd_ratio']:.3f} fb {r['fb_ratio']:.3f} "
              f"sdpa fwd {r['sdpa_fwd_ms']:.4f} ours {r['ours_fwd_ms']:.4f} sdpa fb {r['sdpa_fb_ms']:.4f} "
              f"ours {r['ours_fb_ms']:.4f}", flush=True)
        print(json.dumps(sweeps), flush=True)
