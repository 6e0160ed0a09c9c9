"""Shared by the browser tests that must see Content-Security-Policy violations."""

from __future__ import annotations

# Records every violation the browser reports, before any page script runs (Playwright's init
# scripts are not subject to the page's CSP). Read back with page.evaluate("window.__csp").
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""
