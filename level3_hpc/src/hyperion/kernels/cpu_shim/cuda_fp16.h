// The CUDA header the kernels include: on the CPU its types come from cuda_on_cpu.h.
#pragma once
