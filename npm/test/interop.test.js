// Files encrypted by the package decrypt with the real sops 3.11 and with the native CLI
// to the same bytes sops prints for its own encryption of the same plaintext.

import assert from "node:assert/strict";
import { test } from "node:test";
import { decrypt, encrypt, inspect, rotate } from "../src/node.js";
import { R, age, cliBin, read, sopsBin, text, toolDecrypt, withFile } from "./helpers.js";

const tools = [
  ["sops", sopsBin],
  ["leafcrypt CLI", cliBin],
];

/**
 * Asserts that `encrypted` (a file named `name`) decrypts to `expected` with every tool
 * and with the package itself.
 */
async function assertDecryptsEverywhere(t, name, format, encrypted, keys, expected) {
  const ours = await decrypt(encrypted, { format, age: age(keys) });
  assert.deepEqual(Buffer.from(ours), expected, "the package itself");
  for (const [label, bin] of tools) {
    if (!bin) {
      t.diagnostic(`${label} not found: skipped`);
      continue;
    }
    withFile(name, encrypted, (path) => {
      const result = toolDecrypt(bin, path, keys);
      assert.equal(result.status, 0, `${label}: ${result.stderr}`);
      assert.deepEqual(result.stdout, expected, label);
    });
  }
}

const STORES = [
  ["yaml", "yaml/plain.yaml", "yaml/decrypted.yaml", "secret.yaml"],
  ["yaml", "yaml/multidoc.plain.yaml", "yaml/multidoc.decrypted.yaml", "multi.yaml"],
  ["json", "json/plain.json", "json/decrypted.json", "secret.json"],
  ["dotenv", "dotenv/plain.env", "dotenv/decrypted.env", "secret.env"],
  ["ini", "ini/plain.ini", "ini/decrypted.ini", "secret.ini"],
  ["binary", "binary/plain.bin", "binary/decrypted.bin", "secret.bin"],
];

for (const [format, plain, expected, name] of STORES) {
  test(`${plain}: encrypted by the package, decrypted by sops and the CLI`, async (t) => {
    const input = format === "binary" ? new Uint8Array(read(plain)) : text(plain);
    const encrypted = await encrypt(input, { format, age: { recipients: [R[0]] } });
    assert.equal(typeof encrypted, "string");
    const meta = inspect(encrypted, { format });
    assert.equal(meta.keyGroups.length, 1);
    assert.equal(meta.keyGroups[0][0].recipient, R[0]);
    assert.equal(meta.version, "3.11.0");
    assert.match(meta.lastModified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Math.abs(Date.parse(meta.lastModified) - Date.now()) < 60_000, meta.lastModified);
    await assertDecryptsEverywhere(t, name, format, encrypted, "key1.txt", read(expected));
  });
}

test("selectors: encryptedRegex and macOnlyEncrypted as sops writes them", async (t) => {
  for (const extra of [
    { encryptedRegex: "^(password|data)$" },
    { encryptedRegex: "^(password|data)$", macOnlyEncrypted: true },
    { unencryptedSuffix: "_public" },
    { encryptedCommentRegex: "sops:enc" },
  ]) {
    const encrypted = await encrypt(text("selectors/plain.yaml"), {
      format: "yaml",
      age: { recipients: R[0] },
      ...extra,
    });
    const meta = inspect(encrypted, { format: "yaml" });
    const [[option, pattern]] = Object.entries(extra);
    assert.equal(meta.selector.pattern, pattern);
    assert.equal(meta.selector.type, option.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
    assert.equal(meta.macOnlyEncrypted, extra.macOnlyEncrypted === true);
    if (option === "encryptedRegex") {
      assert.match(encrypted, /^app: /m, "a key the regex does not select stays plain");
      assert.match(encrypted, /^password: ENC\[AES256_GCM,/m);
    }
    await assertDecryptsEverywhere(t, "sel.yaml", "yaml", encrypted, "keys.txt", read("selectors/decrypted.yaml"));
  }
});

test("Shamir 2-of-3 key groups: any two groups' identities decrypt, with sops too", async (t) => {
  const encrypted = await encrypt(text("shamir/plain.yaml"), {
    format: "yaml",
    keyGroups: [{ age: [R[1]] }, { age: [R[2]] }, { age: [R[3]] }],
    shamirThreshold: 2,
  });
  const meta = inspect(encrypted, { format: "yaml" });
  assert.equal(meta.shamirThreshold, 2);
  assert.deepEqual(
    meta.keyGroups.map((g) => g.map((k) => k.recipient)),
    [[R[1]], [R[2]], [R[3]]],
  );
  await assertDecryptsEverywhere(t, "shamir.yaml", "yaml", encrypted, "keys-2-and-4.txt", read("shamir/decrypted.yaml"));
  await assert.rejects(decrypt(encrypted, { format: "yaml", age: age("key2.txt") }), { code: "NO_KEY" });
});

test("a rotated file has a new data key, keeps its values and decrypts with sops", async (t) => {
  const original = text("yaml/encrypted.yaml");
  const rotated = await rotate(original, { format: "yaml", age: age("key1.txt"), addAge: R[1] });
  const before = inspect(original, { format: "yaml" });
  const after = inspect(rotated, { format: "yaml" });
  assert.notEqual(after.keyGroups[0][0].enc, before.keyGroups[0][0].enc);
  assert.deepEqual(after.keyGroups[0].map((k) => k.recipient), [R[0], R[1]]);
  // Every value keeps its IV (sops's IV stash): the iv field of each ENC is unchanged.
  const ivs = (s) => [...s.matchAll(/ENC\[AES256_GCM,data:[^,]*,iv:([^,]+),/g)].map((m) => m[1]);
  assert.deepEqual(ivs(rotated).slice(0, -1), ivs(original).slice(0, -1));
  await assertDecryptsEverywhere(t, "rotated.yaml", "yaml", rotated, "key2.txt", read("yaml/decrypted.yaml"));
});

