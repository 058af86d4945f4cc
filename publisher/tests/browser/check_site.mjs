// Browser test of a rendered sglci site in headless Chromium (driven by playwright-core).
//
// usage: node check_site.mjs BASE_URL SITE_DIR SHOT_DIR
//
// Loads every HTML page of SITE_DIR from BASE_URL and fails on any console error, page error or
// failed request (4xx/5xx included). Then, on the home page, a model page and a run page, takes
// screenshots, checks they are not blank and that the charts were drawn, and hovers a chart point
// to check its tooltip. Prints one JSON summary line; exit code 0 only when everything passed.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const [base, siteDir, shotDir] = process.argv.slice(2);
if (!base || !siteDir || !shotDir) {
  console.error("usage: node check_site.mjs BASE_URL SITE_DIR SHOT_DIR");
  process.exit(2);
}
fs.mkdirSync(shotDir, { recursive: true });

function htmlPages(dir, rel = "") {
  const out = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...htmlPages(dir, r));
    else if (e.name.endsWith(".html")) out.push(r);
  }
  return out.sort();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const problems = [];
const page = await context.newPage();
let current = "";
page.on("console", (m) => { if (m.type() === "error") problems.push(`${current}: console error: ${m.text()}`); });
page.on("pageerror", (e) => problems.push(`${current}: page error: ${e.message}`));
page.on("requestfailed", (r) => problems.push(`${current}: request failed: ${r.url()} ${r.failure()?.errorText}`));
page.on("response", (r) => { if (r.status() >= 400) problems.push(`${current}: HTTP ${r.status()} ${r.url()}`); });
page.on("request", (r) => {
  if (!r.url().startsWith(base) && !r.url().startsWith("data:")) problems.push(`${current}: external request ${r.url()}`);
});

const pages = htmlPages(siteDir);
// Wait for the images in view to finish, so that leaving the page aborts nothing.
async function settle() {
  await page.evaluate(() => Promise.all([...document.images]
    .filter((i) => !i.complete && !i.hidden && i.getBoundingClientRect().top < innerHeight)
    .map((i) => new Promise((r) => { i.onload = i.onerror = r; }))));
}
for (const p of pages) {
  current = p;
  await page.goto(`${base}${p}`, { waitUntil: "load" });
  await settle();
}

// Screenshot a page, check it is not blank (many distinct colours), and count drawn charts.
async function shoot(rel, name) {
  current = rel;
  await page.goto(`${base}${rel}`, { waitUntil: "load" });
  await settle();
  const file = path.join(shotDir, `${name}.png`);
  const png = await page.screenshot({ path: file, fullPage: false });
  const charts = await page.locator("svg.ichart").count();
  const points = await page.locator("svg.ichart circle.point").count();
  return { rel, file, bytes: png.length, charts, points };
}

// The model page with the most data, and a run page with serving results.
const model = pages.filter((p) => p.startsWith("models/"))
  .sort((a, b) => fs.statSync(path.join(siteDir, b)).size - fs.statSync(path.join(siteDir, a)).size)[0];
const run = pages.find((p) => p.startsWith("runs/") && fs.readFileSync(path.join(siteDir, p), "utf8").includes("Serving ("));
// A recorded A/B comparison's page, reached from the home page through the A/B index.
const ab = pages.find((p) => p.startsWith("ab/") && p !== "ab/index.html");
const shots = [await shoot("index.html", "home")];
if (model) shots.push(await shoot(model, "model"));
if (run) shots.push(await shoot(run, "run"));
let abVerdicts = [];
if (ab) {
  current = "index.html";
  await page.goto(`${base}index.html`, { waitUntil: "load" });
  await page.getByRole("link", { name: "A/B comparisons" }).click();
  await page.waitForLoadState("load");
  await page.locator(`a[href$="${path.basename(ab)}"]`).first().click();
  await page.waitForLoadState("load");
  current = ab;
  if (!page.url().endsWith(ab)) problems.push(`the A/B index does not lead to ${ab} (at ${page.url()})`);
  abVerdicts = await page.locator("li.ab-verdict").allInnerTexts();
  if (abVerdicts.length === 0) problems.push(`${ab}: no verdict shown`);
  shots.push(await shoot(ab, "ab"));
} else {
  problems.push("no A/B compare page");
}
for (const s of shots) {
  if (s.bytes < 20000) problems.push(`${s.rel}: screenshot looks blank (${s.bytes} bytes)`);
}
const modelShot = shots.find((s) => s.rel === model);
if (!model) problems.push("no model page");
else if (modelShot.charts === 0 || modelShot.points === 0) problems.push(`${model}: no interactive chart drawn`);

// Hover the first point of the model page's first chart: the tooltip shows value, night and image.
let tooltip = "";
if (model) {
  current = model;
  await page.goto(`${base}${model}`, { waitUntil: "load" });
  const point = page.locator("svg.ichart circle.point").first();
  await point.scrollIntoViewIfNeeded();
  await point.hover();
  const tip = page.locator("figure.chart .tooltip:not([hidden])").first();
  await tip.waitFor({ state: "visible", timeout: 5000 }).catch(() => {});
  tooltip = (await tip.count()) ? await tip.innerText() : "";
  if (!/\d{4}-\d{2}-\d{2}/.test(tooltip)) problems.push(`${model}: hovering a point shows no tooltip with a night (got ${JSON.stringify(tooltip)})`);
  await page.screenshot({ path: path.join(shotDir, "model-hover.png") });
  // Toggling a series hides its points.
  const before = await page.locator("svg.ichart").first().locator("circle.point").count();
  await page.locator("figure.chart .legend button").first().click();
  const after = await page.locator("svg.ichart").first().locator("circle.point").count();
  if (!(after < before)) problems.push(`${model}: toggling a series did not hide its points (${before} → ${after})`);
}

// Without JavaScript the charts fall back to their static SVG, which loads.
const noJs = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
const plain = await noJs.newPage();
let staticPlots = 0;
if (model) {
  await plain.goto(`${base}${model}`, { waitUntil: "load" });
  const first = plain.locator("img.static-plot").first();
  await first.scrollIntoViewIfNeeded();
  await plain.waitForFunction(() => { const i = document.querySelector("img.static-plot"); return i && i.complete; });
  staticPlots = await plain.locator("img.static-plot").count();
  const width = await first.evaluate((i) => i.naturalWidth);
  if (!(staticPlots > 0 && width > 0)) problems.push(`${model}: without JavaScript no static plot shows (${staticPlots} images, width ${width})`);
  await plain.screenshot({ path: path.join(shotDir, "model-nojs.png") });
}

await browser.close();
console.log(JSON.stringify({ pages: pages.length, shots, tooltip, staticPlots, abVerdicts, problems }));
process.exit(problems.length ? 1 : 0);
