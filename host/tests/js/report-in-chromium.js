// Opens an owbench report.html in headless Chromium (Debian's, driven by playwright-core)
// and checks that it loads with no console errors, no page errors, no network requests,
// and that every chart is drawn: an SVG of real size with axes text and plotted shapes.
// Env: REPORT (path), EXPECT_CHARTS (count), SCREENSHOT (path), CHROMIUM (binary).
const { chromium } = require('playwright-core');

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) problems.push(`network request: ${r.url()}`);
  });
  await page.goto('file://' + process.env.REPORT, { waitUntil: 'load' });
  const charts = await page.$$eval('figure.chart', (figures) => figures.map((f) => {
    const svg = f.querySelector('svg');
    if (!svg) return { id: f.dataset.chart, why: 'no svg' };
    const box = svg.getBoundingClientRect();
    // The first rect is the background; plotted data are polylines (lines) or rects (bars).
    const polylines = [...svg.querySelectorAll('polyline')]
      .filter((p) => (p.getAttribute('points') || '').trim().split(/\s+/).length >= 2);
    const rects = [...svg.querySelectorAll('rect')].slice(1)
      .filter((r) => r.getBBox().width > 0 && r.getBBox().height > 0);
    const texts = [...svg.querySelectorAll('text')].filter((t) => t.getBBox().width > 0);
    return {
      id: f.dataset.chart,
      width: box.width,
      height: box.height,
      plotted: polylines.length + rects.length,
      texts: texts.length,
    };
  }));
  const chartErrors = await page.$$eval('.chart-error', (e) => e.length);
  await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  await browser.close();

  const expected = Number(process.env.EXPECT_CHARTS);
  if (charts.length !== expected) problems.push(`${charts.length} charts, expected ${expected}`);
  if (chartErrors > 0) problems.push(`${chartErrors} chart(s) could not be drawn`);
  for (const c of charts) {
    if (c.why) problems.push(`chart ${c.id}: ${c.why}`);
    else if (c.width < 200 || c.height < 100) problems.push(`chart ${c.id}: ${c.width}x${c.height}`);
    else if (c.plotted < 2) problems.push(`chart ${c.id}: nothing plotted`);
    else if (c.texts < 4) problems.push(`chart ${c.id}: no axis labels`);
  }
  console.log(JSON.stringify(charts));
  if (problems.length > 0) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
  console.log('every chart drawn');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
