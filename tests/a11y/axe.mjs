// Runs axe-core on HTML files in the system headless Chromium and prints one JSON report.
//
// Usage: node axe.mjs page1.html [page2.html …]
// Environment: CHROMIUM (default /usr/bin/chromium), AXE_WIDTH (window width in CSS
// pixels, default 1000: a phone is 320, where wide tables scroll).
// Output (stdout): {"axe": version, "tags": [...], "pages": [{"file", "rules", "passes",
//   "violations": [{"id", "impact", "help", "nodes": [{"target", "html", "summary"}]}],
//   "incomplete": [same as violations: axe could not decide, e.g. text on an image],
//   "best_practice_rules", "best_practice_violations"}]}
// One browser serves every page, so a test run starts Chromium once.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
// axe's best practices (landmarks, heading order, one h1…) run too, reported apart.
const EXTRA = ["best-practice"];
const isWcag = (rule) => rule.tags.some((t) => TAGS.includes(t));
const brief = (v) => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.map((n) => ({ target: n.target, html: n.html.slice(0, 300),
                               summary: n.failureSummary })),
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const pages = [];
try {
  for (const file of process.argv.slice(2)) {
    const width = Number(process.env.AXE_WIDTH || 1000);
    const page = await browser.newPage({ viewport: { width, height: 1400 } });
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(
      (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags } }),
      [...TAGS, ...EXTRA]);
    const wcag = (list) => list.filter(isWcag);
    const extra = (list) => list.filter((r) => !isWcag(r));
    pages.push({
      file,
      rules: wcag(result.passes).length + wcag(result.violations).length
        + wcag(result.incomplete).length + wcag(result.inapplicable).length,
      passes: wcag(result.passes).length,
      violations: wcag(result.violations).map(brief),
      incomplete: wcag(result.incomplete).map(brief),
      best_practice_rules: extra(result.passes).length + extra(result.violations).length
        + extra(result.incomplete).length + extra(result.inapplicable).length,
      best_practice_violations: extra(result.violations).map(brief),
    });
    await page.close();
  }
} finally {
  await browser.close();
}
const axeVersion = JSON.parse(readFileSync(require.resolve("axe-core/package.json"), "utf8")).version;
process.stdout.write(JSON.stringify({ axe: axeVersion, tags: TAGS, pages }) + "\n");
