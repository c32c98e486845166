"""conv_cpu.bench with the kernels of commit c717628 (before this session's changes) swapped in."""
import importlib.util
import sys

spec = importlib.util.spec_from_file_location("hyperion.kernels.conv_cpu.kernels", "/tmp/kernels_old.py")
old = importlib.util.module_from_spec(spec)
sys.modules["hyperion.kernels.conv_cpu.kernels"] = old
spec.loader.exec_module(old)
from hyperion.kernels.conv_cpu import bench, kernels  # noqa: E402

assert kernels is old
raise SystemExit(bench.main(sys.argv[1:]))
