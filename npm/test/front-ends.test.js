// The same file-level operation through the native CLI and through the npm package gives
// the same result: encrypt, decrypt, extract, rotate (age and Azure Key Vault entries, via
// the Key Vault emulator), set, and key-group edits. Both front ends are translation
// layers over leafcrypt-core's file API (core/src/file), so the results (plaintext bytes,
// key entries, pinned Key Vault versions, Shamir threshold) must agree.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "../src/node.js";
import { cliBin, R, text } from "./helpers.js";
import { azureEnv, emulatorBin, startEmulator } from "./kv.js";

const client = fileURLToPath(new URL("../test-fixtures/front-end-client.mjs", import.meta.url));
const skip = !(emulatorBin && cliBin) && "needs kv-emulator and the native CLI";
const PLAIN = "db:\n    user: app\n    password: hunter2\nport: 5432\n";
const PASSWORD = '["db"]["password"]';

let kv;
let token;
let keyUrl;
let home;
before(async () => {
  if (skip) return;
  kv = await startEmulator();
  await kv.admin("keys", { name: "fe" });
  token = (await kv.admin("token", {})).access_token;
  keyUrl = `${kv.ready.vault}/keys/fe`;
  home = mkdtempSync(join(tmpdir(), "leafcrypt-fe-home-"));
});
after(() => {
  kv?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** The package's `op` on `input` (YAML), Key Vault reachable; resolves to the text. */
function js(op, input, options = {}) {
  const job = { op, input, options: { format: "yaml", azureKv: {}, ...options } };
  const run = spawnSync(process.execPath, [client, JSON.stringify(job)], {
    env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: kv.ready.ca, TOKEN: token },
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.equal(out.error, undefined, `${op}: ${JSON.stringify(out.error)}`);
  return out.text;
}

/**
 * The CLI's `args` with `input` as f.yaml (given as `F`, else last), age identities from
 * `keys` (vector files), Key Vault through the emulator. Resolves to stdout, or to the
 * file when the command rewrote it in place.
 */
function cli(args, input, { keys = [], inPlace = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "leafcrypt-fe-"));
  try {
    const path = join(dir, "f.yaml");
    writeFileSync(path, input);
    const argv = args.includes("F") ? args.map((a) => (a === "F" ? path : a)) : [...args, path];
    const run = spawnSync(cliBin, argv, {
      env: {
        PATH: process.env.PATH,
        HOME: home,
        SOPS_AGE_KEY: keys.map((k) => text(`age/${k}`)).join("\n"),
        ...azureEnv(kv.ready),
      },
      encoding: "utf8",
    });
    assert.equal(run.status, 0, `leafcrypt ${args.join(" ")}: ${run.stderr}`);
    return inPlace ? readFileSync(path, "utf8") : run.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A file's key groups as the tests compare them: kind, identity, pinned version. */
function entries(file) {
  const { keyGroups, shamirThreshold } = inspect(file, { format: "yaml" });
  const groups = keyGroups.map((g) =>
    g.map((k) => ({ kind: k.kind, identity: k.identity, version: k.version ?? null })),
  );
  return { groups, shamirThreshold };
}

/** The key groups with each entry's wrapped key too (what a rewrap changes). */
const wrapped = (file) => inspect(file, { format: "yaml" }).keyGroups.map((g) => g.map((k) => k.enc));

/** The ciphertext of the password (what a new data key changes). */
const passwordCiphertext = (file) => /password: (ENC\[[^\]]*\])/.exec(file)[1];

/** The plaintext of `file` through both front ends, which must agree; returns it. */
function opened(file, { keys = ["key1.txt"], ...options } = {}) {
  const viaCli = cli(["decrypt"], file, { keys });
  const identities = keys.map((k) => text(`age/${k}`));
  const viaJs = js("decrypt", file, { age: { identities }, ...options });
  assert.equal(viaJs, viaCli);
  return viaCli;
}

/** `version` of the Key Vault entry of `file`. */
const kvVersion = (file) => entries(file).groups.flat().find((k) => k.kind === "azure_kv").version;

/** Encrypts PLAIN for R1 and the Key Vault key (no version) through each front end. */
function encryptBoth() {
  const viaCli = cli(["encrypt", "--age", R[0], "--azure-kv", keyUrl], PLAIN);
  const viaJs = js("encrypt", PLAIN, { age: { recipients: [R[0]] }, azureKv: { keys: [keyUrl] } });
  return { viaCli, viaJs };
}

test("encrypt and decrypt: the same key entries (version pinned to the current one) and plaintext", { skip }, async () => {
  const { viaCli, viaJs } = encryptBoth();
  assert.deepEqual(entries(viaJs), entries(viaCli));
  assert.match(kvVersion(viaCli), /^[0-9a-f]{32}$/);
  for (const file of [viaCli, viaJs]) {
    // With the age identity, and with Key Vault alone (no identity).
    assert.equal(opened(file), PLAIN);
    assert.equal(opened(file, { keys: [] }), PLAIN);
  }
});

test("extract: the same value bytes", { skip }, async () => {
  const { viaCli, viaJs } = encryptBoth();
  for (const file of [viaCli, viaJs]) {
    const fromCli = cli(["decrypt", "--extract", PASSWORD], file, { keys: ["key1.txt"] });
    const fromJs = js("decrypt", file, { age: { identities: text("age/key1.txt") }, extract: PASSWORD });
    assert.equal(fromCli, "hunter2");
    assert.equal(fromJs, fromCli);
  }
});

test("rotate: both re-wrap Key Vault entries with the key's current version and edit the age keys alike", { skip }, async () => {
  const { viaCli: original } = encryptBoth();
  const pinned = kvVersion(original);
  const current = (await kv.admin("rotate", { name: "fe" })).key.kid.split("/").pop();
  assert.notEqual(current, pinned);
  const viaCli = cli(["rotate", "--add-age", R[1], "--rm-age", R[0]], original, { keys: ["key1.txt"] });
  const viaJs = js("rotate", original, {
    age: { identities: text("age/key1.txt") },
    addAge: R[1],
    removeAge: R[0],
  });
  assert.deepEqual(entries(viaJs), entries(viaCli));
  assert.equal(kvVersion(viaCli), current);
  assert.deepEqual(
    entries(viaCli).groups[0].filter((k) => k.kind === "age").map((k) => k.identity),
    [R[1]],
  );
  for (const file of [viaCli, viaJs]) {
    assert.notEqual(passwordCiphertext(file), passwordCiphertext(original), "a new data key");
    assert.equal(opened(file, { keys: ["key2.txt"] }), PLAIN);
    assert.equal(opened(file, { keys: [] }), PLAIN);
  }
});

test("set: the same plaintext; key entries and their pinned versions untouched", { skip }, async () => {
  const { viaCli: original } = encryptBoth();
  const viaCli = cli(["set", "F", PASSWORD, '"changed"'], original, { keys: ["key1.txt"], inPlace: true });
  const viaJs = js("setValues", original, {
    age: { identities: text("age/key1.txt") },
    edits: [{ path: PASSWORD, value: "changed" }],
  });
  const expected = PLAIN.replace("hunter2", "changed");
  for (const file of [viaCli, viaJs]) {
    assert.equal(opened(file), expected);
    assert.deepEqual(entries(file), entries(original));
    assert.deepEqual(wrapped(file), wrapped(original), "the same data key, the same key entries");
  }
});

test("key-group edits: groups add / delete and editKeyGroups give the same groups, versions pinned", { skip }, async () => {
  const { viaCli: original } = encryptBoth();
  const pinned = kvVersion(original);
  await kv.admin("rotate", { name: "fe" });
  const identities = text("age/key1.txt");
  const added = {
    cli: cli(["groups", "add", "-f", "F", "--age", R[2]], original, { keys: ["key1.txt"] }),
    js: js("editKeyGroups", original, { age: { identities }, addGroup: { age: [R[2]] } }),
  };
  assert.deepEqual(entries(added.js), entries(added.cli));
  assert.equal(entries(added.cli).groups.length, 2);
  assert.equal(entries(added.cli).shamirThreshold, 2);
  assert.equal(kvVersion(added.cli), pinned, "groups keep the pinned Key Vault version");
  for (const file of [added.cli, added.js]) {
    assert.equal(opened(file, { keys: ["key1.txt", "key3.txt"] }), PLAIN);
  }
  const deleted = {
    cli: cli(["groups", "delete", "-f", "F", "1"], added.cli, { keys: ["key1.txt", "key3.txt"] }),
    js: js("editKeyGroups", added.js, { age: { identities: [identities, text("age/key3.txt")] }, deleteGroup: 1 }),
  };
  assert.deepEqual(entries(deleted.js), entries(deleted.cli));
  assert.deepEqual(entries(deleted.cli).groups, entries(original).groups);
  for (const file of [deleted.cli, deleted.js]) {
    assert.equal(opened(file), PLAIN);
  }
  // The explicit policy: "current" re-wraps the Key Vault entry with the key's current version.
  const current = js("editKeyGroups", original, {
    age: { identities },
    addGroup: { age: [R[2]] },
    keyVersions: "current",
  });
  assert.notEqual(kvVersion(current), pinned);
  assert.equal(opened(current, { keys: ["key1.txt", "key3.txt"] }), PLAIN);
});
