"""Errors that name what is wrong: both shapes, both dtypes, both devices."""


class ShapeError(ValueError):
    """Shapes that cannot be broadcast, multiplied or viewed as asked."""


class DTypeError(TypeError):
    """Operands whose dtypes may not be mixed, or an op that does not support a dtype."""


class DeviceError(RuntimeError):
    """Operands that live on different devices, or a device that is not available."""


class AutogradError(RuntimeError):
    """Misuse of the autograd engine: backward without a gradient, graph freed, in-place on a leaf."""
