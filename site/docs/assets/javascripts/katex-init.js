// Render the math that pymdownx.arithmatex (generic mode) leaves as \( \) and \[ \] inside
// .arithmatex elements, with the KaTeX bundled in assets/katex. `document$` is material's page
// observable: it fires on the first load and after every instant-navigation page change.
(function () {
  function render(root) {
    if (typeof renderMathInElement !== "function") return;
    root.querySelectorAll(".arithmatex").forEach(function (el) {
      renderMathInElement(el, {
        delimiters: [
          { left: "\\(", right: "\\)", display: false },
          { left: "\\[", right: "\\]", display: true },
        ],
        throwOnError: false,
      });
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(function () { render(document); });
  } else {
    document.addEventListener("DOMContentLoaded", function () { render(document); });
  }
})();
