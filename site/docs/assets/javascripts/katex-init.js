// Typeset math with the KaTeX bundled in assets/katex (nothing is fetched from the web).
// - Markdown pages: pymdownx.arithmatex (generic mode) leaves \( \) and \[ \] inside .arithmatex.
// - Notebook pages (mkdocs-jupyter): markdown cells keep their $...$ and $$...$$ as written, inside
//   .jp-RenderedMarkdown; the notebook template's MathJax is disabled in mkdocs.yml.
// `document$` is material's page observable: it fires on the first load and after every
// instant-navigation page change.
(function () {
  var pageDelimiters = [
    { left: "\\(", right: "\\)", display: false },
    { left: "\\[", right: "\\]", display: true },
  ];
  var notebookDelimiters = [
    { left: "$$", right: "$$", display: true },
    { left: "$", right: "$", display: false },
  ].concat(pageDelimiters);

  function typeset(elements, delimiters) {
    elements.forEach(function (el) {
      renderMathInElement(el, { delimiters: delimiters, throwOnError: false });
    });
  }

  function render(root) {
    if (typeof renderMathInElement !== "function") return;
    typeset(root.querySelectorAll(".arithmatex"), pageDelimiters);
    typeset(root.querySelectorAll(".jupyter-wrapper .jp-RenderedMarkdown"), notebookDelimiters);
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(function () { render(document); });
  } else {
    document.addEventListener("DOMContentLoaded", function () { render(document); });
  }
})();
