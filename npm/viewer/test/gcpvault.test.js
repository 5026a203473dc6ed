// GCP Cloud KMS and HashiCorp Vault transit in the browser, against the repository's
// emulators (tests/gcp_emulator, tests/vault_emulator; 127.0.0.1, ports the kernel picks).
// Each file is encrypted by the real sops 3.11 (Cloud KMS through the emulator's gRPC proxy
// front, Vault through its HTTP API); the page unlocks it with a token typed into the
// metadata panel and shows what sops decrypts. gcp-emulator answers CORS for any origin, as
// Google's REST APIs do; vault-emulator, like Vault, only once `sys/config/cors` allows the
// page's origin — before that the page explains what to do.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../server.mjs";
import { launch, repo, sameValue, screenshot, sopsBin, spawnReady, viewerDir } from "./helpers.mjs";

const gcpBin = process.env.GCP_EMULATOR_BIN ?? join(repo, "target/debug/gcp-emulator");
const vaultBin = process.env.VAULT_EMULATOR_BIN ?? join(repo, "target/debug/vault-emulator");
const missing = [gcpBin, vaultBin].filter((b) => !existsSync(b));
const skip = missing.length ? `build the emulators first (cargo build -p leafcrypt-tests --bins): ${missing.join(", ")}` : null;
const KEY = "projects/emu-project/locations/global/keyRings/sops/cryptoKeys/k1";
const plain = "db:\n    user: app\n    password: s3cret-cloud-value\nport: 5432\n";
const paths = ['["db"]["user"]', '["db"]["password"]', '["port"]'];
const types = ["str", "str", "int"];

let scratch;
let gcp; // { ready, stop }
let vault; // { ready, stop }
let files; // { gcp, vault }: encrypted paths
let server;
let context;

/** sops with the environment for `which` ("gcp" or "vault"); asserts success, returns stdout. */
function sops(which, args) {
  const env =
    which === "gcp"
      ? {
          HTTPS_PROXY: gcp.ready.endpoint,
          SSL_CERT_FILE: gcp.ready.ca,
          GOOGLE_OAUTH_ACCESS_TOKEN: gcp.ready.token,
        }
      : { VAULT_ADDR: vault.ready.addr, VAULT_TOKEN: vault.ready.token };
  const result = spawnSync(sopsBin, args, {
    env: { PATH: process.env.PATH, HOME: "/nonexistent", NO_PROXY: "127.0.0.1", ...env },
    encoding: "utf8",
  });
  assert.equal(result.status, 0, `sops ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

async function start(bin, args) {
  const { line, stop } = await spawnReady(bin, args);
  return { ready: JSON.parse(line), stop };
}

/** Vault's `sys/config/cors` through its API with the root token. */
async function vaultCors(origins, headers = []) {
  const reply = await fetch(`${vault.ready.addr}/v1/sys/config/cors`, {
    method: "PUT",
    headers: { "X-Vault-Token": vault.ready.token, "Content-Type": "application/json" },
    body: JSON.stringify({ enabled: true, allowed_origins: origins, allowed_headers: headers }),
  });
  assert.equal(reply.status, 204);
}

/** How many transit decrypt requests reached vault-emulator (a browser-blocked one never does). */
async function vaultDecrypts() {
  const log = await (await fetch(`${vault.ready.addr}/admin/requests`)).json();
  return log.filter((r) => r.path === "transit/decrypt/app").length;
}

before(async () => {
  if (skip) return;
  scratch = await mkdtemp(join(tmpdir(), "leafcrypt-viewer-gcpvault-"));
  gcp = await start(gcpBin, ["--dir", join(scratch, "gcp"), "--key", KEY]);
  vault = await start(vaultBin, ["--key", "transit/app"]);
  await writeFile(join(scratch, "plain.yaml"), plain);
  files = { gcp: join(scratch, "gcp.enc.yaml"), vault: join(scratch, "vault.enc.yaml") };
  await writeFile(files.gcp, sops("gcp", ["encrypt", "--gcp-kms", KEY, join(scratch, "plain.yaml")]));
  const vaultKey = `${vault.ready.addr}/v1/transit/keys/app`;
  await writeFile(files.vault, sops("vault", ["encrypt", "--hc-vault-transit", vaultKey, join(scratch, "plain.yaml")]));
  // The package itself (Node entry, same .wasm as the page) opens both.
  const { decrypt } = await import("../../src/node.js");
  const gcpKms = { getToken: async () => gcp.ready.token, endpoint: gcp.ready.endpoint };
  assert.equal(await decrypt(await readFile(files.gcp, "utf8"), { format: "yaml", gcpKms }), plain);
  const hcVault = { getToken: async () => vault.ready.token };
  assert.equal(await decrypt(await readFile(files.vault, "utf8"), { format: "yaml", hcVault }), plain);

  const config = join(scratch, "viewer.config.json");
  await writeFile(config, JSON.stringify({ kvProxy: "", gcpKmsHosts: ["http://127.0.0.1:*"], vaultHosts: ["http://127.0.0.1:*"] }));
  const dist = join(scratch, "dist");
  const build = spawnSync(process.execPath, [join(viewerDir, "build.mjs"), "--out", dist], {
    env: { ...process.env, VIEWER_CONFIG: config },
    encoding: "utf8",
  });
  assert.equal(build.status, 0, build.stderr);
  server = await startServer(dist);
  context = await launch(join(scratch, "profile"));
});

after(async () => {
  await context?.close();
  await server?.close();
  await gcp?.stop();
  await vault?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function open(page, file, panel) {
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.blockedURI));
  });
  await page.goto(`${server.origin}/`);
  for (const id of ["#gcp-panel", "#vault-panel"]) assert.equal(await page.locator(id).isVisible(), false, `${id} before a file is open`);
  await page.getByLabel("Encrypted file", { exact: true }).setInputFiles(file);
  await page.locator("#file-info", { hasText: file.split("/").pop() }).waitFor();
  assert.ok(await page.locator(panel).isVisible(), `${panel} shown`);
}

async function verdict(page) {
  await page.waitForFunction(() => ["ok", "bad"].includes(document.getElementById("status").dataset.state));
  return { state: await page.getByRole("status").getAttribute("data-state"), text: await page.getByRole("status").textContent() };
}

/** The page shows sops's values; nothing was stored; "Forget keys" empties `labels`. */
async function sameAsSops(page, which, file, labels) {
  const result = await verdict(page);
  assert.equal(result.state, "ok", result.text);
  assert.match(result.text, /MAC verified: 3 values decrypted/);
  await page.getByRole("button", { name: "Reveal all" }).click();
  const shown = await page.locator('[role="treeitem"][data-kind="value"] > .node > .value').allTextContents();
  assert.equal(shown.length, paths.length, JSON.stringify(shown));
  for (const [i, path] of paths.entries()) {
    const extracted = sops(which, ["decrypt", "--extract", path, file]);
    assert.ok(sameValue(types[i], shown[i], extracted), `${path}: page ${shown[i]}, sops ${extracted}`);
  }
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 0]);
  await page.getByRole("button", { name: "Forget keys" }).click();
  for (const label of labels) assert.equal(await page.getByLabel(label, { exact: true }).inputValue(), "", label);
  assert.equal(await page.getByRole("button", { name: "Reveal all" }).isDisabled(), true);
}

test("Cloud KMS: a sops-encrypted gcp_kms file unlocks with a typed access token, values as sops decrypts them", async (t) => {
  if (skip) return t.skip(skip);
  const page = await context.newPage();
  try {
    await open(page, files.gcp, "#gcp-panel");
    assert.ok((await page.locator("#metadata").textContent()).includes(KEY));
    await page.getByLabel("Google OAuth token", { exact: true }).fill(gcp.ready.token);
    await page.getByLabel("Cloud KMS URL (optional)").fill(gcp.ready.endpoint);
    await page.getByRole("button", { name: "Decrypt with Cloud KMS" }).click();
    await screenshot(page, "18-gcp-kms-decrypted");
    await sameAsSops(page, "gcp", files.gcp, ["Google OAuth token"]);
  } finally {
    await page.close();
  }
});

test("Vault: without sys/config/cors for the page's origin the page says what to do; with it the file unlocks", async (t) => {
  if (skip) return t.skip(skip);
  const page = await context.newPage();
  try {
    assert.equal((await fetch(`${vault.ready.addr}/admin/requests`, { method: "DELETE" })).status, 204);
    await open(page, files.vault, "#vault-panel");
    await page.getByLabel("Vault token", { exact: true }).fill(vault.ready.token);
    await page.getByRole("button", { name: "Decrypt with Vault" }).click();
    // Vault answers no preflight until sys/config/cors allows the page's origin.
    const refused = await verdict(page);
    assert.equal(refused.state, "bad");
    assert.match(refused.text, /could not reach Vault/);
    assert.match(refused.text, /sys\/config\/cors/);
    assert.ok(!refused.text.includes(vault.ready.token), "the token is shown");
    await screenshot(page, "19-vault-no-cors");
    await page.evaluate(() => (document.getElementById("status").dataset.state = "none"));

    // The origin alone is not enough: the package sends X-Vault-Request (as Vault's own
    // clients do), which is not among Vault's standard CORS headers.
    await vaultCors([server.origin]);
    await page.getByRole("button", { name: "Decrypt with Vault" }).click();
    const headerRefused = await verdict(page);
    assert.equal(headerRefused.state, "bad", headerRefused.text);
    assert.match(headerRefused.text, /could not reach Vault/);
    // The browser stopped both attempts at the preflight: no decrypt request reached Vault.
    assert.equal(await vaultDecrypts(), 0);
    await page.evaluate(() => (document.getElementById("status").dataset.state = "none"));

    await vaultCors([server.origin], ["X-Vault-Request", "X-Vault-Namespace"]);
    await page.getByRole("button", { name: "Decrypt with Vault" }).click();
    await page.waitForFunction(() => document.getElementById("status").dataset.state === "ok");
    await screenshot(page, "20-vault-decrypted");
    assert.ok((await vaultDecrypts()) >= 1, "the page's decrypt request reached Vault");
    await sameAsSops(page, "vault", files.vault, ["Vault token", "Namespace (optional)"]);
  } finally {
    await page.close();
  }
});
