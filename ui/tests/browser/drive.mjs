// Drives headless Chromium over a weft web view that ui/tests/browser.rs
// serves: node drive.mjs BASE_URL CHROMIUM SCREENSHOT_PATH
//
// It talks to the Rust test in lines: `step NAME` as it goes, `ask WHAT ID`
// where the Rust side must act on the store (it answers one line on stdin),
// `figure NAME VALUE` for what it measured on the way (printed, not
// checked), and `done` at the end. Any failed check throws: the process exits 1 with
// the reason on stderr.
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

const [base, executablePath, screenshot] = process.argv.slice(2);
if (!base || !executablePath || !screenshot) {
  console.error("usage: node drive.mjs BASE_URL CHROMIUM SCREENSHOT_PATH");
  process.exit(2);
}

const answers = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function ask(what, id) {
  console.log(`ask ${what} ${id}`);
  const { value, done } = await answers.next();
  if (done || value.trim() !== "ok") throw new Error(`the test answered ${JSON.stringify(value)} to ${what} ${id}`);
}
const step = (name) => console.log(`step ${name}`);

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function same(actual, expected, what) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  check(a === e, `${what}: expected ${e}, got ${a}`);
}

// Playwright gives each launch a fresh profile of its own, removed on close.
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(e.message));
page.setDefaultTimeout(15000);

const rowIds = () => page.$$eval("#runs tr.run", (rows) => rows.map((r) => r.dataset.workflowId));
async function waitForRows(expected, what) {
  try {
    await page.waitForFunction((ids) => {
      const rows = [...document.querySelectorAll("#runs tr.run")].map((r) => r.dataset.workflowId);
      return JSON.stringify(rows) === JSON.stringify(ids);
    }, expected, { timeout: 10000 });
  } catch (_) {
    same(await rowIds(), expected, what);
  }
}
const lanes = () => page.$$eval("#timeline-svg g.lane", (gs) => gs.map((g) => ({
  kind: g.dataset.kind,
  outcome: g.dataset.outcome,
  bars: g.querySelectorAll("rect.bar").length,
  barOutcome: [...g.querySelector("rect.bar").classList].filter((c) => c !== "bar")[0],
  attempts: (g.querySelector("text.attempts") || {}).textContent || "",
})));
const fact = (name) => page.$eval(`dd[data-fact="${name}"]`, (dd) => dd.textContent);

try {
  // The list: newest first, with counts by status.
  step("list");
  await page.goto(`${base}/`);
  await page.waitForSelector("#runs tr.run");
  same(await rowIds(), ["waiter-1", "doomed-1", "greet-hostile", "greet-bob", "greet-ada"], "the list, newest first");
  same(await page.$eval('#counts [data-count="all"]', (b) => b.textContent), "all 5", "the count of all runs");
  same(await page.$eval('#counts [data-count="completed"]', (b) => b.textContent), "completed 3", "completed runs");

  // Filters: by status (the select submits on change), type, id prefix.
  step("filter");
  await page.selectOption("#filters select[name=status]", "failed");
  await waitForRows(["doomed-1"], "filtered by status failed");
  check(new URL(page.url()).searchParams.get("status") === "failed", `the filter is in the address: ${page.url()}`);
  await page.selectOption("#filters select[name=status]", "");
  await waitForRows(["waiter-1", "doomed-1", "greet-hostile", "greet-bob", "greet-ada"], "no status filter");
  await page.fill("#filters input[name=type]", "greet");
  await page.fill("#filters input[name=prefix]", "greet-b");
  await page.click("#filters button[type=submit]");
  await waitForRows(["greet-bob"], "filtered by type greet and prefix greet-b");
  await page.goBack();
  await waitForRows(["waiter-1", "doomed-1", "greet-hostile", "greet-bob", "greet-ada"], "back to the whole list");
  await page.click('#counts [data-count="running"]');
  await waitForRows(["waiter-1"], "the running count as a filter");
  await page.goto(`${base}/?prefix=nobody`);
  await page.waitForSelector("#empty");

  // A run: facts, result, and one lane per activity and timer with its outcome.
  step("run");
  await page.goto(`${base}/`);
  await page.click('#runs tr[data-workflow-id="greet-ada"] a');
  await page.waitForSelector("#timeline-svg");
  same(await fact("status"), "completed", "greet-ada's status");
  same(await page.$eval("#outcome pre", (p) => JSON.parse(p.textContent)), "ADA after 3 attempts", "greet-ada's result");
  same(await lanes(), [
    { kind: "activity", outcome: "completed", bars: 1, barOutcome: "completed", attempts: "" },
    { kind: "activity", outcome: "completed", bars: 1, barOutcome: "completed", attempts: "×3" },
    { kind: "timer", outcome: "fired", bars: 1, barOutcome: "fired", attempts: "" },
  ], "greet-ada's timeline");
  check((await page.$$("#timeline-svg g.axis text")).length >= 2, "the time axis is labelled");
  // The history table: rows expand to JSON, the type filter narrows them.
  await page.waitForSelector("#events tr.event");
  const events = (await page.$$("#events tr.event")).length;
  check(events >= 10, `greet-ada's history has ${events} rows`);
  await page.click('#events tr.event[data-event-id="1"]');
  const first = await page.$eval("#events tr.event-json pre", (p) => JSON.parse(p.textContent));
  same([first.event_id, first.event_type], [1, "WorkflowExecutionStarted"], "the first event's JSON");
  await page.selectOption("#event-type", "ActivityTaskScheduled");
  same(await page.$$eval("#events tr.event", (rows) => rows.map((r) => r.dataset.eventType)),
    ["ActivityTaskScheduled", "ActivityTaskScheduled"], "the history filtered by event type");
  const download = await page.$eval("#download", (a) => a.href);
  check(new URL(download).searchParams.get("download") === "1", `the download link: ${download}`);
  await page.selectOption("#event-type", "");
  await page.screenshot({ path: screenshot, fullPage: true });

  // A failed run: the failure and its cause, the activity's bar in red.
  step("failed run");
  await page.goto(`${base}/run?id=doomed-1`);
  await page.waitForSelector("#timeline-svg");
  same(await fact("status"), "failed", "doomed-1's status");
  const failure = await page.$eval("#outcome .failure ol", (ol) => ol.textContent);
  check(failure.includes("the service is down"), `doomed-1's failure shows its cause: ${failure}`);
  same((await lanes()).map((l) => [l.kind, l.outcome, l.attempts]), [["activity", "failed", "×3"]], "doomed-1's timeline");

  // Hostile input is text: no script ran, no element was made of it.
  step("hostile input");
  await page.goto(`${base}/run?id=greet-hostile`);
  await page.waitForSelector("#input pre");
  same(await page.$eval("#input pre", (p) => JSON.parse(p.textContent)),
    "<script>window.__weft_xss = 1</script><img src=x onerror=\"window.__weft_xss = 2\">", "the hostile input as text");
  await page.waitForSelector("#events tr.event");
  same(await page.evaluate(() => window.__weft_xss), undefined, "no injected script ran");
  same(await page.$$eval("main img, main script", (n) => n.length), 0, "no injected elements");

  // A run of 10 001 events opens at once: its history a page at a time, its timeline cut short.
  step("long history");
  await ask("long", "long-1");
  const opening = Date.now();
  await page.goto(`${base}/run?id=long-1`);
  await page.waitForSelector("#events tr.event");
  await page.waitForSelector("#timeline-svg");
  const opened = Date.now() - opening;
  same((await page.$$("#events tr.event")).length, 200, "the first page of long-1's history");
  same(await page.$eval("#history-page", (s) => s.textContent), "page 1 of 51", "long-1's history pages");
  same((await lanes()).length, 300, "long-1's timeline lanes drawn");
  const legend = await page.$eval("#timeline .legend", (l) => l.textContent);
  check(legend.includes("showing the first 300 of 3333 lanes"), `long-1's legend: ${legend}`);
  const turning = Date.now();
  await page.click("#history .pager button:last-child");
  await page.waitForSelector('#events tr.event[data-event-id="201"]');
  same(await page.$eval("#history-page", (s) => s.textContent), "page 2 of 51", "long-1's next page");
  console.log(`figure long-history-open-ms ${opened}`);
  console.log(`figure long-history-next-page-ms ${Date.now() - turning}`);

  // A running workflow's page follows it without a reload.
  step("live");
  await page.goto(`${base}/run?id=waiter-1`);
  await page.waitForSelector("#timeline");
  await page.waitForSelector("#live:not([hidden])");
  same(await fact("status"), "running", "waiter-1's status");
  same((await lanes()).length, 0, "waiter-1 has run no activity yet");
  await page.evaluate(() => { window.__weft_same_page = true; });
  const before = (await page.$$("#events tr.event")).length;
  await ask("signal", "waiter-1");
  await page.waitForSelector('#timeline-svg g.lane[data-kind="activity"][data-outcome="completed"]');
  check(await page.evaluate(() => window.__weft_same_page === true), "the page updated without a reload");
  await page.waitForFunction((n) => document.querySelectorAll("#events tr.event").length > n, before);

  // Cancel from the page: confirm the prompt, and the page shows the run closed.
  step("cancel");
  page.once("dialog", (dialog) => {
    check(dialog.type() === "prompt", `a ${dialog.type()} dialog`);
    dialog.accept("enough, said the browser test");
  });
  await page.click("#actions #cancel");
  await page.waitForSelector("#action-result.notice");
  await page.waitForFunction(() => {
    const dd = document.querySelector('dd[data-fact="status"]');
    return dd && dd.textContent === "canceled";
  });
  await page.waitForSelector("#live[hidden]", { state: "attached" });
  same(await page.$$("#actions button").then((b) => b.length), 0, "a closed run offers no actions");
  await ask("canceled", "waiter-1");

  same(pageErrors, [], "errors thrown in the page");
  console.log("done");
} catch (error) {
  console.error(`the browser test failed: ${error.message}`);
  try {
    await page.screenshot({ path: `${screenshot}.failure.png`, fullPage: true });
    console.error(`the page as it was: ${screenshot}.failure.png`);
  } catch (_) { /* no page to show */ }
  process.exitCode = 1;
} finally {
  await browser.close();
}
process.exit(process.exitCode || 0);
