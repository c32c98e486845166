"""Module: the base class of every layer and model.

A Module is a tree. Its attributes that are :class:`Parameter` objects (its weights) or other
Modules (its children) are *registered* by ``__setattr__`` in three ordered dicts::

    _parameters   name -> Parameter        (trained by the optimizer)
    _buffers      name -> Tensor            (state that is saved but not trained)
    _modules      name -> Module            (children)

Everything else follows from walking that tree: ``parameters()`` for the optimizer, ``train()`` /
``eval()`` for layers that behave differently while training, ``state_dict()`` for checkpoints,
whose keys are the dotted paths ``"encoder.0.weight"`` that PyTorch uses too, so weights move
between the two frameworks.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from hyperion.nn.parameter import Parameter
from hyperion.tensor import Tensor, autograd, no_grad

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class: subclasses create parameters and children in ``__init__`` and define ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration (what makes the tree) --------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if params is None and isinstance(value, (Parameter, Module)):
            raise AttributeError(f"cannot assign {type(value).__name__} {name!r} before Module.__init__() "
                                 f"was called; call super().__init__() first in {type(self).__name__}")
        if isinstance(value, Parameter):
            self._forget(name, keep=params)
            params[name] = value  # a reassigned name keeps its place in the order, as in PyTorch
        elif isinstance(value, Module):
            self._forget(name, keep=self._modules)
            self._modules[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(a Parameter or None is expected)")
            params[name] = None
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} "
                                "(a Module or None is expected)")
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                "(a Tensor or None is expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: dict | None = None) -> None:
        """Remove ``name`` from the registries (but ``keep``) and the instance dict before registering it."""
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)
        self._non_persistent_buffers.discard(name)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: look in the registries
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or ``None``: an absent optional weight, such as ``bias=False``)."""
        if "." in name or not name:
            raise KeyError(f"parameter name must be non-empty and contain no '.', got {name!r}")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot register {type(param).__name__} as parameter {name!r} "
                            "(a Parameter or None is expected)")
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register state that is not trained (running statistics, masks); saved if ``persistent``."""
        if "." in name or not name:
            raise KeyError(f"buffer name must be non-empty and contain no '.', got {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot register {type(tensor).__name__} as buffer {name!r} (a Tensor or None "
                            "is expected)")
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if not isinstance(name, str) or "." in name or not name:
            raise KeyError(f"module name must be a non-empty string without '.', got {name!r}")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module")
        self._forget(name, keep=self._modules)
        self._modules[name] = module

    register_module = add_module

    # ---- walking the tree --------------------------------------------------------------------
    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Task 1.12: every parameter of this module and its descendants, with its dotted name.

        The order is PyTorch's: this module's own ``self._parameters`` (in registration order),
        then each child of ``self._modules`` in order, recursively — so a ``Sequential(Linear,
        ReLU, Linear)`` yields ``"0.weight", "0.bias", "2.weight", "2.bias"``. A child's names are
        prefixed with its attribute name and a dot; ``prefix`` (if given) goes in front of all.
        Skip ``None`` entries (a layer built with ``bias=False`` registers ``bias = None``).
        With ``recurse=False`` only this module's own parameters are listed.

        A parameter shared by two layers (tied weights) must be listed once, under the first
        name met, when ``remove_duplicate`` is true: otherwise the optimizer would update it
        twice per step. Compare parameters by identity (``id``), not ``==``: ``==`` on tensors
        is elementwise. Return an iterator (a generator or ``iter(list)``).
        """
        # BEGIN SOLUTION
        seen: set[int] = set()
        found: list[tuple[str, Parameter]] = []

        def visit(module: Module, path: str) -> None:
            for name, param in module._parameters.items():
                if param is None or (remove_duplicate and id(param) in seen):
                    continue
                seen.add(id(param))
                found.append((path + name, param))
            if recurse:
                for name, child in module._modules.items():
                    if child is not None:
                        visit(child, path + name + ".")

        visit(self, prefix + "." if prefix else "")
        return iter(found)
        # END SOLUTION

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters, in ``named_parameters`` order: what an optimizer is given."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_modules(self, prefix: str = "", remove_duplicate: bool = True,
                      memo: set[int] | None = None) -> Iterator[tuple[str, Module]]:
        """This module (named ``prefix``) and every descendant, depth first, parents before children."""
        memo = set() if memo is None else memo
        if remove_duplicate and id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, remove_duplicate, memo)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct children only, in registration order."""
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        seen: set[int] = set()
        for path, module in modules:
            for name, buf in module._buffers.items():
                if buf is not None and id(buf) not in seen:
                    seen.add(id(buf))
                    yield (f"{path}.{name}" if path else name), buf

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every child (recursively), then on self: e.g. a custom initialisation."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients -----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode here and in every descendant (Dropout uses it)."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode) expects a bool, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of the last backward (they accumulate otherwise)."""
        params = self.parameters()
        first = next(params, None)
        if first is not None:  # (through the op hook: a profiler sees it as the engine's work)
            autograd.zero_grads(itertools.chain((first,), params), set_to_none, first.device)

    # ---- moving and casting ------------------------------------------------------------------
    def _apply_to_tensors(self, fn: Callable[[Tensor], Tensor]) -> Module:
        """Replace every parameter's values (keeping the Parameter object, so optimizers still hold
        it) and every buffer by ``fn`` of them."""
        with no_grad():
            for module in self.modules():
                for param in module._parameters.values():
                    if param is None:
                        continue
                    new = fn(param.detach())
                    param.data, param.device = new, new.device
                    if param.grad is not None:
                        param.grad = fn(param.grad)
                for name, buf in module._buffers.items():
                    if buf is not None:
                        module._buffers[name] = fn(buf)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """``to("cuda")``, ``to(float64)``: moves/casts parameters and buffers in place; returns self."""
        return self._apply_to_tensors(lambda t: t.to(*args, **kwargs))

    def double(self) -> Module:
        return self.to(np.dtype("float64"))

    def float(self) -> Module:
        return self.to(np.dtype("float32"))

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self) -> Module:
        return self.to("cuda")

    # ---- state dict --------------------------------------------------------------------------
    def state_dict(self, destination: dict[str, Any] | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Any]:
        """Every parameter and persistent buffer by dotted name, as PyTorch: detached tensors sharing
        memory with the model (``keep_vars=True``: the Parameters themselves). Shared parameters appear
        under each of their names, as in PyTorch."""
        out: dict[str, Any] = OrderedDict() if destination is None else destination
        for name, param in self._parameters.items():
            if param is not None:
                out[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers:
                out[prefix + name] = buf if keep_vars else buf.detach()
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(out, prefix + name + ".", keep_vars)
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values (Tensors, numpy arrays, or anything ``np.asarray`` takes, such as CPU torch
        tensors) into the parameters and buffers, in place.

        Everything is checked before anything is copied: a mis-shaped value is always an error; a
        missing or unexpected key is one when ``strict``. The error names each offending key.
        Returns ``(missing_keys, unexpected_keys)``.
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched, values = [], {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = _host_values(state_dict[key])
            if tuple(value.shape) != tuple(target.shape):
                mismatched.append(f"size mismatch for {key}: expected shape {tuple(target.shape)} in the "
                                  f"model, got {tuple(value.shape)} in the state_dict")
            values[key] = value
        problems = list(mismatched)
        if strict and unexpected:
            problems.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected)
                            + ".")
        if strict and missing:
            problems.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(problems))
        with no_grad():
            for key, value in values.items():
                target = own[key]
                target.copy_(Tensor(value, dtype=target.dtype, device=target.device))
        return IncompatibleKeys(missing, unexpected)

    # ---- calling and printing ----------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define it in the subclass")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``Name(...)``; layers override this."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr().split("\n") if self.extra_repr() else []
        children = [f"({name}): " + _indent(repr(child), 2) for name, child in self._modules.items()]
        lines = extra + children
        if not lines:
            return f"{type(self).__name__}()"
        if len(extra) == 1 and not children:
            return f"{type(self).__name__}({extra[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self) -> list[str]:
        names = set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        return sorted(names)


def _indent(text: str, spaces: int) -> str:
    """Indent every line but the first (the first follows ``(name): ``)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])


def _host_values(value: Any) -> np.ndarray:
    """A state-dict value as a host numpy array (Tensor on any device, numpy, torch CPU tensor...)."""
    if isinstance(value, Tensor):
        return value.detach().numpy()
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor: no torch import needed
        value = value.detach().cpu().numpy()
    return np.asarray(value)
