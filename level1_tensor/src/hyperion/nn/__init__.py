"""hyperion.nn: layers as Modules that own Parameters, composed into models.

Where to find things:
  parameter.py      Parameter, the tensor a Module registers
  module.py         Module: the tree of parameters and children, state_dict (Task 1.12)
  linear.py         Linear (Task 1.13), Identity
  conv.py, pooling.py, flatten.py          the CNN layers
  activation.py, dropout.py, normalization.py, sparse.py   ReLU..., Dropout, LayerNorm, Embedding
  container.py      Sequential, ModuleList, ModuleDict
  init.py           weight initialisation (uniform, normal, Xavier, Kaiming)
  serialization.py  save/load weights and checkpoints (.npz, .safetensors)
  functional.py     the stateless functions (``import hyperion.nn.functional as F``)
  utils/            clip_grad_norm_
"""

from hyperion.nn import functional, init, utils
from hyperion.nn.activation import GELU, ReLU, Sigmoid, Softmax, Tanh
from hyperion.nn.container import ModuleDict, ModuleList, Sequential
from hyperion.nn.conv import Conv2d
from hyperion.nn.dropout import Dropout
from hyperion.nn.flatten import Flatten
from hyperion.nn.linear import Identity, Linear
from hyperion.nn.loss import CrossEntropyLoss, MSELoss, NLLLoss
from hyperion.nn.module import Module
from hyperion.nn.normalization import LayerNorm
from hyperion.nn.parameter import Parameter
from hyperion.nn.pooling import AvgPool2d, MaxPool2d
from hyperion.nn.serialization import load, save
from hyperion.nn.sparse import Embedding

__all__ = [
    "CrossEntropyLoss",
    "MSELoss",
    "NLLLoss",
    "AvgPool2d", "Conv2d", "Dropout", "Embedding", "Flatten", "GELU", "Identity", "LayerNorm", "Linear",
    "MaxPool2d", "Module", "ModuleDict", "ModuleList", "Parameter", "ReLU", "Sequential", "Sigmoid",
    "Softmax", "Tanh", "functional", "init", "load", "save", "utils",
]
