// Shared pieces of the viewer's browser tests: paths, the reference tools, Chromium.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
/** npm/viewer */
export const viewerDir = resolve(here, "..");
/** The repository root. */
export const repo = resolve(here, "../../..");
/** The built page. */
export const dist = join(viewerDir, "dist");
/** Screenshots for CI artifacts. */
export const artifacts = join(viewerDir, "test-artifacts");
/** The sops-made vectors. */
export const vectors = process.env.LEAFCRYPT_VECTORS ?? join(repo, "tests/vectors");
export const vector = (path) => join(vectors, path);

const first = (...candidates) => candidates.find((c) => c && existsSync(c));

/** The native leafcrypt CLI. */
export const cliBin = first(process.env.LEAFCRYPT_BIN, join(repo, "target/debug/leafcrypt"), join(repo, "target/release/leafcrypt"));
/** The real sops 3.11. */
export const sopsBin = first(process.env.SOPS_BIN, join(repo, ".tools/sops/bin/sops"), "/opt/sopsvenv/bin/sops");

if (!cliBin || !sopsBin) {
  throw new Error(`the viewer tests need the leafcrypt CLI (${cliBin}) and sops 3.11 (${sopsBin}): run scripts/test-viewer`);
}

/**
 * Runs a tool with `SOPS_AGE_KEY_FILE` set to `age/<keys>`; returns stdout as text and
 * throws with stderr when it fails.
 */
export function run(bin, args, keys = "key1.txt") {
  const result = spawnSync(bin, args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, SOPS_AGE_KEY_FILE: vector(`age/${keys}`) },
    maxBuffer: 256 << 20,
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`${bin} ${args.join(" ")}: exit ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/**
 * Headless Debian Chromium with a fresh profile (as toolchain.md says). `options` adds
 * Playwright context options (the Key Vault test trusts the emulator's certificate with
 * `ignoreHTTPSErrors`).
 */
export async function launch(profile, options = {}) {
  return chromium.launchPersistentContext(profile, {
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
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
    ...options,
  });
}

/** Saves a full-page screenshot as test-artifacts/<name>.png. */
export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/**
 * Whether the page's text for a value equals what `--extract` printed: the YAML store
 * adds a newline after a one-line scalar, floats are printed in their own notation
 * (`1e+21`, `.inf`) while the page shows the plaintext (`1000000000000000000000`, `+Inf`),
 * booleans are `true`/`false` on both sides.
 */
export function sameValue(type, shown, extracted) {
  const printed = extracted.endsWith("\n") && !shown.endsWith("\n") ? extracted.slice(0, -1) : extracted;
  if (type === "float") {
    const number = (t) => ({ "+Inf": Infinity, "-Inf": -Infinity, ".inf": Infinity, "-.inf": -Infinity, ".nan": NaN, NaN: NaN })[t] ?? Number(t);
    return Object.is(number(shown), number(printed));
  }
  return shown === printed;
}

/**
 * Spawns a long-running helper that exits when its stdin closes and resolves, once it
 * printed its first stdout line, to `{ line, child, stop() }`. Rejects if it exits first.
 */
export function spawnReady(bin, args, env = {}) {
  const child = spawn(bin, args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", resolve);
      child.stdin.end();
    });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const end = out.indexOf("\n");
      if (end >= 0) resolve({ line: out.slice(0, end), child, stop });
    });
    child.once("exit", (code) => reject(new Error(`${bin} exited (${code}) before it was ready: ${stderr}`)));
    child.once("error", reject);
  });
}
