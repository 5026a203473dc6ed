// GCP Cloud KMS from Node through the gcpKms.getToken callback, against the GCP KMS emulator
// (tests/gcp_emulator; built with `cargo build -p leafcrypt-tests --bin gcp-emulator`): files JS
// encrypts decrypt with the real sops 3.11 (gRPC through the emulator's CONNECT front) and the
// native CLI; sops's files decrypt in JS; Shamir groups mixing gcpKms and age; denials carry
// Google's status without the token.

import { spawn, spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { age, cliBin, R, repo, sopsBin, withFile } from "./helpers.js";
import { decrypt, encrypt } from "../src/node.js";

const emulatorBin = [process.env.GCP_EMULATOR_BIN, join(repo, "target/debug/gcp-emulator")].find(
  (p) => p && existsSync(p),
);
if (process.env.LEAFCRYPT_REQUIRE_TOOLS && !emulatorBin) {
  throw new Error("LEAFCRYPT_REQUIRE_TOOLS: gcp-emulator not built (cargo build -p leafcrypt-tests --bin gcp-emulator)");
}
const skip = !(emulatorBin && sopsBin && cliBin) && "needs gcp-emulator, sops and the native CLI";
const K1 = "projects/emu/locations/global/keyRings/npm/cryptoKeys/k1";
const K2 = "projects/emu/locations/global/keyRings/npm/cryptoKeys/k2";
const PLAIN = "db:\n    user: app\n    password: hunter2\nport: 5432\n";

let emu;
let calls = 0;
before(async () => {
  if (skip) return;
  const dir = mkdtempSync(join(tmpdir(), "leafcrypt-gcp-"));
  const child = spawn(emulatorBin, ["--dir", dir, "--key", K1, "--key", K2], { stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once("line", (l) => {
      rl.close();
      resolve(l);
    });
    child.once("exit", (code) => reject(new Error(`gcp-emulator exited (${code}) before it was ready`)));
  });
  const ready = JSON.parse(line);
  const admin = async (route, body = {}) => {
    const r = await fetch(`${ready.admin}/${route}`, { method: "POST", body: JSON.stringify(body) });
    assert.ok(r.ok, `admin ${route}: ${r.status}`);
    return r.json();
  };
  emu = { ready, admin, stop: () => (child.stdin.end(), child.kill()) };
});
after(() => emu?.stop());

const gcpKms = (keys) => ({
  keys,
  endpoint: emu.ready.endpoint,
  getToken: async () => {
    calls += 1;
    return { access_token: emu.ready.token, expiry_date: Date.now() + 3600_000 };
  },
});

function tool(bin, args, input) {
  const env =
    bin === sopsBin
      ? { HTTPS_PROXY: emu.ready.endpoint, SSL_CERT_FILE: emu.ready.ca }
      : { SOPS_GCP_KMS_ENDPOINT: emu.ready.endpoint };
  return withFile("f.yaml", input, (path) =>
    spawnSync(bin, [...args, path], {
      env: { PATH: process.env.PATH, HOME: "/nonexistent", GOOGLE_OAUTH_ACCESS_TOKEN: emu.ready.token, ...env },
      encoding: "utf8",
    }),
  );
}

test("a file JS encrypts with GCP KMS decrypts with sops and the native CLI, and back", { skip }, async () => {
  const text = await encrypt(PLAIN, { format: "yaml", gcpKms: gcpKms([K1]) });
  assert.match(text, /gcp_kms:\n {8}- resource_id: projects\/emu\/locations\/global\/keyRings\/npm\/cryptoKeys\/k1\n {10}created_at: "[^"]+"\n {10}enc: [A-Za-z0-9+/]+=*\n/);
  assert.ok(calls > 0, "getToken was called");
  for (const bin of [sopsBin, cliBin]) {
    const run = tool(bin, ["decrypt"], text);
    assert.equal(run.status, 0, `${bin}: ${run.stderr}`);
    assert.equal(run.stdout, PLAIN);
  }
  const bySops = tool(sopsBin, ["encrypt", "--gcp-kms", K2], PLAIN);
  assert.equal(bySops.status, 0, bySops.stderr);
  assert.equal(await decrypt(bySops.stdout, { format: "yaml", gcpKms: gcpKms([]) }), PLAIN);
});

test("Shamir groups mixing gcpKms and age; a denied key is reported without the token", { skip }, async () => {
  const text = await encrypt(PLAIN, {
    format: "yaml",
    gcpKms: gcpKms([]),
    keyGroups: [{ gcpKms: [K1] }, { gcpKms: [K2] }, { age: [R[0]] }],
    shamirThreshold: 2,
  });
  await emu.admin("deny", { key: K2 });
  assert.equal(await decrypt(text, { format: "yaml", gcpKms: gcpKms([]), age: age("key1.txt") }), PLAIN);
  await emu.admin("deny", { key: K1 });
  await assert.rejects(decrypt(text, { format: "yaml", gcpKms: gcpKms([]) }), (e) => {
    assert.match(e.message, /PERMISSION_DENIED/);
    assert.ok(!e.message.includes(emu.ready.token), "token leaked");
    return true;
  });
  await emu.admin("reset");
});
