// Azure Key Vault from Node through the getToken callback, against the Key Vault emulator:
// JS-encrypted files decrypt with the real sops 3.11 and the native CLI; sops's files
// decrypt in JS; encryptText/decryptText; requests through `leafcrypt kv-proxy` with
// `endpoint`; errors carry the vault's reason.

import { spawn, spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { cliBin, sopsBin, withFile } from "./helpers.js";
import { azureEnv, emulatorBin, startEmulator } from "./kv.js";

const client = fileURLToPath(new URL("../test-fixtures/kv-client.mjs", import.meta.url));
const skip = !(emulatorBin && sopsBin && cliBin) && "needs kv-emulator, sops and the native CLI";
const PLAIN = "db:\n    user: app\n    password: hunter2\nport: 5432\n";

let kv;
let token;
let keyUrl;
before(async () => {
  if (skip) return;
  kv = await startEmulator();
  await kv.admin("keys", { name: "npm" });
  token = (await kv.admin("token", {})).access_token;
  keyUrl = `${kv.ready.vault}/keys/npm`;
});
after(() => kv?.stop());

function js(job) {
  const run = spawnSync(process.execPath, [client, JSON.stringify(job)], {
    env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: kv.ready.ca, TOKEN: token },
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

function tool(bin, args, input) {
  return withFile("f.yaml", input, (path) =>
    spawnSync(bin, [...args, path], {
      env: { PATH: process.env.PATH, HOME: "/nonexistent", ...azureEnv(kv.ready) },
      encoding: "utf8",
    }),
  );
}

test("a file JS encrypts with Key Vault decrypts with sops and the native CLI", { skip }, () => {
  const out = js({ op: "encrypt", format: "yaml", input: PLAIN, keys: [keyUrl] });
  assert.equal(out.error, undefined, JSON.stringify(out.error));
  assert.match(out.text, /azure_kv:\n {8}- vault_url: https:\/\/127\.0\.0\.1:\d+\n {10}name: npm\n {10}version: [0-9a-f]{32}\n/);
  for (const bin of [sopsBin, cliBin]) {
    const run = tool(bin, ["decrypt"], out.text);
    assert.equal(run.status, 0, `${bin}: ${run.stderr}`);
    assert.equal(run.stdout, PLAIN);
  }
  // The scope and tenant come from the vault's challenge.
  const port = new URL(kv.ready.vault).port;
  assert.deepEqual(out.calls[0].scopes, [`https://0.0.1:${port}/.default`]);
  assert.equal(typeof out.calls[0].tenantId, "string");
});

test("JS decrypts what sops encrypted with Key Vault, and a bad token is a NO_KEY error", { skip }, () => {
  const run = withFile("p.yaml", PLAIN, (path) =>
    spawnSync(sopsBin, ["encrypt", "--azure-kv", keyUrl, path], {
      env: { PATH: process.env.PATH, HOME: "/nonexistent", ...azureEnv(kv.ready) },
      encoding: "utf8",
    }),
  );
  assert.equal(run.status, 0, run.stderr);
  const out = js({ op: "decrypt", format: "yaml", input: run.stdout });
  assert.equal(out.text, PLAIN, JSON.stringify(out.error));

  const saved = token;
  token = "not-a-token";
  try {
    const bad = js({ op: "decrypt", format: "yaml", input: run.stdout });
    assert.equal(bad.error?.code, "NO_KEY");
    assert.match(bad.error.message, /401|Unauthorized|token/i);
    assert.doesNotMatch(bad.error.message, /not-a-token/);
  } finally {
    token = saved;
  }
});

test("encryptText / decryptText round trip any length under a Key Vault key", { skip }, () => {
  const input = "x".repeat(5000) + " ü";
  const out = js({ op: "text", input, keys: [keyUrl] });
  assert.equal(out.error, undefined, JSON.stringify(out.error));
  assert.equal(out.text, input);
  assert.match(out.encrypted.ciphertext, /^lckv1\./);
  assert.match(out.encrypted.version, /^[0-9a-f]{32}$/);
  assert.equal(out.encrypted.kid, `${keyUrl}/${out.encrypted.version}`);
});

test("requests go through `leafcrypt kv-proxy` when endpoint is set", { skip }, async () => {
  const proxy = spawn(
    cliBin,
    ["kv-proxy", "--vault", kv.ready.vault, "--allow-origin", "http://127.0.0.1:1", "--port", "0", "--exit-with-stdin"],
    { env: { PATH: process.env.PATH, SSL_CERT_FILE: kv.ready.ca }, stdio: ["pipe", "pipe", "pipe"] },
  );
  try {
    const url = await new Promise((resolve, reject) => {
      createInterface({ input: proxy.stdout }).once("line", resolve);
      proxy.once("exit", (c) => reject(new Error(`kv-proxy exited ${c}`)));
    });
    const encrypted = js({ op: "encrypt", format: "yaml", input: PLAIN, keys: [keyUrl] }).text;
    await kv.admin("log/clear");
    const out = js({ op: "decrypt", format: "yaml", input: encrypted, endpoint: url });
    assert.equal(out.text, PLAIN, JSON.stringify(out.error));
    const log = (await kv.log()).entries.filter((e) => e.listener === "vault");
    assert.ok(log.some((e) => e.op === "decrypt" && e.authorized && e.status === 200), JSON.stringify(log));
  } finally {
    proxy.stdin.end();
    proxy.kill();
  }
});

test("`npx leafcrypt` encrypts and decrypts with Key Vault (AZURE_ACCESS_TOKEN)", { skip }, () => {
  const bin = fileURLToPath(new URL("../bin/leafcrypt.js", import.meta.url));
  const env = { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: kv.ready.ca, AZURE_ACCESS_TOKEN: token };
  const encrypted = withFile("p.yaml", PLAIN, (path) =>
    spawnSync(process.execPath, [bin, "encrypt", "--azure-kv", keyUrl, path], { env, encoding: "utf8" }),
  );
  assert.equal(encrypted.status, 0, encrypted.stderr);
  const bySops = tool(sopsBin, ["decrypt"], encrypted.stdout);
  assert.equal(bySops.stdout, PLAIN, bySops.stderr);
  const decrypted = withFile("e.yaml", encrypted.stdout, (path) =>
    spawnSync(process.execPath, [bin, "decrypt", path], { env, encoding: "utf8" }),
  );
  assert.equal(decrypted.stdout, PLAIN, decrypted.stderr);
  const noToken = withFile("e.yaml", encrypted.stdout, (path) =>
    spawnSync(process.execPath, [bin, "decrypt", path], {
      env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: kv.ready.ca },
      encoding: "utf8",
    }),
  );
  assert.equal(noToken.status, 128);
  assert.match(noToken.stderr, /AZURE_ACCESS_TOKEN/);
});
