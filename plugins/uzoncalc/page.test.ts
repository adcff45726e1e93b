// The /calc page end to end in headless Chromium (Debian's chromium, driven by playwright-core) on a real port.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Bunker } from "bunker/core";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { calcBunker } from "./testing";

let root: string;
let bunker: Bunker;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "uzoncalc-page-"));
  // The shipped configuration: the isolated executor, sandboxed by liteboxd, on the example sheets.
  bunker = await calcBunker({ name: "default", executor: "isolated", sandbox: true }, join(root, "data"), {}, { host: "127.0.0.1", port: 0 });
  await bunker.listen();
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => {
    // Script errors and CSP refusals; failed fetches (the 400 of the validation step, the favicon) are expected.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) pageErrors.push(m.text());
  });
});

afterAll(async () => {
  await browser?.close();
  await bunker?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("the /calc page", () => {
  test("lists the example sheets, runs the beam sheet through two windows, shows a validation error, and renders the report", async () => {
    await page.goto(`${bunker.baseUrl}/calc`);
    await page.locator('button.fn[data-func="beam"]').click();
    await page.locator("#params").fill('{"span": 6, "project": "Hall <A>"}');
    await page.locator("#start").click();

    await page.waitForFunction(() => document.getElementById("window-title")?.textContent === "Section and material");
    await page.locator("#f-section").selectOption("IPE300");
    await page.locator("#f-grade").selectOption("S275");
    await page.locator("#submit").click();

    await page.waitForFunction(() => document.getElementById("window-title")?.textContent === "Loads");
    expect(await page.locator("#report").innerHTML()).toContain("<td>IPE 300</td>");
    // Submit without the required load: the message appears next to the field and the window stays.
    await page.locator("#submit").click();
    const error = page.locator('[data-error-for="q"]');
    await page.waitForFunction(() => document.querySelector('[data-error-for="q"]')?.textContent !== "");
    expect(await error.textContent()).toBe("Distributed load is required");
    expect(await page.locator("#status").textContent()).toBe("waiting input");
    if (process.env.UZONCALC_SCREENSHOT) await page.screenshot({ path: `${process.env.UZONCALC_SCREENSHOT}.form.png`, fullPage: true });

    await page.locator("#f-q").fill("12.5");
    await page.locator('input[name="checks"][value="shear"]').uncheck();
    await page.locator("#f-note").fill("Checked by <script>alert(1)</script>");
    await page.locator("#submit").click();
    await page.waitForSelector("#status.completed");

    const report = page.locator("#report");
    expect(await report.locator("h2").textContent()).toBe("Beam check — Hall <A>");
    expect(await report.textContent()).toContain("The beam passes");
    expect(await report.textContent()).toContain("Checked by <script>alert(1)</script>");
    expect(await report.locator("script").count()).toBe(0);
    expect(await report.locator("table").last().locator("tr").count()).toBe(3); // header, bending, deflection (shear unchecked)
    expect(await page.locator("#window").isVisible()).toBe(false);
    expect(await page.locator("#result pre").textContent()).toContain('"ok": true');

    const shot = join(root, "report.png");
    await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.length).toBeGreaterThan(20_000);
    if (process.env.UZONCALC_SCREENSHOT) Bun.write(process.env.UZONCALC_SCREENSHOT, png);

    // The session's address reopens the finished report.
    await page.reload();
    await page.waitForSelector("#status.completed");
    expect(await page.locator("#report").textContent()).toContain("The beam passes");
    expect(pageErrors).toEqual([]);
  });
});
