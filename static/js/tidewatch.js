// Keyboard: "/" focuses the search box (or opens search), like most dashboards.
// A static file rather than inline script, so a strict Content-Security-Policy can apply.
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof HTMLElement && target.closest("input, textarea, select, [contenteditable]")) return;
  event.preventDefault();
  const box = document.querySelector("[data-search-box]");
  if (box) box.focus();
  else window.location.href = "/search";
});

// A refreshed part keeps the <details data-key> blocks the reader opened: without this every
// HTMX refresh would snap them shut. (Here, not in hx-on attributes: no inline script.)
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  if (!(target instanceof HTMLElement) || !target.hasAttribute("data-keep-open")) return;
  const open = Array.from(target.querySelectorAll("details[open][data-key]"), (d) => d.dataset.key);
  target.dataset.open = JSON.stringify(open);
});
document.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target;
  if (!(target instanceof HTMLElement) || !target.hasAttribute("data-keep-open")) return;
  const open = JSON.parse(target.dataset.open || "[]");
  target.querySelectorAll("details[data-key]").forEach((d) => {
    if (open.includes(d.dataset.key)) d.open = true;
  });
});

// Live refresh pauses while the tab is hidden. Pages poll with a plain hx-trigger="every Ns":
// htmx's bracket filters ([document.visibilityState === 'visible']) are evaluated JavaScript,
// which the Content-Security-Policy forbids (no 'unsafe-eval'; htmx runs with allowEval off).
// So polls are cancelled here instead; the next one after the tab shows again refreshes it.
document.addEventListener("htmx:beforeRequest", (event) => {
  if (document.visibilityState === "visible") return;
  const elt = event.detail && event.detail.elt;
  const trigger = elt instanceof Element ? elt.getAttribute("hx-trigger") || "" : "";
  if (/(^|,)\s*every\s/.test(trigger)) event.preventDefault();
});

// Live updates (dashboard/changes.py). A poll answered 204 with an X-Tidewatch-Since header
// means "the store moved, not what this page shows": nothing is swapped, and the page carries
// the new token, so its next poll is the one-query check again instead of a fingerprint.
document.addEventListener("htmx:afterRequest", (event) => {
  const xhr = event.detail && event.detail.xhr;
  const elt = event.detail && event.detail.elt;
  if (!xhr || xhr.status !== 204 || !(elt instanceof Element)) return;
  const token = xhr.getResponseHeader("X-Tidewatch-Since");
  const holder = elt.querySelector("[data-live-since]");
  if (token && holder instanceof HTMLInputElement) holder.value = token;
});

// How many times this page's content was replaced, and when last (performance.now): what the
// browser tests and bench/live.py read to tell a re-rendered page from one left alone.
document.addEventListener("htmx:afterSwap", () => {
  const body = document.body;
  body.dataset.liveSwaps = String(Number(body.dataset.liveSwaps || "0") + 1);
  body.dataset.liveSwappedAt = String(performance.now());
});
