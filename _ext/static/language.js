/* A link to the same page in the other edition (English ⇄ 日本語), from the <meta> that _ext/i18n.py writes. */
(() => {
  "use strict";
  const add = () => {
    const meta = document.querySelector('meta[name="mpsbook-other-edition"]');
    if (!meta || document.querySelector("a.mpsbook-edition")) return;
    const link = document.createElement("a");
    link.className = "mpsbook-edition btn btn-sm";
    // The same section: anchors are identical in both editions, so the current #fragment goes along.
    const follow = () => { link.href = meta.content + window.location.hash; };
    follow();
    window.addEventListener("hashchange", follow);
    link.addEventListener("click", follow);
    link.hreflang = meta.dataset.lang;
    link.lang = meta.dataset.lang;
    link.textContent = meta.dataset.label;
    link.title = meta.dataset.lang === "ja" ? "この章を日本語で読む" : "Read this page in English";
    const bar = document.querySelector(".article-header-buttons") || document.querySelector(".bd-article");
    if (bar) bar.prepend(link);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", add);
  else add();
})();
