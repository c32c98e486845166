"""hyperion.optim: optimizers that update parameters from their gradients, and lr schedules.

  optimizer.py      Optimizer: parameter groups, per-parameter state, state_dict
  sgd.py            SGD with momentum / Nesterov (Task 1.14)
  adam.py           Adam and AdamW (Task 1.15)
  rmsprop.py        RMSprop
  lr_scheduler.py   LambdaLR, StepLR, CosineAnnealingLR, CosineWarmupLR
"""

from hyperion.nn.utils.clip_grad import clip_grad_norm_
from hyperion.optim import lr_scheduler
from hyperion.optim.adam import Adam, AdamW
from hyperion.optim.optimizer import Optimizer
from hyperion.optim.rmsprop import RMSprop
from hyperion.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "clip_grad_norm_", "lr_scheduler"]
