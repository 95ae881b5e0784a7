/* Make the visible sidebar buttons work (pydata-sphinx-theme#2451, sphinx-book-theme#935, open in the pinned
 * pydata-sphinx-theme 0.17 / sphinx-book-theme 1.3).
 *
 * Every page has two "primary-toggle" buttons (and two "secondary-toggle" ones): one in the theme's top navbar,
 * hidden by sphinx-book-theme, and one in the article header, the one a reader sees. Both themes bind their
 * handlers with document.querySelector(), which finds the hidden one first, so the visible button did nothing:
 * on a phone the chapter navigation could not be opened at all. A click on any other copy of the button is
 * passed on to the bound one; if the themes ever bind every copy, this still runs their handler exactly once.
 */
(() => {
  "use strict";
  document.addEventListener(
    "click",
    (event) => {
      for (const kind of ["primary-toggle", "secondary-toggle"]) {
        const clicked = event.target instanceof Element && event.target.closest(`.${kind}`);
        const bound = document.querySelector(`.${kind}`);
        if (clicked && bound && clicked !== bound) {
          event.preventDefault();
          event.stopPropagation();
          clicked.blur();
          bound.click();
          return;
        }
      }
    },
    true,
  );
})();
