// HashiCorp Vault transit from Node through `hcVault` (getToken callback or a fixed token),
// against the Vault emulator (tests/vault_emulator): JS-encrypted files decrypt with the
// real sops 3.11 and the native CLI; sops's files decrypt in JS; a denied token is a NO_KEY
// error that does not quote the token.

import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { decrypt, encrypt } from "../src/node.js";
import { cliBin, repo, sopsBin, withFile } from "./helpers.js";

const emulatorBin = [process.env.VAULT_EMULATOR_BIN, join(repo, "target/debug/vault-emulator")].find(
  (p) => p && existsSync(p),
);
if (process.env.LEAFCRYPT_REQUIRE_TOOLS && !emulatorBin) {
  throw new Error("LEAFCRYPT_REQUIRE_TOOLS: vault-emulator not built (cargo build -p leafcrypt-tests --bin vault-emulator)");
}
const skip = !(emulatorBin && sopsBin && cliBin) && "needs vault-emulator, sops and the native CLI";
const PLAIN = "db:\n    user: app\n    password: hunter2\nport: 5432\n";
const TOKEN = "hvs.npm-test-root-token";

let vault;
let child;
let keyUrl;
before(async () => {
  if (skip) return;
  child = spawn(emulatorBin, ["--root-token", TOKEN, "--key", "transit/npm"], { stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`vault-emulator exited (${code}) before it was ready`)));
  });
  vault = JSON.parse(line);
  keyUrl = `${vault.addr}/v1/transit/keys/npm`;
});
after(() => {
  child?.stdin.end();
  child?.kill();
});

function tool(bin, args, input) {
  return withFile("f.yaml", input, (path) =>
    spawnSync(bin, [...args, path], {
      env: { PATH: process.env.PATH, HOME: "/nonexistent", VAULT_ADDR: vault.addr, VAULT_TOKEN: TOKEN },
      encoding: "utf8",
    }),
  );
}

test("a file JS encrypts with Vault transit decrypts with sops and the native CLI", { skip }, async () => {
  let calls = 0;
  const hcVault = {
    keys: keyUrl,
    namespace: "team-npm",
    getToken: async () => {
      calls += 1;
      return TOKEN;
    },
  };
  const text = await encrypt(PLAIN, { format: "yaml", hcVault });
  assert.match(text, /hc_vault:\n {8}- vault_address: http:\/\/127\.0\.0\.1:\d+\n {10}engine_path: transit\n {10}key_name: npm\n {10}created_at: "[^"]+"\n {10}enc: vault:v1:/);
  assert.equal(calls, 1);
  for (const bin of [sopsBin, cliBin]) {
    const run = tool(bin, ["decrypt"], text);
    assert.equal(run.status, 0, `${bin}: ${run.stderr}`);
    assert.equal(run.stdout, PLAIN);
  }
  const log = await (await fetch(`${vault.addr}/admin/requests`)).json();
  assert.deepEqual(log[0], { method: "PUT", path: "transit/encrypt/npm", namespace: "team-npm", token: true, status: 200 });
});

test("JS decrypts what sops encrypted with Vault transit; a denied token is NO_KEY", { skip }, async () => {
  const run = withFile("p.yaml", PLAIN, (path) =>
    spawnSync(sopsBin, ["encrypt", "--hc-vault-transit", keyUrl, path], {
      env: { PATH: process.env.PATH, HOME: "/nonexistent", VAULT_ADDR: vault.addr, VAULT_TOKEN: TOKEN },
      encoding: "utf8",
    }),
  );
  assert.equal(run.status, 0, run.stderr);
  assert.equal(await decrypt(run.stdout, { format: "yaml", hcVault: { token: TOKEN } }), PLAIN);
  await assert.rejects(
    decrypt(run.stdout, { format: "yaml", hcVault: { getToken: () => "hvs.not-a-valid-token" } }),
    (e) =>
      e.code === "NO_KEY" &&
      /denied decrypt with transit key/.test(e.message) &&
      /from the token callback/.test(e.message.replace(/\s*\|\s*/g, " ")) &&
      !e.message.includes("hvs.not-a-valid-token"),
  );
});

test("`npx leafcrypt` encrypts and decrypts with Vault transit (VAULT_TOKEN)", { skip }, () => {
  const bin = fileURLToPath(new URL("../bin/leafcrypt.js", import.meta.url));
  const env = { PATH: process.env.PATH, HOME: "/nonexistent", VAULT_TOKEN: TOKEN };
  const encrypted = withFile("p.yaml", PLAIN, (path) =>
    spawnSync(process.execPath, [bin, "encrypt", "--hc-vault-transit", keyUrl, path], { env, encoding: "utf8" }),
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
      env: { PATH: process.env.PATH, HOME: "/nonexistent" },
      encoding: "utf8",
    }),
  );
  assert.equal(noToken.status, 128);
  assert.match(noToken.stderr, /VAULT_TOKEN/);
});
