"""Tensor: an array (NumPy or CuPy), its dtype and device, and its place in the autograd graph."""
from __future__ import annotations

import builtins
import math

import numpy as np

from . import backend, dtypes
from .printing import add_suffixes, values_text


class Size(tuple):
    """A tensor's shape (``torch.Size``): a tuple of ints, printed as torch prints it, with ``numel()``."""

    __slots__ = ()

    def __repr__(self):
        return f"torch.Size({list(self)!r})"

    def numel(self):
        return math.prod(self)

    def __getitem__(self, key):
        r = tuple.__getitem__(self, key)
        return Size(r) if isinstance(key, slice) else r

    def __add__(self, other):
        return Size(tuple.__add__(self, other))

    def __reduce__(self):
        return (Size, (tuple(self),))


class Tensor:
    """A multi-dimensional array that can record the operations applied to it.

    ``_data`` is the raw array; ``_node`` is the graph node that produced the current value (None for a
    leaf); ``_accum`` is a leaf's gradient accumulator (created on first use); ``_ctr`` the version counter
    of the storage (a one-element list shared by every view and alias, created on first use); ``_view``
    the :class:`autograd.graph.views.ViewInfo` of a view (its base and how it was taken), else None.
    """

    __slots__ = ("_data", "requires_grad", "_grad", "_node", "_accum", "_hooks_ctr", "_retains_grad",
                 "_ctr", "_view", "__weakref__", "__dict__")
    __array_priority__ = 1000  # make ndarray (op) Tensor defer to Tensor

    def __init__(self, data=(), requires_grad=False):
        if isinstance(data, Tensor):
            data = data._data
        elif isinstance(data, np.generic) or not hasattr(data, "dtype"):  # lists, numbers: torch.Tensor(...)
            data = np.array(data, dtype=dtypes.get_default_dtype())
        self._data = data
        self.requires_grad = builtins.bool(requires_grad)
        self._grad = None
        self._node = None
        self._accum = None
        self._retains_grad = False
        self._ctr = None
        self._view = None

    @classmethod
    def _wrap(cls, data, requires_grad=False):
        if isinstance(data, np.generic):
            data = np.asarray(data)
        t = cls.__new__(cls)
        t._data = data
        t.requires_grad = requires_grad
        t._grad = None
        t._node = None
        t._accum = None
        t._retains_grad = False
        t._ctr = None
        t._view = None
        return t

    def _counter(self):
        c = self._ctr
        if c is None:
            c = self._ctr = [0]
        return c

    @property
    def _version(self):
        """How many in-place writes this tensor's storage has seen (shared with its views and aliases)."""
        return self._counter()[0]

    @property
    def _base(self):
        """The tensor this one is a view of (the root of a chain of views), else None (as torch)."""
        return None if self._view is None else self._view.base

    def _is_view(self):
        return self._view is not None

    # ---- .grad ------------------------------------------------------------------------------------
    @property
    def grad(self):
        g = self._grad
        if g is None and self._node is not None and not self._retains_grad:
            import warnings

            warnings.warn("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                          "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
                          "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
                          "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
                          "instead. See github.com/pytorch/pytorch/pull/30531 for more information.",
                          UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value):
        if value is not None:
            _check_grad(self, value)
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    # ---- basic properties -------------------------------------------------------------------------
    @property
    def data(self):
        """A detached Tensor sharing this one's storage but not its version counter (as in torch: writes
        through ``.data`` are invisible to autograd's checks; prefer ``.detach()``)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value):
        self._data = value._data if isinstance(value, Tensor) else value

    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def device(self):
        return backend.device_of(self._data)

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def numel(self):
        return int(self._data.size)

    def nelement(self):
        return self.numel()

    def element_size(self):
        return self._data.itemsize

    def is_contiguous(self, memory_format=None):
        """Row-major with no gaps (the one memory format here)."""
        return bool(self._data.flags.c_contiguous)

    def data_ptr(self):
        """The address of the first element (CuPy's device pointer on a GPU)."""
        ptr = getattr(self._data.data, "ptr", None)
        return int(ptr) if ptr is not None else int(self._data.__array_interface__["data"][0])

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    @property
    def is_leaf(self):
        if self._view is not None:
            self._view.sync(self)
        return self._node is None

    @property
    def grad_fn(self):
        if self._view is not None:
            self._view.sync(self)
        node = self._node
        if node is not None and hasattr(node, "output_nr"):   # one output of a multi-output node
            return node.inputs[0]
        return node

    @property
    def is_sparse(self):
        return False

    @property
    def is_cpu(self):
        return self.device.type == "cpu"

    is_xpu = is_mps = is_meta = is_quantized = is_mkldnn = is_nested = False

    def is_inference(self):
        return False

    def __format__(self, spec):
        # torch formats a 0-dim tensor as its Python number; any other tensor only with an empty spec
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def type(self, dtype=None, non_blocking=False, **kwargs):
        """torch's legacy type string (``"torch.FloatTensor"``, ``"torch.cuda.LongTensor"``) without an
        argument; with a dtype or such a string, this tensor cast to it (itself when it already is)."""
        cuda = self.device.type == "cuda"
        if dtype is None:
            return f"torch.{'cuda.' if cuda else ''}{dtypes.torch_name(self.dtype)}Tensor"
        want_cuda = cuda
        if isinstance(dtype, str) or isinstance(dtype, builtins.type):
            name = dtype if isinstance(dtype, str) else f"torch.{dtype.__name__}"
            body = name[len("torch."):] if name.startswith("torch.") else None
            if body is not None and body.startswith("cuda."):
                body, want_cuda = body[len("cuda."):], True
            elif body is not None:
                want_cuda = False
            found = [k for k, v in dtypes._TORCH_NAMES.items() if body == f"{v}Tensor"]
            if not found:
                raise ValueError(f"invalid type: '{name}'")
            dtype = dtypes.as_dtype(found[0])
        dtype = dtypes.as_dtype(dtype)
        if dtype == self.dtype and want_cuda == cuda:
            return self
        out = self.to(dtype)
        if want_cuda != cuda:
            out = out.cuda() if want_cuda else out.cpu()
        return out

    def is_floating_point(self):
        return (self._data.dtype.kind == "f" or self._data.dtype == dtypes.bfloat16)

    def is_complex(self):
        return self._data.dtype.kind == "c"

    @property
    def xp(self):
        return backend.array_module(self._data)

    # ---- conversion -------------------------------------------------------------------------------
    def numpy(self):
        """A host NumPy copy (torch's ``.numpy()`` shares memory; ours copies from the GPU)."""
        d = self._data
        return d if isinstance(d, np.ndarray) else d.get()

    def tolist(self):
        return self.numpy().tolist()

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def __float__(self):
        return builtins.float(self.item())

    def __int__(self):
        return builtins.int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return builtins.bool(self.item())

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __index__(self):
        return builtins.int(self.item())

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def __repr__(self):
        a = self.numpy()
        if a.dtype == dtypes.bfloat16:      # NumPy formats it as a non-float: print its float32 values
            a = a.astype(dtypes.float32)
        suffixes = []
        if self.device.type != "cpu":
            suffixes.append(f"device='{self.device}'")
        default = dtypes.get_default_dtype()
        if a.size == 0:
            if a.ndim != 1:
                suffixes.append(f"size={tuple(a.shape)}")
            shown = self.dtype != default
        else:
            default_complex = dtypes.complex128 if default == dtypes.float64 else dtypes.complex64
            shown = self.dtype not in (default, default_complex, dtypes.int64, dtypes.bool)
        if shown:
            suffixes.append(f"dtype=torch.{self.dtype.name}")     # torch's repr names its dtypes torch.<name>
        if self._node is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn._torch_name()}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        return add_suffixes("tensor(" + values_text(a), suffixes)

    def __hash__(self):
        return id(self)

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the "
                               "deepcopy protocol at the moment.")
        import copy

        new = Tensor.__new__(type(self))
        Tensor.__init__(new, self._data.copy(), self.requires_grad)
        memo[id(self)] = new
        if self.grad is not None:
            new.grad = copy.deepcopy(self.grad, memo)
        new.__dict__.update(copy.deepcopy({k: v for k, v in self.__dict__.items() if k != "_post_acc_hooks"},
                                          memo))  # hooks stay with the original (as torch's Parameter)
        return new

    def __getstate__(self):
        return {"data": self.numpy(), "requires_grad": self.requires_grad, "device": str(self.device)}

    def __setstate__(self, st):      # back on the device it was pickled from (torch), cuda:N included
        dev = st.get("device", "cpu")
        Tensor.__init__(self, st["data"] if dev == "cpu" else backend.to_device(st["data"], dev),
                        st["requires_grad"])

    # ---- autograd ---------------------------------------------------------------------------------
    def detach(self):
        """A new leaf sharing this tensor's storage and version counter (in-place writes through it count)."""
        t = Tensor._wrap(self._data)
        t._ctr = self._counter()
        return t

    def detach_(self):
        if self._view is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._node = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad=True):
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to "
                               "use a computed variable in a subgraph that doesn't require differentiation "
                               "use var_no_grad = var.detach().")
        if requires_grad and (self._data.dtype.kind not in "fc" and self._data.dtype != dtypes.bfloat16):
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = builtins.bool(requires_grad)
        return self

def _typename(x):
    t = type(x)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _check_grad(t, value):
    """torch's checks on ``t.grad = value``: a Tensor (or sparse tensor) of t's shape, dtype and device."""
    if isinstance(value, Tensor):
        a, b = value._data, t._data
        if a.dtype == b.dtype and a.shape == b.shape and type(a) is type(b) and type(a) is np.ndarray:
            return
    if not isinstance(value, Tensor) and not getattr(value, "is_sparse", False):
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {_typename(value)}")
    if value.dtype != t.dtype:
        raise RuntimeError(f"attempting to assign a gradient with dtype '{dtypes.torch_name(value.dtype).lower()}' "
                           f"to a tensor with grad_dtype '{dtypes.torch_name(t.dtype)}'. The gradient must match "
                           "the tensor's grad_dtype (defaults to the tensor's dtype).")
    if value.device != t.device:
        raise RuntimeError(f"attempting to assign a gradient with device type '{value.device.type}' to a tensor "
                           f"with device type '{t.device.type}'. Please ensure that the gradient and the tensor "
                           "are on the same device")
    if tuple(value.shape) != t.shape:
        raise RuntimeError(f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of size "
                           f"'{list(t.shape)}'. Please ensure that the gradient and the tensor are the same size")


