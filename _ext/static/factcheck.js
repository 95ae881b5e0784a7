/* The fact-check appendix (book/factcheck.md): filter the claim rows by verdict, chapter and text.
 *
 * The extension (_ext/factcheck.py) renders every row with data-id, data-verdict and data-chapter, and the
 * form #fc-filter hidden; this script shows the form and only hides and shows rows. Both tables (the ten that
 * matter most, and every claim by guide section) follow the same filter; "N of M claims shown" counts the
 * section tables, where each claim appears once. The state lives in the query string (?verdict=wrong&chapter=3
 * &q=sync) so a filtered view can be shared; a link to one claim (#F041) always shows that claim.
 * Plain JavaScript, no library, nothing fetched.
 */
(() => {
  "use strict";
  const form = document.getElementById("fc-filter");
  if (!form) return;

  const rows = [...document.querySelectorAll("tr.fc-row[data-verdict]")];
  const claims = rows.filter((row) => row.id); // the section tables: each claim once
  const tables = [...new Set(rows.map((row) => row.closest("table")))];
  const verdictButtons = [...form.querySelectorAll("button[data-verdict]")];
  const chapterSelect = form.querySelector("#fc-chapter");
  const textInput = form.querySelector("#fc-text");
  const shown = form.querySelector(".fc-shown");
  const state = { verdict: "", chapter: "", text: "" };

  const haystack = new Map(
    rows.map((row) => {
      const parts = [row.dataset.id, ...[...row.querySelectorAll(".fc-claim, .fc-reason")].map((p) => p.textContent)];
      return [row, parts.join(" \u0000 ").toLowerCase()];
    }),
  );

  // One empty-table note after each table, shown when the filter leaves the table empty.
  const notes = new Map(
    tables.map((table) => {
      const box = table.closest(".pst-scrollable-table-container") || table;
      const note = document.createElement("p");
      note.className = "fc-empty";
      note.hidden = true;
      note.textContent = "No claim in this table matches the filter.";
      box.after(note);
      return [table, note];
    }),
  );

  const terms = (text) => text.toLowerCase().split(/\s+/).filter(Boolean);
  const chapterOk = (row, chapter) => !chapter || row.dataset.chapter.split(" ").includes(chapter);
  const textOk = (row, words) => words.every((word) => haystack.get(row).includes(word));

  function matches(row, { verdict = state.verdict, chapter = state.chapter, words = terms(state.text) } = {}) {
    return (!verdict || row.dataset.verdict === verdict) && chapterOk(row, chapter) && textOk(row, words);
  }

  function apply() {
    const words = terms(state.text);
    for (const row of rows) row.classList.toggle("fc-hidden", !matches(row, { words }));
    for (const [table, note] of notes) {
      const empty = !table.querySelector("tr.fc-row:not(.fc-hidden)");
      const box = table.closest(".pst-scrollable-table-container") || table;
      box.classList.toggle("fc-hidden", empty);
      note.hidden = !empty;
    }
    const visible = claims.filter((row) => !row.classList.contains("fc-hidden")).length;
    shown.textContent = String(visible);
    form.classList.toggle("fc-active", Boolean(state.verdict || state.chapter || state.text));

    // Each verdict button counts the claims it would show with the chapter and text as they are.
    for (const button of verdictButtons) {
      const verdict = button.dataset.verdict;
      button.setAttribute("aria-pressed", String(verdict === state.verdict));
      const n = claims.filter((row) => matches(row, { verdict, words })).length;
      button.querySelector(".fc-n").textContent = String(n);
    }
    // Each chapter counts the claims it would show with the verdict and text as they are.
    for (const option of chapterSelect.options) {
      if (!option.value) continue;
      const n = claims.filter((row) => matches(row, { chapter: option.value, words })).length;
      option.textContent = `${option.dataset.label} (${n})`;
    }
    chapterSelect.value = state.chapter;
    if (textInput.value !== state.text) textInput.value = state.text;
  }

  function save() {
    const params = new URLSearchParams(window.location.search);
    for (const [key, value] of [["verdict", state.verdict], ["chapter", state.chapter], ["q", state.text]]) {
      if (value) params.set(key, value);
      else params.delete(key);
    }
    const query = params.toString();
    const url = window.location.pathname + (query ? `?${query}` : "") + window.location.hash;
    window.history.replaceState(window.history.state, "", url);
  }

  function update(changes) {
    Object.assign(state, changes);
    apply();
    save();
  }

  function load() {
    const params = new URLSearchParams(window.location.search);
    const verdict = params.get("verdict") || "";
    const chapter = params.get("chapter") || "";
    state.verdict = verdictButtons.some((b) => b.dataset.verdict === verdict) ? verdict : "";
    state.chapter = [...chapterSelect.options].some((o) => o.value === chapter) ? chapter : "";
    state.text = params.get("q") || "";
  }

  // A link to one claim shows it, whatever the filter: clear the filter if it hides the target.
  function revealTarget(scroll) {
    const id = decodeURIComponent(window.location.hash.slice(1));
    const row = id && document.getElementById(id);
    if (!row || !row.classList.contains("fc-row")) return;
    if (row.classList.contains("fc-hidden")) {
      update({ verdict: "", chapter: "", text: "" });
      scroll = true;
    }
    if (scroll) row.scrollIntoView({ block: "start" });
  }

  for (const button of verdictButtons) {
    button.addEventListener("click", () => {
      const verdict = button.dataset.verdict;
      update({ verdict: verdict === state.verdict ? "" : verdict });
    });
  }
  chapterSelect.addEventListener("change", () => update({ chapter: chapterSelect.value }));
  textInput.addEventListener("input", () => update({ text: textInput.value.trim() }));
  textInput.addEventListener("keydown", (event) => {
    if (event.key === "Escape") update({ text: "" });
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("reset", (event) => {
    event.preventDefault();
    update({ verdict: "", chapter: "", text: "" });
  });

  // The verdicts of the counts table filter too.
  for (const row of document.querySelectorAll("table.fc-counts tr.fc-count[data-verdict]")) {
    const label = row.querySelector("td strong");
    if (!label) continue;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "fc-count-button";
    button.title = row.dataset.verdict ? `Show the ${row.dataset.verdict} claims` : "Show every claim";
    label.replaceWith(button);
    button.append(label);
    button.addEventListener("click", () => {
      update({ verdict: row.dataset.verdict });
      form.scrollIntoView({ block: "nearest" });
    });
  }

  // The sticky header (and, on a wide screen, the sticky form) must not cover the row a link points at.
  function measure() {
    const header = document.querySelector(".bd-header-article");
    const root = document.documentElement.style;
    root.setProperty("--fc-header", `${header ? header.getBoundingClientRect().height : 0}px`);
    const sticky = window.getComputedStyle(form).position === "sticky";
    root.setProperty("--fc-offset", `${sticky ? form.getBoundingClientRect().height + 8 : 0}px`);
  }

  window.addEventListener("hashchange", () => revealTarget(false));
  window.addEventListener("resize", measure);
  load();
  form.hidden = false;
  apply();
  measure();
  revealTarget(Boolean(window.location.hash));
})();
