"""mkdocs hooks for the site (registered under ``hooks:`` in mkdocs.yml).

1. Optional pages: nav entries listed under ``extra: optional_pages`` are dropped while their file does not
   exist yet, so a page can be listed in the nav before it is written (contrib, distributed, ...), and
   adding the file is all it takes to publish it. Every other nav entry must exist (``--strict``).
2. Pages kept outside ``docs/src`` (``extra: outside_pages``, e.g. ``paths.md: ../paths.md``) are published
   from their one copy.
3. Notebooks: the pages under ``notebooks/`` are the repository's ``notebooks/*.ipynb`` (the one copy),
   executed at build time with nbclient so the site shows their outputs and plots. Executed copies are
   cached under ``docs/.nbcache`` keyed by a hash of the notebook and of the library's source, so a rebuild
   with nothing changed executes nothing. ``MINITORCH_DOCS_EXECUTE``: ``all`` (default), ``none``, or a
   comma-separated list of notebook names (the others are rendered with their code only).
"""
from __future__ import annotations

import hashlib
import logging
import os
import pathlib
import shutil

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CACHE = pathlib.Path(os.environ.get("MINITORCH_DOCS_NBCACHE", ROOT / "docs" / ".nbcache"))
log = logging.getLogger("mkdocs.hooks.minitorch")


def _prune(nav, optional, docs_dir):
    out = []
    for item in nav:
        if isinstance(item, dict):
            (title, value), = item.items()
            if isinstance(value, list):
                kept = _prune(value, optional, docs_dir)
                if kept:
                    out.append({title: kept})
                continue
            if value in optional and not (docs_dir / value).exists():
                log.info("optional page %s is not written yet: left out of the nav", value)
                continue
        elif isinstance(item, str) and item in optional and not (docs_dir / item).exists():
            continue
        out.append(item)
    return out


def on_config(config):
    optional = set(config.extra.get("optional_pages", []))
    if optional and config.nav:
        config.nav = _prune(config.nav, optional, pathlib.Path(config.docs_dir))
    return config


def _source_hash():
    h = hashlib.sha256()
    for pkg in ("autograd", "minitorch_optim"):
        for p in sorted((ROOT / pkg).rglob("*")):
            if p.suffix in (".py", ".cu", ".h") and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(ROOT)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()


def _wanted(stem):
    spec = os.environ.get("MINITORCH_DOCS_EXECUTE", "all").strip()
    if spec == "all":
        return True
    if spec in ("", "none", "0"):
        return False
    return stem in {s.strip() for s in spec.split(",")}


def _execute(path, key):
    import nbclient
    import nbformat

    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"{path.stem}-{key[:16]}.ipynb"
    if out.exists():
        return out
    log.info("executing %s for the docs", path.name)
    nb = nbformat.read(path, as_version=4)
    os.environ.setdefault("MPLBACKEND", "Agg")
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    tmp = out.with_suffix(".tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, out)
    for old in CACHE.glob(f"{path.stem}-*.ipynb"):     # keep one executed copy per notebook
        if old != out:
            old.unlink()
    return out


@event_priority(100)          # before mkdocs-jupyter turns .ipynb files into pages
def on_files(files, config):
    for uri, rel in (config.extra.get("outside_pages") or {}).items():   # one copy, kept beside the code docs
        files.append(File.generated(config, uri, abs_src_path=str((pathlib.Path(config.docs_dir) / rel).resolve())))
    src = None
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        uri = f"notebooks/{path.name}"
        old = files.get_file_from_path(uri)
        if old is not None:
            files.remove(old)
        if _wanted(path.stem):
            src = src or _source_hash()
            key = hashlib.sha256(path.read_bytes() + src.encode()).hexdigest()
            use = _execute(path, key)
        else:
            use = path
        # a plain File rooted in a staging folder (mkdocs-jupyter's wrapper cannot read "generated" files)
        stage = CACHE / "pages"
        (stage / "notebooks").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(use, stage / uri)
        files.append(File(uri, src_dir=str(stage), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
    return files
