// The callback KEK: data keys wrapped by user functions (here WebCrypto AES-GCM), stored
// as `callback_kek` entries that sops ignores and the package round-trips.

import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { test } from "node:test";
import { decrypt, decryptToObject, encrypt, inspect, rotate } from "../src/node.js";
import { R, age, read, sopsBin, text, toolDecrypt, withFile } from "./helpers.js";

const { subtle } = webcrypto;

/** A KEK over a fresh AES-256-GCM key: `enc` = 12-byte nonce ‖ ciphertext+tag. */
async function aesKek(id) {
  const key = await subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  const calls = { wrap: 0, unwrap: 0, seen: [] };
  return {
    calls,
    kek: {
      id,
      async wrap(dek) {
        calls.wrap++;
        calls.seen.push(dek);
        const iv = webcrypto.getRandomValues(new Uint8Array(12));
        const sealed = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv }, key, dek));
        return new Uint8Array([...iv, ...sealed]);
      },
      async unwrap(enc) {
        calls.unwrap++;
        const plain = await subtle.decrypt({ name: "AES-GCM", iv: enc.subarray(0, 12) }, key, enc.subarray(12));
        return new Uint8Array(plain);
      },
    },
  };
}

const PLAIN = "db:\n    password: hunter2\n    port: 5432\n";

test("encrypt and decrypt with only a callback KEK", async () => {
  const { kek, calls } = await aesKek("webcrypto:test");
  const encrypted = await encrypt(PLAIN, { format: "yaml", kek });
  assert.equal(calls.wrap, 1);
  assert.match(encrypted, /^\s+password: ENC\[AES256_GCM,/m);
  const [[entry]] = inspect(encrypted, { format: "yaml" }).keyGroups;
  assert.equal(entry.kind, "callback_kek");
  assert.equal(entry.id, "webcrypto:test");
  assert.equal(entry.identity, "webcrypto:test");
  assert.match(entry.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  // 12-byte nonce + 32-byte key + 16-byte tag, base64.
  assert.equal(Buffer.from(entry.enc, "base64").length, 60);
  assert.equal(await decrypt(encrypted, { format: "yaml", kek }), PLAIN);
  assert.equal(calls.unwrap, 1);
  // The data key handed to wrap is zeroed once wrap has resolved.
  assert.ok(calls.seen[0].every((b) => b === 0));
  assert.deepEqual(await decryptToObject(encrypted, { format: "yaml", kek }), { db: { password: "hunter2", port: 5432 } });
});

test("a KEK that cannot unwrap, or another KEK id, is NO_KEY with the callback's reason", async () => {
  const { kek } = await aesKek("k1");
  const { kek: other } = await aesKek("k1");
  const encrypted = await encrypt(PLAIN, { format: "yaml", kek });
  const error = await decrypt(encrypted, { format: "yaml", kek: other }).catch((e) => e);
  assert.equal(error.code, "NO_KEY");
  assert.match(error.message, /kek 'k1': unwrap rejected: .*/);
  const renamed = { ...kek, id: "k2" };
  await assert.rejects(decrypt(encrypted, { format: "yaml", kek: renamed }), { code: "NO_KEY" });
  const throwing = { ...kek, unwrap: () => { throw new Error("HSM offline"); } };
  await assert.rejects(decrypt(encrypted, { format: "yaml", kek: throwing }), { code: "NO_KEY", message: /unwrap threw: HSM offline/ });
  const wrong = { ...kek, wrap: () => "not bytes" };
  await assert.rejects(encrypt(PLAIN, { format: "yaml", kek: wrong }), { code: "NO_KEY", message: /wrap must return a Uint8Array/ });
});

test("synchronous callbacks; ArrayBuffer, DataView and Buffer results", async () => {
  const mask = 0x5a;
  const kek = {
    id: "xor",
    wrap: (dek) => dek.map((b) => b ^ mask).buffer,
    unwrap: (enc) => enc.map((b) => b ^ mask),
  };
  const encrypted = await encrypt('{"a": "b"}', { format: "json", kek });
  assert.equal(await decrypt(encrypted, { format: "json", kek }), '{\n\t"a": "b"\n}\n');
  // A view into the middle of a larger buffer: only the view's bytes count.
  const viaView = {
    ...kek,
    unwrap: (enc) => {
      const big = new Uint8Array(enc.length + 8);
      big.set(enc.map((b) => b ^ mask), 4);
      return new DataView(big.buffer, 4, enc.length);
    },
  };
  assert.equal(await decrypt(encrypted, { format: "json", kek: viaView }), '{\n\t"a": "b"\n}\n');
  const viaBuffer = { ...kek, unwrap: (enc) => Buffer.from(enc.map((b) => b ^ mask)) };
  assert.equal(await decrypt(encrypted, { format: "json", kek: viaBuffer }), '{\n\t"a": "b"\n}\n');
});

test("age + KEK: sops decrypts through age and keeps the unknown entry out of its way", async (t) => {
  const { kek, calls } = await aesKek("aws-kms:alias/app");
  const encrypted = await encrypt(text("yaml/plain.yaml"), { format: "yaml", age: { recipients: R[0] }, kek });
  const kinds = inspect(encrypted, { format: "yaml" }).keyGroups[0].map((k) => k.kind);
  assert.deepEqual(kinds, ["age", "callback_kek"]);
  assert.match(encrypted, /^    callback_kek:\n        - id: aws-kms:alias\/app\n/m);
  // Either key opens it; age is tried first, as in sops.
  assert.equal(await decrypt(encrypted, { format: "yaml", kek }), text("yaml/decrypted.yaml"));
  const before = calls.unwrap;
  assert.equal(await decrypt(encrypted, { format: "yaml", age: age("key1.txt"), kek }), text("yaml/decrypted.yaml"));
  assert.equal(calls.unwrap, before, "age opened it without calling the KEK");
  if (!sopsBin) return t.diagnostic("sops not found: skipped");
  withFile("mixed.yaml", encrypted, (path) => {
    const result = toolDecrypt(sopsBin, path, "key1.txt");
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(result.stdout, read("yaml/decrypted.yaml"));
  });
});

test("rotate with a KEK re-wraps a fresh data key through the callback", async () => {
  const { kek, calls } = await aesKek("k");
  const encrypted = await encrypt(PLAIN, { format: "yaml", kek });
  const rotated = await rotate(encrypted, { format: "yaml", kek, addAge: R[0] });
  assert.equal(calls.wrap, 2);
  const entries = inspect(rotated, { format: "yaml" }).keyGroups[0];
  // Kinds sops does not know are written after the ones it knows.
  assert.deepEqual(entries.map((k) => k.kind), ["age", "callback_kek"]);
  assert.equal(await decrypt(rotated, { format: "yaml", age: age("key1.txt") }), PLAIN);
  const removed = await rotate(rotated, { format: "yaml", kek, removeKek: "k" });
  assert.deepEqual(inspect(removed, { format: "yaml" }).keyGroups[0].map((k) => k.kind), ["age"]);
});
