"""Regenerate ``table.json``: the call signatures of the installed CuPy (the stand-in checks every call
against them). Needs ``cupy-cuda13x`` importable (no GPU needed):

    python tests/fake_cupy/gen_table.py

Python functions are recorded with ``inspect.signature``; Cython callables (ndarray methods, RawModule,
Device, runtime functions) from the signature line Cython embeds in their docstring; ufuncs as
``nin``/``nout`` and their loop ``types`` (which decide the result dtype, e.g. ``erf``'s ``e->d``).
"""
from __future__ import annotations

import inspect
import json
import os
import re

KINDS = {inspect.Parameter.POSITIONAL_ONLY: "posonly", inspect.Parameter.POSITIONAL_OR_KEYWORD: "pos",
         inspect.Parameter.VAR_POSITIONAL: "varpos", inspect.Parameter.KEYWORD_ONLY: "kwonly",
         inspect.Parameter.VAR_KEYWORD: "varkw"}


def _from_inspect(sig):
    return [[p.name, KINDS[p.kind], p.default is not inspect.Parameter.empty,
             None if p.default is inspect.Parameter.empty else repr(p.default)] for p in sig.parameters.values()]


def _split(s):
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _from_doc(obj):
    """Parameters from the ``name(sig)`` line Cython embeds at the top of a docstring (None if absent)."""
    doc = (getattr(obj, "__doc__", None) or "").strip()
    m = re.match(r"[\w.]+\((.*?)\)(\s*->.*)?$", doc.split("\n")[0])
    if not m:
        return None
    params, kind = [], "pos"
    for item in _split(m.group(1)):
        if item == "*":
            kind = "kwonly"
            continue
        if item.startswith("**"):
            params.append([item[2:].split()[-1], "varkw", False, None])
            continue
        if item.startswith("*"):
            params.append([item[1:].split()[-1], "varpos", False, None])
            kind = "kwonly"
            continue
        name, eq, default = item.partition("=")
        params.append([name.split()[-1], kind, bool(eq), default.strip() if eq else None])
    return params


def signature(obj):
    try:
        return _from_inspect(inspect.signature(obj))
    except (TypeError, ValueError):
        return _from_doc(obj)


def main():
    import cupy
    import cupy.cuda.compiler
    import cupy.lib.stride_tricks
    import cupyx
    import cupyx.scipy.special

    ufunc_types = (cupy.ufunc,)
    table = {"cupy_version": cupy.__version__, "functions": {}, "ufuncs": {}, "classes": {}, "methods": {},
             "attributes": {}, "constants": {}}
    modules = {"cupy": cupy, "cupy.random": cupy.random, "cupy.linalg": cupy.linalg, "cupyx": cupyx,
               "cupyx.scipy.special": cupyx.scipy.special, "cupy.cuda": cupy.cuda,
               "cupy.cuda.runtime": cupy.cuda.runtime, "cupy.cuda.compiler": cupy.cuda.compiler,
               "cupy.lib.stride_tricks": cupy.lib.stride_tricks}
    table["modules"] = sorted(f"cupy.cuda.{n}" for n in ("nccl", "nvrtc", "cub", "cutensor", "thrust")
                              if hasattr(cupy.cuda, n)) + sorted(modules)
    for mname, mod in modules.items():
        for name in sorted(dir(mod)):
            if name.startswith("_"):
                continue
            obj = getattr(mod, name)
            full = f"{mname}.{name}"
            if isinstance(obj, ufunc_types):
                table["ufuncs"][full] = {"nin": obj.nin, "nout": obj.nout, "types": list(obj.types)}
            elif inspect.isclass(obj):
                table["classes"][full] = signature(obj)
            elif callable(obj):
                table["functions"][full] = signature(obj)
            elif not inspect.ismodule(obj):
                table["constants"][full] = repr(obj)
    for cname, cls in {"cupy.ndarray": cupy.ndarray, "cupy.random.Generator": cupy.random.Generator,
                       "cupy.cuda.Device": cupy.cuda.Device, "cupy.cuda.Stream": cupy.cuda.Stream,
                       "cupy.RawModule": cupy.RawModule, "cupy.RawKernel": cupy.RawKernel}.items():
        meths, attrs = {}, []
        for name in sorted(dir(cls)):
            if name.startswith("_") and name not in ("__getitem__", "__setitem__", "__enter__", "__exit__",
                                                     "__call__", "__init__"):
                continue
            obj = getattr(cls, name)
            if callable(obj):
                meths[name] = signature(obj)
            else:
                attrs.append(name)
        table["methods"][cname] = meths
        table["attributes"][cname] = attrs
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "table.json")
    with open(out, "w") as fh:
        json.dump(table, fh, indent=0, sort_keys=True)
        fh.write("\n")
    print(f"wrote {out}: {sum(len(v) for k, v in table.items() if isinstance(v, dict))} entries")


if __name__ == "__main__":
    main()
