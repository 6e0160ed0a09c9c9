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

// Live parts are patched, not replaced (issue 11). A live poll's answer (a part whose root
// carries data-live) is compared with the page node by node: an element equal to its new
// version is kept as it is, a changed one is patched in place, and only what is new is
// inserted. Rows and sections are matched by data-live-key (else id), so a row that
// moved (worst first) is moved, not rebuilt. Replacing the whole part made every open tab
// parse, style and lay out the whole table again for one changed row; with 50 tabs on one
// renderer that set the page latency. What the reader holds stays: open <details>, focus,
// selection, scroll, and every unchanged node.
function liveKey(node) {
  if (!(node instanceof Element)) return null;
  return node.getAttribute("data-live-key") || node.id || null;
}

function patchAttributes(old, fresh) {
  for (const { name, value } of Array.from(fresh.attributes)) {
    if (old.getAttribute(name) !== value) old.setAttribute(name, value);
  }
  for (const { name } of Array.from(old.attributes)) {
    // "open" on <details> is the reader's, not the server's.
    if (!fresh.hasAttribute(name) && !(name === "open" && old.tagName === "DETAILS")) {
      old.removeAttribute(name);
    }
  }
}

function patchNode(old, fresh, count) {
  if (old.nodeType !== Node.ELEMENT_NODE) {
    if (old.nodeValue !== fresh.nodeValue) {
      old.nodeValue = fresh.nodeValue;
      count.texts += 1;
    }
    return;
  }
  if (old.isEqualNode(fresh)) return;
  patchAttributes(old, fresh);
  if (old.isEqualNode(fresh)) return;
  patchChildren(old, fresh, count);
}

function sameSlot(old, fresh) {
  if (!old || old.nodeType !== fresh.nodeType || liveKey(old)) return false;
  return old.nodeType !== Node.ELEMENT_NODE || old.tagName === fresh.tagName;
}

function patchChildren(old, fresh, count) {
  const keyed = new Map();
  for (const child of old.children) {
    const key = liveKey(child);
    if (key) keyed.set(key, child);
  }
  let cursor = old.firstChild; // the first old child not placed yet
  for (const next of Array.from(fresh.childNodes)) {
    const key = liveKey(next);
    let match = null;
    if (key) {
      match = keyed.get(key) || null;
      if (match && match.tagName !== next.tagName) match = null;
      if (match) keyed.delete(key);
    } else if (sameSlot(cursor, next)) {
      match = cursor;
    }
    if (!match) {
      old.insertBefore(next, cursor);
      count.inserted += 1;
      continue;
    }
    if (match === cursor) cursor = cursor.nextSibling;
    else {
      old.insertBefore(match, cursor);
      count.moved += 1;
    }
    patchNode(match, next, count);
  }
  while (cursor) {
    const after = cursor.nextSibling;
    old.removeChild(cursor);
    count.removed += 1;
    cursor = after;
  }
}

// Returns how much changed, or null when the answer is not a part this page can patch (htmx
// then swaps it as usual).
function patchLivePart(target, html, outer) {
  const template = document.createElement("template");
  template.innerHTML = html;
  let fresh = template.content;
  if (outer) {
    fresh = template.content.firstElementChild;
    if (!fresh || template.content.childElementCount !== 1 || fresh.id !== target.id) return null;
  }
  const count = { inserted: 0, removed: 0, moved: 0, texts: 0 };
  patchChildren(target, fresh, count);
  return count;
}

document.addEventListener("htmx:beforeSwap", (event) => {
  const detail = event.detail;
  const target = detail && detail.target;
  if (!(target instanceof HTMLElement) || !target.hasAttribute("data-live")) return;
  // Only the part's own poll: htmx sets detail.elt to the swap target for every request, so
  // the element that asked is read from the request (a search form's answer to typing is
  // swapped, and its URL pushed, by htmx as before).
  const asker = detail.requestConfig && detail.requestConfig.elt;
  if (asker !== target || !detail.shouldSwap || detail.xhr.status !== 200) return;
  const outer = (target.getAttribute("hx-swap") || "").startsWith("outerHTML");
  const count = patchLivePart(target, detail.serverResponse, outer);
  if (count === null) return;
  detail.shouldSwap = false;
  if (typeof htmx !== "undefined") htmx.process(target); // hx- attributes of inserted nodes
  const body = document.body;
  body.dataset.livePatched = String(Number(body.dataset.livePatched || "0") + 1);
  body.dataset.liveInserted = String(Number(body.dataset.liveInserted || "0") + count.inserted);
  // The same event a swap fires: the counters below, the <details> keeper above, the benches.
  target.dispatchEvent(
    new CustomEvent("htmx:afterSwap", { bubbles: true, detail: { target, elt: target, patched: count } }),
  );
});

// A hidden tab does not poll (above), and Chromium throttles a background tab's timers (to
// once a minute after five minutes hidden): when the reader comes back, ask at once instead of
// showing the state from when the tab was left until the next tick.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible" || typeof htmx === "undefined") return;
  document.querySelectorAll("[data-live]").forEach((part) => htmx.trigger(part, "tidewatch:visible"));
});

// How many times this page's content was replaced or patched, and when last (performance.now):
// what the browser tests and bench/live.py read to tell a re-rendered page from one left alone.
document.addEventListener("htmx:afterSwap", () => {
  const body = document.body;
  body.dataset.liveSwaps = String(Number(body.dataset.liveSwaps || "0") + 1);
  body.dataset.liveSwappedAt = String(performance.now());
});
