// Typeset the arithmatex spans/divs with KaTeX once the page (and its instant-navigation updates) load.
function renderMath() {
  if (typeof renderMathInElement !== "function") return;
  document.querySelectorAll(".arithmatex").forEach(function (el) {
    renderMathInElement(el, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  });
  // notebook pages (mkdocs-jupyter): markdown cells keep TeX between $ ... $ / $$ ... $$
  document.querySelectorAll(".jupyter-wrapper .jp-MarkdownOutput").forEach(function (el) {
    renderMathInElement(el, {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "$", right: "$", display: false },
      ],
      throwOnError: false,
    });
  });
}
if (typeof document$ !== "undefined") {
  document$.subscribe(renderMath);
} else {
  window.addEventListener("load", renderMath);
}
