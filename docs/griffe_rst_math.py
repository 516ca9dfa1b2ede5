"""Griffe extension for the API reference: turn reST ``.. math::`` blocks in docstrings into ``$$ ... $$``.

The optimizers' class docstrings give their update rule as a ``.. math::`` block (readable in
``help()`` and IDEs). pymdownx.arithmatex understands ``$$`` blocks, so this rewrites each directive
and its indented body; bodies with ``&`` alignment or ``\\`` line breaks are wrapped in ``aligned``.
"""
from __future__ import annotations

import re

import griffe

_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*$")


def convert(text: str) -> str:
    lines = text.splitlines()
    out, i = [], 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent = len(m.group("indent"))
        body, i = [], i + 1
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i].strip())
            i += 1
        while body and not body[-1]:
            body.pop()
        tex = "\n".join(b for b in body if b)
        if "&" in tex or "\\\\" in tex:
            tex = "\\begin{aligned}\n" + tex + "\n\\end{aligned}"
        pad = " " * indent
        out += [pad + "$$", *(pad + t for t in tex.splitlines()), pad + "$$", ""]
    return "\n".join(out)


class RstMath(griffe.Extension):
    def on_instance(self, *, obj, **kwargs) -> None:  # noqa: D102 - griffe hook
        if obj.docstring is not None and ".. math::" in obj.docstring.value:
            obj.docstring.value = convert(obj.docstring.value)
