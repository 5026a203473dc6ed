// Runs the three bundled pages (dist/, from build.mjs) in headless Chromium: each must load
// its own copy of the .wasm, decrypt the sops 3.11 vector to the expected bytes, round-trip
// an encryption and reject a tampered file with MAC_MISMATCH.
// Usage: node --test   (after node build.mjs; CHROMIUM overrides /usr/bin/chromium)

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer } from "./server.js";

const here = dirname(fileURLToPath(import.meta.url));
const vectors = join(here, "../../tests/vectors");

let server;
let browser; // a BrowserContext
let profile;

before(async () => {
  server = await startServer({
    "/vectors/": vectors,
    "/vite/": join(here, "dist/vite"),
    "/webpack/": join(here, "dist/webpack"),
    "/esbuild/": join(here, "dist/esbuild"),
  });
  profile = await mkdtemp(join(tmpdir(), "leafcrypt-chromium-"));
  // A persistent context is how Playwright takes a fresh --user-data-dir of our own.
  browser = await chromium.launchPersistentContext(profile, {
    headless: true,
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 60_000,
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

for (const bundler of ["vite", "webpack", "esbuild"]) {
  test(`${bundler} bundle decrypts, encrypts and detects tampering in Chromium`, async () => {
    const page = await browser.newPage();
    const problems = [];
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console.${m.type()}: ${m.text()}`);
    });
    const wasmLoads = [];
    page.on("response", (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
      if (r.url().endsWith(".wasm")) wasmLoads.push({ url: r.url(), status: r.status(), type: r.headers()["content-type"] });
    });
    try {
      await page.goto(`${server.origin}/${bundler}/index.html`);
      const result = await page.evaluate(() => window.leafcryptResult);

      const expected = await readFile(join(vectors, "yaml/decrypted.yaml"), "utf8");
      assert.equal(result.decrypted, expected);
      assert.ok(result.encryptedHasCiphertext, "encrypt wrote ENC[AES256_GCM,…] values");
      assert.ok(!result.encryptedLeaksPlaintext, "no plaintext value in the encrypted file");
      assert.equal(result.roundTrip, result.plain);
      assert.ok(result.tamperError, "the tampered file was rejected");
      assert.equal(result.tamperError.code, "MAC_MISMATCH");
      assert.equal(result.tamperError.exitCode, 51);
      assert.ok(result.tamperError.isLeafcryptError && result.tamperError.isError);

      // The bundler's own copy of the module, served as application/wasm (so streaming
      // compilation, not wasm-bindgen's fallback, which would warn on the console).
      assert.equal(wasmLoads.length, 1, JSON.stringify(wasmLoads));
      assert.ok(wasmLoads[0].url.startsWith(`${server.origin}/${bundler}/`), wasmLoads[0].url);
      assert.equal(wasmLoads[0].status, 200);
      assert.equal(wasmLoads[0].type, "application/wasm");
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });
}
