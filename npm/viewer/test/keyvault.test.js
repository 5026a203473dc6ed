// Key Vault in the browser, against the loopback emulator (tests/kv_emulator), which like
// the real service sends no CORS headers: the direct call fails with the page's
// explanation; through `leafcrypt kv-proxy` with a pasted token the file decrypts, MAC
// verified, to what sops 3.11 prints. The file is encrypted by the real sops.
// The key-version check needs only the emulator and the proxy; the decryptions also need
// the package's `azureKv` (a build without it answers NOT_AVAILABLE: they are skipped).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decrypt } from "../../src/node.js";
import { startServer } from "../server.mjs";
import { cliBin, launch, repo, screenshot, sopsBin, spawnReady, viewerDir } from "./helpers.mjs";

const emulatorBin = [process.env.KV_EMULATOR_BIN, join(repo, "target/debug/kv-emulator")].find((p) => p && existsSync(p));

/** Why the package cannot decrypt with Key Vault yet, or null. */
async function packageMissing() {
  try {
    await decrypt("a: 1\n", { format: "yaml", azureKv: { getToken: async () => "x" } });
  } catch (error) {
    if (error.code === "NOT_AVAILABLE") return "the package's azureKv is not available yet";
  }
  return null;
}

let skip; // no emulator: nothing runs
let noPackage; // the package lacks azureKv: decryptions are skipped
let scratch;
let emulator; // { ready, stop }
let server;
let context;
let proxy;
let token;
let encrypted; // path of the azure_kv file
const plain = "db:\n    user: app\n    password: s3cret-kv-value\n";

before(async () => {
  skip = emulatorBin ? null : "no kv-emulator binary (cargo build -p leafcrypt-tests --bin kv-emulator)";
  if (skip) return;
  noPackage = await packageMissing();
  scratch = await mkdtemp(join(tmpdir(), "leafcrypt-viewer-kv-"));
  const started = await spawnReady(emulatorBin, ["--create", "app-key", "--dir", scratch]);
  emulator = { ready: JSON.parse(started.line), stop: started.stop };
  const { vault, msi_endpoint: msi, identity_header: header, ca } = emulator.ready;

  // The file, encrypted by the real sops with a managed-identity token from the emulator.
  await writeFile(join(scratch, "kv.yaml"), plain);
  const sops = spawnSync(sopsBin, ["encrypt", "--azure-kv", `${vault}/keys/app-key`, join(scratch, "kv.yaml")], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SSL_CERT_FILE: ca,
      IDENTITY_ENDPOINT: msi,
      IDENTITY_HEADER: header,
      AZURE_TOKEN_CREDENTIALS: "ManagedIdentityCredential",
    },
    encoding: "utf8",
  });
  assert.equal(sops.status, 0, sops.stderr);
  encrypted = join(scratch, "kv.enc.yaml");
  await writeFile(encrypted, sops.stdout);

  // The token a user would paste: audience = the vault's challenge resource.
  const resource = `https://0.0.1:${new URL(vault).port}`;
  const reply = await fetch(`${msi}?resource=${encodeURIComponent(resource)}&api-version=2019-08-01`, {
    headers: { "X-IDENTITY-HEADER": header },
  });
  assert.equal(reply.status, 200);
  token = (await reply.json()).access_token;

  // A build whose CSP admits loopback proxies and the emulator's vault.
  const config = join(scratch, "viewer.config.json");
  await writeFile(
    config,
    JSON.stringify({ kvProxy: "", kvProxyOrigins: ["http://127.0.0.1:*"], keyVaultHosts: ["https://127.0.0.1:*"] }),
  );
  const dist = join(scratch, "dist");
  const build = spawnSync(process.execPath, [join(viewerDir, "build.mjs"), "--out", dist], {
    env: { ...process.env, VIEWER_CONFIG: config },
    encoding: "utf8",
  });
  assert.equal(build.status, 0, build.stderr);
  server = await startServer(dist);

  const started2 = await spawnReady(
    cliBin,
    ["kv-proxy", "--vault", vault, "--allow-origin", server.origin, "--port", "0", "--exit-with-stdin"],
    { SSL_CERT_FILE: ca },
  );
  proxy = { url: started2.line.trim(), stop: started2.stop };
  // Chromium does not know the emulator's CA: accept its certificate, so that the direct
  // call fails for the reason it fails against the real service (no CORS headers).
  context = await launch(join(scratch, "profile"), { ignoreHTTPSErrors: true });
});

after(async () => {
  await context?.close();
  await proxy?.stop();
  await server?.close();
  await emulator?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function openKv(page) {
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.blockedURI));
  });
  await page.goto(`${server.origin}/`);
  await page.getByLabel("Encrypted file", { exact: true }).setInputFiles(encrypted);
  await page.locator("#file-info", { hasText: "kv.enc.yaml" }).waitFor();
  await page.getByLabel("Access token").fill(token);
}

async function verdict(page) {
  await page.waitForFunction(() => ["ok", "bad"].includes(document.getElementById("status").dataset.state));
  return { state: await page.getByRole("status").getAttribute("data-state"), text: await page.getByRole("status").textContent() };
}

test("Key Vault: the direct call is blocked (no CORS) and the page explains the proxy", async (t) => {
  if (skip || noPackage) return t.skip(skip ?? noPackage);
  const page = await context.newPage();
  try {
    await openKv(page);
    const meta = await page.locator("#metadata").textContent();
    assert.ok(meta.includes(`vault_url: ${emulator.ready.vault}`), meta);
    await page.getByLabel("kv-proxy URL").fill("");
    const admin = emulator.ready.admin;
    assert.equal((await fetch(`${admin}/log/clear`, { method: "POST" })).status, 200);
    await page.getByRole("button", { name: "Decrypt with Key Vault" }).click();
    const result = await verdict(page);
    // The request reached the vault (the CSP allowed it); the browser refused the answer.
    const log = await (await fetch(`${admin}/log`)).json();
    assert.ok(log.entries.some((e) => e.listener !== "admin" && e.path.startsWith("/keys/")), JSON.stringify(log));
    assert.deepEqual(await page.evaluate(() => window.__violations), []);
    assert.equal(result.state, "bad");
    assert.match(result.text, /blocked the direct call to Azure Key Vault/);
    assert.match(result.text, /Azure Key Vault sends no CORS headers/);
    // The package's own error says the same, so every caller of the package gets it.
    const flat = result.text.replace(/\n\s*\|\s*/g, " ").replace(/\s+/g, " ");
    assert.match(flat, /the browser blocked the request: Azure Key Vault sends no CORS headers — use azureKv\.endpoint with a CORS proxy such as `leafcrypt kv-proxy`/);
    assert.ok(result.text.includes(`leafcrypt kv-proxy --vault ${emulator.ready.vault} --allow-origin ${server.origin}`), result.text);
    assert.ok(!result.text.includes(token), "the token is not shown");
    await screenshot(page, "09-key-vault-direct-blocked");
  } finally {
    await page.close();
  }
});

test("Key Vault through kv-proxy with a pasted token: MAC verified, the values sops encrypted", async (t) => {
  if (skip || noPackage) return t.skip(skip ?? noPackage);
  const page = await context.newPage();
  try {
    await openKv(page);
    await page.getByLabel("kv-proxy URL").fill(proxy.url);
    await page.getByRole("button", { name: "Decrypt with Key Vault" }).click();
    const result = await verdict(page);
    assert.equal(result.state, "ok", result.text);
    await page.getByRole("button", { name: "Reveal all" }).click();
    const shown = await page
      .locator('[role="treeitem"][data-kind="value"] > .node > .value')
      .allTextContents();
    assert.deepEqual(shown, ["app", "s3cret-kv-value"]);
    await screenshot(page, "10-key-vault-decrypted");
  } finally {
    await page.close();
  }
});

test("Key Vault: the metadata says whether the file's key version is the current one", async (t) => {
  if (skip) return t.skip(skip);
  const page = await context.newPage();
  try {
    await openKv(page);
    await page.getByLabel("kv-proxy URL").fill(proxy.url);
    await page.getByRole("button", { name: "Decrypt with Key Vault" }).click();
    const note = page.locator("#metadata .kv-version");
    await note.waitFor();
    assert.equal(await note.textContent(), "the key's current version");

    // A new key version: the file's entry is now behind.
    const rotated = await fetch(`${emulator.ready.admin}/rotate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "app-key" }),
    });
    assert.equal(rotated.status, 200);
    const current = String((await rotated.json()).key.kid).split("/").pop();
    await page.getByRole("button", { name: "Decrypt with Key Vault" }).click();
    await page.locator("#metadata .kv-version", { hasText: "NOT" }).waitFor();
    assert.equal(
      await note.textContent(),
      `NOT the key's current version (now ${current}): rotate the file to wrap its data key with it`,
    );
    await screenshot(page, "11-key-vault-version");
    // Forgetting the token drops the notes.
    await page.getByRole("button", { name: "Forget keys" }).click();
    assert.equal(await page.locator("#metadata .kv-version").count(), 0);
  } finally {
    await page.close();
  }
});

test("decryptWithKeyVault (the page's Key Vault function) through kv-proxy, in Node", async (t) => {
  if (skip || noPackage) return t.skip(skip ?? noPackage);
  const web = await import("../../src/web.js");
  await web.init(await readFile(join(viewerDir, "../pkg/web/leafcrypt_wasm_bg.wasm")));
  const { decryptWithKeyVault } = await import("../src/keyvault.js");
  const text = await readFile(encrypted, "utf8");
  assert.equal(await decryptWithKeyVault(text, { token, proxy: proxy.url, format: "yaml" }), plain);
  await assert.rejects(
    decryptWithKeyVault(text, { token: "not-a-token", proxy: proxy.url, format: "yaml" }),
    (e) => e.code === "NO_KEY" && !e.message.includes("not-a-token"),
  );
});

test("Shamir with an age group and a Key Vault group: the page uses both keys at once", async (t) => {
  if (skip || noPackage) return t.skip(skip ?? noPackage);
  const { encrypt } = await import("../../src/node.js");
  const recipient = (await readFile(join(repo, "tests/vectors/age/recipients.txt"), "utf8")).match(/age1\w+/)[0];
  const keyUrl = `${emulator.ready.vault}/keys/app-key`;
  const shamir = await encrypt(plain, {
    format: "yaml",
    azureKv: { getToken: async () => token, endpoint: proxy.url },
    keyGroups: [{ age: [recipient] }, { azureKv: [keyUrl] }],
    shamirThreshold: 2,
  });
  const path = join(scratch, "shamir.yaml");
  await writeFile(path, shamir);
  // sops 3.11 needs both groups too.
  const sops = spawnSync(sopsBin, ["decrypt", path], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SOPS_AGE_KEY_FILE: join(repo, "tests/vectors/age/key1.txt"),
      SSL_CERT_FILE: emulator.ready.ca,
      IDENTITY_ENDPOINT: emulator.ready.msi_endpoint,
      IDENTITY_HEADER: emulator.ready.identity_header,
      AZURE_TOKEN_CREDENTIALS: "ManagedIdentityCredential",
    },
    encoding: "utf8",
  });
  assert.equal(sops.status, 0, sops.stderr);
  assert.equal(sops.stdout, plain);

  const page = await context.newPage();
  try {
    await page.goto(`${server.origin}/`);
    await page.getByLabel("Encrypted file", { exact: true }).setInputFiles(path);
    await page.locator("#file-info", { hasText: "shamir.yaml" }).waitFor();
    assert.match(await page.locator("#metadata").textContent(), /2 of 2 key groups/);
    await page.getByLabel("age identity", { exact: true }).fill(await readFile(join(repo, "tests/vectors/age/key1.txt"), "utf8"));
    // The age group alone is one share short.
    await page.getByRole("button", { name: "Decrypt", exact: true }).click();
    let result = await verdict(page);
    assert.equal(result.state, "bad");
    assert.match(result.text, /No key could open this file/);
    // With the token and the proxy as well, both shares are recovered.
    await page.getByLabel("Access token").fill(token);
    await page.getByLabel("kv-proxy URL").fill(proxy.url);
    await page.getByRole("button", { name: "Decrypt", exact: true }).click();
    result = await verdict(page);
    assert.equal(result.state, "ok", result.text);
    await page.getByRole("button", { name: "Reveal all" }).click();
    const shown = await page.locator('[role="treeitem"][data-kind="value"] > .node > .value').allTextContents();
    assert.deepEqual(shown, ["app", "s3cret-kv-value"]);
  } finally {
    await page.close();
  }
});
