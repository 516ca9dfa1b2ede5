"""The built site in a real headless browser: on the API and notebook pages no element runs past the
content column or is clipped inside its box (long signatures wrap; wide formulas and outputs scroll inside
a box of their own). Needs Playwright and a Chromium (the system one: ``apt-get install chromium`` and
``pip install playwright``; Playwright's own browser download is not used); skips with the reason otherwise.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("material")
pytest.importorskip("mkdocstrings_handlers.python")
pytest.importorskip("mkdocs_jupyter")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("MINITORCH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    pytest.skip("no Chromium to drive (apt-get install chromium, or set MINITORCH_CHROMIUM)", allow_module_level=True)

WIDTHS = (1280, 1920)

# Every block element of the article must end inside the article, unless an ancestor scrolls it; and a box
# that hides overflow must not hide any (that is a cut-off signature or formula).
FIND_OVERFLOW = r"""
() => {
  const art = document.querySelector('article.md-content__inner') || document.querySelector('.md-content');
  const box = art.getBoundingClientRect();
  const scrolled = el => {
    for (let a = el.parentElement; a && a !== art; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === 'auto' || o === 'scroll') return true;
    }
    return false;
  };
  const name = el => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ?
    '.' + el.className.trim().split(/\s+/).join('.') : '');
  const bad = [];
  for (const el of art.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || el.closest('.katex-mathml')) continue;
    if ((r.right > box.right + 2 || r.left < box.left - 2) && !scrolled(el)) {
      bad.push(`${name(el)} runs past the column (${Math.round(r.right - box.right)} px): ` +
               el.textContent.trim().slice(0, 60));
      continue;
    }
    const cs = getComputedStyle(el);
    if ((cs.overflowX === 'hidden' || cs.overflowX === 'clip') && el.scrollWidth > el.clientWidth + 2
        && !el.closest('.katex') && !scrolled(el)) {
      bad.push(`${name(el)} clips ${el.scrollWidth - el.clientWidth} px: ` + el.textContent.trim().slice(0, 60));
    }
  }
  // a signature must wrap: a scrolled one reads as cut off (its scrollbar is faint until hovered)
  for (const el of art.querySelectorAll('.doc-signature pre, .doc-signature code')) {
    if (el.scrollWidth > el.clientWidth + 2)
      bad.push(`signature needs ${el.scrollWidth - el.clientWidth} px more: ` + el.textContent.trim().slice(0, 60));
  }
  // a display formula fits, or scrolls with a scrollbar one can see
  for (const el of art.querySelectorAll('div.arithmatex')) {
    if (el.scrollWidth <= el.clientWidth + 2) continue;
    const cs = getComputedStyle(el);
    const scrolls = cs.overflowX === 'auto' || cs.overflowX === 'scroll';
    const thumb = (cs.scrollbarColor || 'auto').split(' ')[0];
    const visible = el.offsetHeight - el.clientHeight > 0 && !/transparent|rgba\([^)]*, 0\)|#0000/.test(thumb);
    if (!scrolls || !visible)
      bad.push(`formula wider than its box by ${el.scrollWidth - el.clientWidth} px without a visible scrollbar`);
  }
  return bad;
}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "docs" / "mkdocs.yml"),
                           "-d", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT),
                               "MINITORCH_DOCS_EXECUTE": "02_optimizers_on_rosenbrock"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        try:
            # scrollbars shown as a reader sees them (headless hides them by default)
            b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"],
                                   ignore_default_args=["--hide-scrollbars"])
        except Exception as e:  # noqa: BLE001 - a Chromium that does not start is a missing browser here
            pytest.skip(f"Chromium at {CHROMIUM} does not start: {str(e).splitlines()[0]}")
        yield b
        b.close()


def _pages(site):
    pages = sorted((site / "api").glob("*/index.html")) + sorted((site / "notebooks").glob("*/index.html"))
    assert len(pages) >= 10
    return pages


def test_no_element_overflows_on_the_api_and_notebook_pages(site, browser):
    problems = []
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900})
        for html in _pages(site):
            page.goto(html.as_uri())
            page.wait_for_load_state("load")
            page.wait_for_timeout(50)                     # KaTeX typesets on load
            for p in page.evaluate(FIND_OVERFLOW):
                problems.append(f"{html.parent.relative_to(site)} at {width} px: {p}")
        page.close()
    assert not problems, "\n".join(problems[:40])


def test_formulas_are_typeset(site, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((site / "api" / "optimizers" / "index.html").as_uri())
    page.wait_for_load_state("load")
    assert page.locator(".katex-display").count() > 5
    page.close()
