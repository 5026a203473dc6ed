// decryptToObject's JS values, binary files as Uint8Array, inspect without a key.

import assert from "node:assert/strict";
import { test } from "node:test";
import { decrypt, decryptToObject, encrypt, inspect } from "../src/node.js";
import { R, age, read, text } from "./helpers.js";

test("decryptToObject of the JSON vector equals JSON.parse of sops's plaintext", async () => {
  const data = await decryptToObject(read("json/encrypted.json"), { format: "json", age: age("keys.txt") });
  assert.deepEqual(data, JSON.parse(text("json/decrypted.json")));
});

test("decryptToObject of the YAML vector: typed scalars, nesting, no comments", async () => {
  const data = await decryptToObject(read("yaml/encrypted.yaml"), { format: "yaml", age: age("key1.txt") });
  const plain = text("yaml/decrypted.yaml");
  // Every top-level key of sops's plaintext, in order.
  const keys = [...plain.matchAll(/^([A-Za-z_][\w-]*):/gm)].map((m) => m[1]);
  assert.deepEqual(Object.keys(data), keys);
  for (const [key, value] of Object.entries(data)) {
    const line = new RegExp(`^${key}: (.*)$`, "m").exec(plain)?.[1];
    const yamlNumber = (t) => ({ ".inf": Infinity, "-.inf": -Infinity, ".nan": NaN })[t] ?? Number(t);
    if (typeof value === "number") assert.equal(yamlNumber(line), value, key);
    if (typeof value === "boolean") assert.equal(line, String(value), key);
    if (value === null) assert.equal(line, "null", key);
  }
  assert.ok(Object.values(data).some((v) => typeof v === "number" && !Number.isInteger(v)), "has floats");
  assert.ok(Object.values(data).some((v) => typeof v === "object" && v !== null && !Array.isArray(v)), "has maps");
});

test("decryptToObject: multi-document YAML is an array; big ints are BigInt; __proto__ is data", async () => {
  const docs = await decryptToObject(read("yaml/multidoc.encrypted.yaml"), { format: "yaml", age: age("keys.txt") });
  assert.ok(Array.isArray(docs));
  assert.equal(docs.length, 3);
  const plain = "big: 9007199254740993\nsafe: 9007199254740991\n__proto__:\n    polluted: true\nwhen: 2024-01-02T03:04:05Z\n";
  const encrypted = await encrypt(plain, { format: "yaml", age: { recipients: R[0] } });
  const data = await decryptToObject(encrypted, { format: "yaml", age: age("key1.txt") });
  assert.equal(data.big, 9007199254740993n);
  assert.equal(data.safe, 9007199254740991);
  assert.equal(Object.getPrototypeOf(data), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(data, "__proto__").value, { polluted: true });
  assert.equal({}.polluted, undefined);
  assert.equal(data.when, "2024-01-02T03:04:05Z");
});

test("binary: Uint8Array in, Uint8Array out, byte for byte (not UTF-8)", async () => {
  const bytes = new Uint8Array(4096).map((_, i) => (i * 7919) % 256);
  assert.throws(() => new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  const encrypted = await encrypt(bytes, { format: "binary", age: { recipients: R[0] } });
  const parsed = JSON.parse(encrypted);
  assert.match(parsed.data, /^ENC\[AES256_GCM,data:.*,type:str\]$/);
  assert.equal(parsed.sops.unencrypted_suffix, undefined, "binary files store no selector");
  const out = await decrypt(encrypted, { format: "binary", age: age("key1.txt") });
  assert.ok(out instanceof Uint8Array);
  assert.deepEqual(out, bytes);
  // The sops vector too, and an ArrayBuffer input.
  const vector = read("binary/encrypted.bin");
  const fromBuffer = vector.buffer.slice(vector.byteOffset, vector.byteOffset + vector.byteLength);
  const plain = await decrypt(fromBuffer, { format: "binary", age: age("key1.txt") });
  assert.deepEqual(Buffer.from(plain), read("binary/decrypted.bin"));
  // outputFormat: the same file's tree as JSON text.
  const asJson = await decrypt(encrypted, { format: "binary", outputFormat: "json", age: age("key1.txt") });
  assert.equal(typeof asJson, "string");
});

test("inspect needs no key and reports groups, selector, threshold and version", () => {
  const shamir = inspect(read("shamir/shamir-2of3.yaml"), { format: "yaml" });
  assert.equal(shamir.shamirThreshold, 2);
  assert.deepEqual(
    shamir.keyGroups.map((g) => g.map((k) => k.recipient)),
    [[R[1]], [R[2]], [R[3]]],
  );
  assert.equal(shamir.hasMac, true);
  const selected = inspect(text("selectors/mac-only-encrypted.yaml"), { format: "yaml" });
  assert.deepEqual(selected.selector, { type: "encrypted_regex", pattern: "^(password|data)$" });
  assert.equal(selected.macOnlyEncrypted, true);
  const all = inspect(read("metadata/all-kinds.yaml"), { format: "yaml" });
  const kinds = all.keyGroups[0].map((k) => k.kind).sort();
  assert.deepEqual(kinds, ["age", "azure_kv", "gcp_kms", "hc_vault", "hckms", "kms", "pgp"]);
  const legacy = inspect(read("legacy/legacy-3.7-style.yaml"), { format: "yaml" });
  assert.equal(legacy.version, "3.7.3");
  assert.equal(inspect(read("binary/encrypted.bin"), { format: "binary" }).selector, null);
});

test("outputFormat, indent and extract behave as the CLI's flags", async () => {
  const options = { format: "yaml", age: age("keys.txt") };
  const file = read("selectors/encrypted-regex.yaml");
  const asJson = await decrypt(file, { ...options, outputFormat: "json", indent: 2 });
  assert.match(asJson, /^\{\n {2}"/);
  const data = await decryptToObject(file, options);
  assert.deepEqual(JSON.parse(asJson), data);
  const value = await decrypt(file, { ...options, extract: '["password"]' });
  assert.equal(value, data.password);
  // YAML's .inf has no JSON form: refused as sops refuses it.
  await assert.rejects(decrypt(read("yaml/encrypted.yaml"), { ...options, outputFormat: "json" }), {
    code: "EMIT",
    exitCode: 4,
  });
});
