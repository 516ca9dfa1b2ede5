"""Build the documentation site with ``mkdocs build --strict`` (as CI does) and check what it produced:
every page and notebook, signatures with defaults on the API pages, rendered notebook outputs and plots,
and nothing that a reader's browser would fetch from another machine (scripts, stylesheets, fonts).

To keep the suite quick, the build executes one notebook (``MINITORCH_DOCS_EXECUTE``; a normal build
executes all of them, cached in docs/.nbcache). Skips cleanly when the docs toolchain is missing:
``pip install -e '.[docs]'``.
"""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("material")
pytest.importorskip("mkdocstrings_handlers.python")
pytest.importorskip("mkdocs_jupyter")

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIG = ROOT / "docs" / "mkdocs.yml"
EXECUTED = "02_optimizers_on_rosenbrock"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(CONFIG), "-d", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1",
                               "MINITORCH_DOCS_EXECUTE": EXECUTED, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_pages_and_notebooks_are_rendered(site):
    for page in ["index.html", "getting-started/index.html", "migration/index.html", "concepts/index.html",
                 "schedulers/index.html", "swa/index.html", "benchmarks/index.html", "api/optimizers/index.html",
                 "api/lr_scheduler/index.html", "api/swa_utils/index.html", "api/autograd/index.html",
                 "api/nn/index.html", "api/serialization/index.html", "serialization/index.html",
                 "paths/index.html", "cli/index.html"]:
        assert (site / page).is_file(), page
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        html = (site / "notebooks" / nb.stem / "index.html").read_text()
        assert "jupyter-wrapper" in html, nb.name
    bench = re.sub(r"<[^>]+>", "", (site / "benchmarks" / "index.html").read_text())
    assert "python -m minitorch_optim bench" in bench
    executed = (site / "notebooks" / EXECUTED / "index.html").read_text()
    outputs = executed.split("jp-OutputArea-output")
    assert len(outputs) > 3, "the executed notebook shows no outputs"
    assert any("data:image/png" in o[:2000] for o in outputs[1:]), "no plot rendered in the notebook"


def _external_refs(site):
    """(file, reference) for every script, stylesheet, font, image or frame a page would load from elsewhere."""
    far = r"(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//"
    refs = []
    for f in site.rglob("*"):
        if f.suffix == ".html":
            text = f.read_text(errors="ignore")
            for m in re.finditer(r"<(script|link|img|iframe|source|embed|object)\b[^>]*?\b(?:src|href|data)=[\"']?"
                                 rf"({far}[^\"' >]+)", text):
                if m.group(1) == "link" and not re.search(r'rel="?(stylesheet|preload|preconnect|icon|modulepreload'
                                                          r'|dns-prefetch|manifest)', m.group(0)):
                    continue
                refs.append((str(f.relative_to(site)), m.group(2)))
            refs += [(str(f.relative_to(site)), m.group(1)) for m in
                     re.finditer(rf"@import\s+(?:url\()?[\"']?({far}[^\"')]+)", text)]
        elif f.suffix == ".css":
            refs += [(str(f.relative_to(site)), m.group(1)) for m in
                     re.finditer(rf"(?:url\(|@import\s+)[\"']?({far}[^\"')]+)", f.read_text(errors="ignore"))]
    return [r for r in refs if not r[1].startswith("http://www.w3.org/")]


def test_nothing_is_fetched_from_another_machine(site):
    assert _external_refs(site) == []
    html = (site / "api" / "optimizers" / "index.html").read_text()
    assert 'src="../../assets/katex/katex.min.js"' in html and "katex.min.css" in html
    fonts = list((site / "assets" / "katex" / "fonts").glob("*.woff2"))
    assert len(fonts) >= 19
    css = (site / "assets" / "katex" / "katex.min.css").read_text()
    assert all((site / "assets" / "katex" / u).is_file() for u in re.findall(r"url\((fonts/[^)]+)\)", css))
    assert "fonts.googleapis" not in (site / "index.html").read_text()


def test_self_check_finds_external_references(tmp_path):
    (tmp_path / "a.html").write_text('<script src="https://cdn.example/x.js"></script>'
                                     '<link rel="stylesheet" href="//cdn.example/y.css">')
    (tmp_path / "b.css").write_text("@font-face{src:url(https://fonts.example/z.woff2)}")
    assert len(_external_refs(tmp_path)) == 3


def test_api_pages_show_signatures_with_defaults(site):
    pages = {"optimizers": ["Adam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08",
                            "SGD(params, lr=0.001, momentum=0", "LBFGS(params, lr=1, max_iter=20"],
             "lr_scheduler": ["StepLR(optimizer, step_size, gamma=0.1", "OneCycleLR(optimizer, max_lr"],
             "swa_utils": ["AveragedModel(model, device=None", "SWALR(optimizer, swa_lr"],
             "serialization": ["save(obj, f)", "load(f, map_location=None, weights_only=True"],
             "nn": ["Linear(in_features, out_features, bias=True"]}
    for page, needles in pages.items():
        html = (site / "api" / page / "index.html").read_text()
        sigs = [re.sub(r"<[^>]+>", "", s) for s in re.findall(r'class="doc-signature highlight">(.*?)</div>', html, re.S)]
        text = __import__("html").unescape(" ".join(" ".join(s.split()) for s in sigs))
        for n in needles:
            assert n in text, (page, n)
    import minitorch_optim as optim

    html = (site / "api" / "optimizers" / "index.html").read_text()
    for name in [n for n in optim.__all__ if isinstance(getattr(optim, n), type) and n != "Optimizer"]:
        section = re.search(rf'id="minitorch_optim\.{name}"(.*?)(?=<h2 id="|\Z)', html, re.S)
        assert section and "doc-signature" in section.group(1), f"{name}: no signature"


def test_api_reference_has_every_optimizer_with_its_update_rule(site):
    import minitorch_optim as optim

    html = (site / "api" / "optimizers" / "index.html").read_text()
    assert "math::" not in html                        # every reST math block was converted
    names = [n for n in optim.__all__ if isinstance(getattr(optim, n), type)
             and issubclass(getattr(optim, n), optim.Optimizer) and n != "Optimizer"]
    for name in names:
        section = re.search(rf'id="minitorch_optim\.{name}"(.*?)(?=<h2 id="|\Z)', html, re.S)
        assert section, f"{name} missing from the API reference"
        if ".. math::" in (getattr(optim, name).__doc__ or ""):
            assert 'class="arithmatex"' in section.group(1), f"{name}: no rendered update rule"


def test_migration_table_lists_every_public_class(site):
    import minitorch_optim as optim
    from minitorch_optim import lr_scheduler, swa_utils

    text = (ROOT / "docs" / "src" / "migration.md").read_text()
    classes = [n for n in optim.__all__ if isinstance(getattr(optim, n), type) and n != "Optimizer"]
    for name in classes + [n for n in lr_scheduler.__all__] + list(swa_utils.__all__):
        assert f"`{name}`" in text or f"`{name}(" in text, name
