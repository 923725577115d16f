// Times opening a run's page in headless Chromium, for weft-bench's `ui`
// scenario: node open.mjs BASE_URL CHROMIUM WORKFLOW_ID TIMES
//
// Prints one line per opening: `open MS NEXT_PAGE_MS`, the time from the
// start of the navigation to the history table and the timeline drawn (the
// page's own clock), then the time the page takes to draw the history's
// second page after a click on its pager (measured in the page: the
// drawing is synchronous).
import { chromium } from "playwright-core";

const [base, executablePath, id, times] = process.argv.slice(2);
if (!base || !executablePath || !id || !(Number(times) > 0)) {
  console.error("usage: node open.mjs BASE_URL CHROMIUM WORKFLOW_ID TIMES");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(30000);
  for (let i = 0; i < Number(times); i++) {
    await page.goto(`${base}/run?id=${encodeURIComponent(id)}`);
    const opened = await page.evaluate(() => new Promise((resolve) => {
      const drawn = () => document.querySelector("#events tr.event") && document.querySelector("#timeline-svg");
      if (drawn()) return resolve(performance.now());
      new MutationObserver((_, observer) => {
        if (drawn()) { observer.disconnect(); resolve(performance.now()); }
      }).observe(document.body, { childList: true, subtree: true });
    }));
    const turned = await page.evaluate(() => {
      const started = performance.now();
      document.querySelector("#history .pager button:last-child").click();
      if (!document.querySelector('#events tr.event[data-event-id="201"]')) throw new Error("no second page");
      return performance.now() - started;
    });
    console.log(`open ${opened.toFixed(1)} ${turned.toFixed(1)}`);
  }
} finally {
  await browser.close();
}
