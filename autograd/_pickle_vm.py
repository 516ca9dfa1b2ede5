"""The pickle interpreter of torch files: the opcodes plain data needs (protocols 2-4), nothing else.

``data.pkl`` is never given to Python's ``pickle``. Globals come only from ``find`` (a fixed table), REDUCE and
NEWOBJ call only the ``Callable`` objects that table returns, and BUILD may only set an OrderedDict's
``_metadata`` (torch's module-version record), so no file can reach other code.

It runs within :class:`~autograd._load_limits.LoadLimits`: the number of instructions, the wall time, the
depth of MARKs, and the hashing work. Hashing is the subtle one: a tuple built from memo references to
itself can hold 2**60 paths in 600 bytes, and Python hashes a tuple by walking it, so each tuple's size as
a tree ("weight") is known when it is built, refused past ``max_objects``, and charged when it is hashed.
"""
from __future__ import annotations

import pickle
import struct
import time
from collections import OrderedDict

from ._load_limits import too_big


class Callable:
    """One of the functions the pickle may call (REDUCE); nothing else on the stack is callable."""

    __slots__ = ("fn", "name")

    def __init__(self, fn, name):
        self.fn, self.name = fn, name


class Budget:
    """Tree sizes of the tuples/frozensets built so far, and the hashing work spent."""

    def __init__(self, limits):
        self.limits, self.weights, self.keep, self.hashed = limits, {}, [], 0

    def weight(self, obj):
        return self.weights.get(id(obj), 1) if isinstance(obj, (tuple, frozenset)) else 1

    def built(self, obj):
        if isinstance(obj, (tuple, frozenset)) and obj:
            w = 1 + sum(self.weight(v) for v in obj)
            if w > self.limits.max_objects:
                raise too_big("a tuple's size with shared references expanded", self.limits.max_objects,
                              "max_objects")
            self.weights[id(obj)] = w
            self.keep.append(obj)          # keeps the id unique while the weight is recorded
        return obj

    def hash(self, keys):
        """Charge the hashing of ``keys`` (dict keys or set members) before it happens."""
        self.hashed += sum(self.weight(k) for k in keys)
        if self.hashed > self.limits.max_objects:
            raise too_big("the hashing work of dict keys and set members", self.limits.max_objects,
                          "max_objects")


def unpickle(data, find, persistent_load, budget, deadline):
    """Run the pickle ``data`` (bytes) under ``budget`` (a :class:`Budget`); refuse every opcode plain data
    does not need."""
    limits = budget.limits
    built = budget.built
    stack, metastack, memo, pos, n = [], [], {}, 0, len(data)
    ops_left = limits.max_opcodes

    def take(k):
        nonlocal pos
        if k < 0 or pos + k > n:
            raise pickle.UnpicklingError("pickle data was truncated")
        out = data[pos:pos + k]
        pos += k
        return out

    def line():
        nonlocal pos
        end = data.find(b"\n", pos)
        if end < 0:
            raise pickle.UnpicklingError("pickle data was truncated")
        out = data[pos:end].decode("utf-8")
        pos = end + 1
        return out

    def pop_mark():
        nonlocal stack
        items, stack = stack, metastack.pop()
        return items

    def call(fn, args):
        if not isinstance(fn, Callable) or not isinstance(args, tuple):
            raise pickle.UnpicklingError(f"pickle calls {type(fn).__name__}, which is not an allowed function")
        return built(fn.fn(*args))

    u = struct.unpack
    while True:
        ops_left -= 1
        if not ops_left & 0xFFFF:
            if ops_left <= 0:
                raise too_big("the number of pickle instructions", limits.max_opcodes, "max_opcodes")
            if time.monotonic() > deadline:
                raise too_big("the time spent reading the pickle", limits.max_seconds, "max_seconds")
        if pos >= n:
            raise pickle.UnpicklingError("pickle data was truncated")
        op = data[pos]
        pos += 1
        if op == 0x80:                                   # PROTO
            if take(1)[0] > 4:
                raise pickle.UnpicklingError("unsupported pickle protocol (> 4)")
        elif op == 0x95:                                 # FRAME
            take(8)
        elif op == 0x2E:                                 # STOP
            if len(stack) != 1 or metastack:
                raise pickle.UnpicklingError("malformed pickle: stack not empty at STOP")
            return stack[0]
        elif op == 0x28:                                 # MARK
            if len(metastack) >= limits.max_depth:
                raise too_big("the nesting of MARKs", limits.max_depth, "max_depth")
            metastack.append(stack)
            stack = []
        elif op in (0x7D, 0x5D, 0x29, 0x8F):             # EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE, EMPTY_SET
            stack.append({0x7D: dict, 0x5D: list, 0x29: tuple, 0x8F: set}[op]())
        elif op == 0x4E:                                 # NONE
            stack.append(None)
        elif op in (0x88, 0x89):                         # NEWTRUE, NEWFALSE
            stack.append(op == 0x88)
        elif op == 0x4B:                                 # BININT1
            stack.append(take(1)[0])
        elif op == 0x4D:                                 # BININT2
            stack.append(u("<H", take(2))[0])
        elif op == 0x4A:                                 # BININT
            stack.append(u("<i", take(4))[0])
        elif op in (0x8A, 0x8B):                         # LONG1, LONG4
            k = take(1)[0] if op == 0x8A else u("<i", take(4))[0]
            if k > 1024:
                raise pickle.UnpicklingError("integer too large in pickle")
            stack.append(int.from_bytes(take(k), "little", signed=True))
        elif op == 0x47:                                 # BINFLOAT
            stack.append(u(">d", take(8))[0])
        elif op in (0x58, 0x8C, 0x8D):                   # BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
            k = u("<I", take(4))[0] if op == 0x58 else take(1)[0] if op == 0x8C else u("<Q", take(8))[0]
            stack.append(take(k).decode("utf-8", "surrogatepass"))
        elif op in (0x55, 0x54, 0x43, 0x42):             # SHORT_BINSTRING, BINSTRING, SHORT_BINBYTES, BINBYTES
            k = take(1)[0] if op in (0x55, 0x43) else u("<I", take(4))[0]
            stack.append(bytes(take(k)))
        elif op == 0x74:                                 # TUPLE
            items = built(tuple(pop_mark()))   # pop first: pop_mark rebinds ``stack``
            stack.append(items)
        elif op in (0x85, 0x86, 0x87):                   # TUPLE1..3
            k = op - 0x84
            if len(stack) < k:
                raise pickle.UnpicklingError("malformed pickle: stack underflow")
            items = built(tuple(stack[-k:]))
            del stack[-k:]
            stack.append(items)
        elif op == 0x6C:                                 # LIST
            items = pop_mark()
            stack.append(items)
        elif op == 0x64:                                 # DICT
            items = pop_mark()
            budget.hash(items[::2])
            stack.append(dict(zip(items[::2], items[1::2])))
        elif op == 0x91:                                 # FROZENSET
            items = pop_mark()
            budget.hash(items)
            stack.append(built(frozenset(items)))
        elif op in (0x61, 0x65):                         # APPEND, APPENDS
            items = [stack.pop()] if op == 0x61 else pop_mark()
            if not stack or not isinstance(stack[-1], list):
                raise pickle.UnpicklingError("malformed pickle: APPEND to a non-list")
            stack[-1].extend(items)
        elif op in (0x73, 0x75):                         # SETITEM, SETITEMS
            if op == 0x73:
                v = stack.pop()
                items = [stack.pop(), v]
            else:
                items = pop_mark()
            if not stack or not isinstance(stack[-1], dict):
                raise pickle.UnpicklingError("malformed pickle: SETITEM on a non-dict")
            budget.hash(items[::2])
            for i in range(0, len(items) - 1, 2):
                stack[-1][items[i]] = items[i + 1]
        elif op == 0x90:                                 # ADDITEMS
            items = pop_mark()
            if not stack or not isinstance(stack[-1], set):
                raise pickle.UnpicklingError("malformed pickle: ADDITEMS on a non-set")
            budget.hash(items)
            stack[-1].update(items)
        elif op == 0x63:                                 # GLOBAL
            module = line()
            stack.append(find(module, line()))
        elif op == 0x93:                                 # STACK_GLOBAL
            name, module = stack.pop(), stack.pop()
            if not (isinstance(module, str) and isinstance(name, str)):
                raise pickle.UnpicklingError("malformed pickle: STACK_GLOBAL needs two strings")
            stack.append(find(module, name))
        elif op == 0x52:                                 # REDUCE
            args = stack.pop()
            stack.append(call(stack.pop(), args))
        elif op == 0x81:                                 # NEWOBJ
            args = stack.pop()
            stack.append(call(stack.pop(), args))
        elif op == 0x62:                                 # BUILD
            state, inst = stack.pop(), stack[-1]
            if not (isinstance(inst, OrderedDict) and isinstance(state, dict) and set(state) <= {"_metadata"}):
                raise pickle.UnpicklingError(f"pickle sets the state of a {type(inst).__name__}; only an "
                                             f"OrderedDict's _metadata is allowed")
            if "_metadata" in state:
                inst._metadata = state["_metadata"]
        elif op == 0x51:                                 # BINPERSID
            stack.append(persistent_load(stack.pop()))
        elif op in (0x71, 0x72, 0x94):                   # BINPUT, LONG_BINPUT, MEMOIZE
            key = take(1)[0] if op == 0x71 else u("<I", take(4))[0] if op == 0x72 else len(memo)
            memo[key] = stack[-1]
        elif op in (0x68, 0x6A):                         # BINGET, LONG_BINGET
            key = take(1)[0] if op == 0x68 else u("<I", take(4))[0]
            if key not in memo:
                raise pickle.UnpicklingError(f"malformed pickle: memo key {key} not found")
            stack.append(memo[key])
        elif op == 0x30:                                 # POP
            if stack:
                stack.pop()
            else:
                pop_mark()
        elif op == 0x31:                                 # POP_MARK
            pop_mark()
        elif op == 0x32:                                 # DUP
            stack.append(stack[-1])
        else:
            raise pickle.UnpicklingError(f"unsupported pickle opcode {bytes([op])!r} at byte {pos - 1}: refused")
