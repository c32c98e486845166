"""Build, in parallel, the Hopper FlashAttention modules this call runs (this process's tree): 08-11 at their
tables' tiles and 08's short tiles, level 2's 06 (its delta kernel) at every d; with PIPE=1 also 11 at every tile
of test_flash_bwd_tma_gpu.TILES and the FLASH_PIPE dQ tiles."""
import os
import sys

from hyperion.kernels import attention as fh
from hyperion.kernels import suite
from hyperion.kernels.attention import bwd_tma, fwd_tma

jobs = []
for d in fh.WGMMA_DIMS:
    tables = [(fh.SOURCE, fh.WGMMA_TILES), (fh.BWD_SOURCE, fh.BWD_TILES), (fh.BWD_SOURCE, fh.DQ_TILES),
              (fwd_tma.SOURCE, fwd_tma.TMA_TILES), (bwd_tma.SOURCE, bwd_tma.BWD_TMA_TILES),
              (bwd_tma.SOURCE, bwd_tma.DQ_TMA_TILES)]
    jobs += [("sm90a", (source, (("FLASH_D", d), *table[d].items()))) for source, table in tables]
    if d in fh.SHORT_TILES:
        jobs.append(("sm90a", (fh.SOURCE, (("FLASH_D", d), *fh.SHORT_TILES[d][2].items()))))
    jobs.append(("flash", ("06_flash_bwd_mma.cu", "flash_bwd_dq_mma_f16", d, ())))
    if os.environ.get("PIPE") == "1":
        sys.path.insert(0, "level3_hpc/tests")
        from test_flash_bwd_tma_gpu import TILES  # noqa: E402 -- needs cupy and a GPU, as this script does

        for tile in [*TILES, {**bwd_tma.DQ_TMA_TILES[d], "FLASH_PIPE": 1}]:
            if (tile["FLASH_BT"] == 128 and d > 80) or (tile["FLASH_WG"] == 3 and d > 64):
                continue
            jobs.append(("sm90a", (bwd_tma.SOURCE, (("FLASH_D", d), *tile.items()))))
jobs = list({str(j): j for j in jobs}.values())
out = suite.precompile(sections=(), extra=tuple(jobs))
print(f"built {len(out)} modules")
