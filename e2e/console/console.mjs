// The data console in a real browser: Playwright (playwright-core) driving
// Debian's Chromium. starter/console_browser_test.go starts `starter dev`
// and runs it as
//
//   node console.mjs '<JSON: {"url", "out", "date", "artist": {"id", "name", "dates"}}>'
//
// It loads every route (/login too), pages back through the grid, follows the grid to a date and on to its run in the
// Temporal Web UI, searches the artist with the nav's form and opens its
// page, checks that each chart has one point per date with data, saves a
// screenshot of every page in out, and fails on any console error, page
// error or failed request (a request that fails, or answers 400 or more)
// of the console's own pages. It never downloads a browser.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = JSON.parse(process.argv[2] ?? '{}');
for (const key of ['url', 'out', 'date', 'artist']) {
  if (!args[key]) {
    console.error(`console.mjs: missing "${key}" in the JSON argument`);
    process.exit(2);
  }
}
const base = new URL(args.url);
const failures = [];
const fail = (what) => {
  failures.push(what);
  console.error('FAIL ' + what);
};
const isConsole = (url) => {
  try {
    return new URL(url).origin === base.origin;
  } catch {
    return false;
  }
};

// A fresh profile every run: nothing cached from an earlier one.
const profile = mkdtempSync(join(tmpdir(), 'metronome-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
  ],
  viewport: { width: 1280, height: 900 },
});

// Errors of the console's pages; the Web UI may log its own noise.
const watch = (page) => {
  page.on('console', (msg) => {
    if (msg.type() === 'error' && isConsole(page.url())) {
      fail(`console error on ${page.url()}: ${msg.text()} (${msg.location().url ?? ''})`);
    }
  });
  page.on('pageerror', (err) => {
    if (isConsole(page.url())) fail(`page error on ${page.url()}: ${err.message}`);
  });
};
context.on('requestfailed', (req) => {
  if (isConsole(req.url())) fail(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
});
context.on('response', (res) => {
  if (isConsole(res.url()) && res.status() >= 400) fail(`${res.status()} for ${res.request().method()} ${res.url()}`);
});

let shot = 0;
const screenshot = async (page, name) => {
  shot++;
  const file = join(args.out, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
};

// expectPage checks the marker every page has, the nav, and the page's own
// markers (CSS selectors that must match).
const expectPage = async (page, kind, selectors = []) => {
  const main = page.locator('main#page');
  const got = (await main.count()) ? await main.getAttribute('data-page') : null;
  if (got !== kind) fail(`${page.url()}: main#page data-page=${got}, want ${kind}`);
  for (const sel of ['nav#nav a[href="/"]', 'nav#nav a[href="/runs"]', 'nav#nav a[href="/quality"]',
    'form#artist-search[action="/artists"] input[name="q"]', ...selectors]) {
    if ((await page.locator(sel).count()) === 0) fail(`${page.url()}: no ${sel}`);
  }
};

const open = async (page, path) => {
  const res = await page.goto(new URL(path, base).href, { waitUntil: 'load' });
  if (!res || res.status() !== 200) fail(`GET ${path}: status ${res?.status()}`);
  return res;
};

// checkChart compares a chart's points with the dates that have data.
const checkChart = async (page, id, want) => {
  const svg = page.locator(`svg#${id}`);
  if ((await svg.count()) === 0) return fail(`${page.url()}: no svg#${id}`);
  const points = await svg.getAttribute('data-points');
  const dates = await svg.locator('circle.point').evaluateAll((cs) => cs.map((c) => c.getAttribute('data-date')));
  if (Number(points) !== want.length) fail(`svg#${id} data-points=${points}, want ${want.length} (dates ${want})`);
  const sorted = [...dates].sort();
  if (JSON.stringify(sorted) !== JSON.stringify([...want].sort())) {
    fail(`svg#${id}: points on ${sorted.join(',')}, want one on each of ${[...want].sort().join(',')}`);
  }
};

const page = context.pages()[0] ?? await context.newPage();
watch(page);
const date = args.date;
const artist = args.artist;
try {
  // The grid, and from it the date.
  await open(page, '/');
  await expectPage(page, 'partitions', ['table#partitions', `table#partitions tr[data-date="${date}"]`,
    'table#partitions td.cell']);
  await screenshot(page, 'partitions');
  const cellLink = page.locator(`table#partitions a[href="/dates/${date}"]`).first();
  if ((await cellLink.count()) === 0) {
    fail(`/: no link to /dates/${date} in the grid`);
    await open(page, `/dates/${date}`);
  } else {
    await Promise.all([page.waitForURL(`**/dates/${date}`), cellLink.click()]);
  }
  await expectPage(page, 'date', ['section#manifest', 'table#quality-report', 'table#raw-objects', 'a#temporal-run']);
  await screenshot(page, 'date');

  // The run that wrote the manifest, in the Temporal Web UI.
  const runLink = page.locator('a#temporal-run');
  if (await runLink.count()) {
    const href = await runLink.getAttribute('href');
    const ui = await context.newPage();
    watch(ui);
    const res = await ui.goto(href, { waitUntil: 'load' });
    if (!res || res.status() >= 400) fail(`Web UI ${href}: status ${res?.status()}`);
    try {
      await ui.getByText(`pipeline-${date}`).first().waitFor({ timeout: 30_000 });
    } catch {
      fail(`Web UI ${href}: the page never named the workflow pipeline-${date}`);
    }
    await screenshot(ui, 'temporal-web-ui');
    await ui.close();
  }

  await open(page, '/runs');
  await expectPage(page, 'runs', ['section#freshness', 'section#schedules', 'section#running', 'section#failures']);
  await screenshot(page, 'runs');

  await open(page, '/quality');
  await expectPage(page, 'quality', ['svg#rejects-chart']);
  await screenshot(page, 'quality');

  await open(page, `/quality/${date}`);
  await expectPage(page, 'quality-date', ['table#quarantine']);
  await screenshot(page, 'quality-date');

  // Paging back through the grid, and the login page (open here, it says so).
  await open(page, '/');
  const older = page.locator('a#older');
  if (await older.count()) {
    await Promise.all([page.waitForURL('**/?before=*'), older.click()]);
    await expectPage(page, 'partitions', ['table#partitions']);
  } else {
    fail('/: no a#older to page back');
  }
  await open(page, '/login');
  await expectPage(page, 'login');
  await screenshot(page, 'login');

  // Search with the nav's form, then open the artist.
  await open(page, '/');
  await page.locator('form#artist-search input[name="q"]').fill(artist.name);
  await Promise.all([page.waitForURL('**/artists?q=*'), page.locator('form#artist-search input[name="q"]').press('Enter')]);
  await expectPage(page, 'artists', ['ul#artist-results', `ul#artist-results li a[href="/artists/${artist.id}"]`]);
  await screenshot(page, 'artists');
  const result = page.locator(`ul#artist-results li a[href="/artists/${artist.id}"]`).first();
  if (await result.count()) {
    await Promise.all([page.waitForURL(`**/artists/${artist.id}`), result.click()]);
  } else {
    await open(page, `/artists/${artist.id}`);
  }
  await expectPage(page, 'artist', ['h1#artist-name', 'svg#popularity-chart', 'svg#followers-chart',
    'svg#discography-timeline', 'ul#similar-artists']);
  const name = (await page.locator('h1#artist-name').textContent())?.trim();
  if (name !== artist.name) fail(`/artists/${artist.id}: h1#artist-name "${name}", want "${artist.name}"`);
  if ((await page.locator('section#top-tracks, section#releases').count()) === 0) {
    fail(`/artists/${artist.id}: neither section#top-tracks nor section#releases`);
  }
  await checkChart(page, 'popularity-chart', artist.dates);
  await checkChart(page, 'followers-chart', artist.dates);
  await screenshot(page, 'artist');

  // A similar artist's page opens from its link.
  const similar = page.locator('ul#similar-artists a[href^="/artists/"]').first();
  if (await similar.count()) {
    await Promise.all([page.waitForURL('**/artists/*'), similar.click()]);
    await expectPage(page, 'artist', ['h1#artist-name']);
    await screenshot(page, 'similar-artist');
  }
} catch (err) {
  fail(`the script stopped: ${err.stack ?? err}`);
} finally {
  writeFileSync(join(args.out, 'failures.json'), JSON.stringify(failures, null, 2));
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`${shot} screenshots in ${args.out}; ${failures.length} failures`);
process.exit(failures.length ? 1 : 0);
