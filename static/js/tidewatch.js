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
