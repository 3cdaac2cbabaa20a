// pa11y (WCAG2AA) and Lighthouse (accessibility + SEO) over a list of pages, in one Chromium.
//
//   node audit.mjs pages.json results.json
//
// pages.json: {"chromium": "/usr/bin/chromium", "flags": [...], "pages": [
//   {"name": "home", "url": "http://127.0.0.1:8123/", "cookies": {"sessionid": "…"}, "lighthouse": true}]}
// results.json gets, per page name: {"pa11y": [issues], "finalUrl": …, "lighthouse": {…}}.
// Called by bench/audit.py (make audit); one browser for every page keeps the run short.
import fs from 'node:fs';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import pa11y from 'pa11y';
import puppeteer from 'puppeteer';

const [input, output] = process.argv.slice(2);
const job = JSON.parse(fs.readFileSync(input, 'utf8'));
const chrome = await chromeLauncher.launch({
  chromePath: job.chromium,
  chromeFlags: job.flags,
  logLevel: 'error',
});
const browser = await puppeteer.connect({ browserURL: `http://127.0.0.1:${chrome.port}` });
// The visitor's cookies go into the browser's own jar (Lighthouse would drop a Cookie header
// with its storage reset, which is therefore off).
const cdp = await (await browser.newPage()).createCDPSession();
const results = {};
try {
  for (const page of job.pages) {
    await cdp.send('Network.clearBrowserCookies');
    for (const [name, value] of Object.entries(page.cookies)) {
      await cdp.send('Network.setCookie', { name, value, url: page.url });
    }
    const result = (results[page.name] = { seconds: {} });
    let started = Date.now();
    try {
      const path = new URL(page.url).pathname;
      const report = await pa11y(page.url, {
        browser,
        standard: 'WCAG2AA',
        timeout: 60000,
        // A redirect (to the sign-in page, say) would audit another page: fail instead.
        actions: [`wait for path to be ${path}`],
        log: { debug() {}, info() {}, error: console.error },
      });
      result.pa11y = report.issues.filter((issue) => issue.type === 'error');
    } catch (error) {
      result.pa11y = [{ code: 'pa11y failed', message: String(error), selector: '' }];
    }
    result.seconds.pa11y = (Date.now() - started) / 1000;
    if (!page.lighthouse) continue;
    started = Date.now();
    try {
      const runner = await lighthouse(page.url, {
        port: chrome.port,
        output: 'json',
        logLevel: 'error',
        onlyCategories: ['accessibility', 'seo'],
        throttlingMethod: 'provided',
        disableStorageReset: true,
        // Only the accessibility and SEO audits are wanted: no screenshots, no waiting for a
        // quiet CPU or network after load (what the performance category would need).
        disableFullPageScreenshot: true,
        skipAboutBlank: true,
        pauseAfterFcpMs: 0,
        pauseAfterLoadMs: 0,
        networkQuietThresholdMs: 0,
        cpuQuietThresholdMs: 0,
      });
      const lhr = runner.lhr;
      result.finalUrl = lhr.finalDisplayedUrl;
      result.lighthouse = { scores: {}, failed: [] };
      for (const [key, category] of Object.entries(lhr.categories)) {
        result.lighthouse.scores[key] = Math.round((category.score ?? 0) * 100);
        for (const ref of category.auditRefs) {
          const audit = lhr.audits[ref.id];
          if (ref.weight && audit.score !== null && audit.score < 1) {
            result.lighthouse.failed.push(`${key}: ${ref.id}: ${audit.title}`);
          }
        }
      }
    } catch (error) {
      result.lighthouse = { error: String(error) };
    }
    result.seconds.lighthouse = (Date.now() - started) / 1000;
  }
} finally {
  fs.writeFileSync(output, JSON.stringify(results, null, 1));
  await browser.disconnect();
  await chrome.kill();
}
