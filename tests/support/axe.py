"""axe-core (vendored, see vendor/README.md) run inside a page under test, WCAG 2.2 A/AA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE_VERSION = "4.10.3"
AXE_SOURCE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# Playwright's evaluate() runs through the DevTools protocol, which the page's CSP does not
# govern, so axe needs no `bypass_csp` context: the pages stay under their real CSP (and the
# console watchers still catch a page that breaks it).
_RUN = """async (options) => {
  // Let entrance animations finish: half-faded text would be judged on a wrong colour.
  // Endless ones (a pulsing "live" dot) never finish, so only finite ones, and never long.
  const finite = document.getAnimations()
    .filter((a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity);
  const settled = Promise.all(finite.map((a) => a.finished.catch(() => null)));
  await Promise.race([settled, new Promise((done) => setTimeout(done, 3000))]);
  const result = await axe.run(document, options);
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
  }));
}"""


async def axe_violations(page: Page, rules: list[str] | None = None) -> list[dict[str, Any]]:
    """The page's WCAG 2.2 A/AA violations now (or only those of `rules`)."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(AXE_SOURCE.read_text(encoding="utf-8") + "\n;0")
    options: dict[str, Any] = {"runOnly": {"type": "tag", "values": WCAG_TAGS}}
    if rules:
        options = {"runOnly": {"type": "rule", "values": rules}}
    options["resultTypes"] = ["violations"]
    return await page.evaluate(_RUN, options)


def describe(state: str, violations: list[dict[str, Any]]) -> str:
    """Violations as lines a person can act on: rule, impact, help, and where."""
    lines = []
    for v in violations:
        lines.append(f"[{state}] {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:6]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"    at {node['target']}: {summary[:300]}")
        if len(v["nodes"]) > 6:
            lines.append(f"    … and {len(v['nodes']) - 6} more")
    return "\n".join(lines)


class Audit:
    """Collects violations across a journey, so one run reports every failing state at once."""

    def __init__(self) -> None:
        self.checked: list[str] = []
        self.found: list[tuple[str, list[dict[str, Any]]]] = []

    async def check(self, page: Page, state: str, rules: list[str] | None = None) -> None:
        violations = await axe_violations(page, rules)
        self.checked.append(state)
        if violations:
            self.found.append((state, violations))

    def assert_clean(self) -> None:
        assert self.checked, "no page state was checked"
        report = "\n".join(describe(state, violations) for state, violations in self.found)
        assert not self.found, f"axe {AXE_VERSION} found WCAG 2.2 A/AA violations:\n{report}"
