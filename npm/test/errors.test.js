// Failures are LeafcryptErrors with sops's exit code, a stable code and the key path.

import assert from "node:assert/strict";
import { test } from "node:test";
import { LeafcryptError, decrypt, encrypt, inspect } from "../src/node.js";
import { R, age, read, text } from "./helpers.js";

const CODES = { 25: "DECRYPT_VALUE", 51: "MAC_MISMATCH" };

/** The first line of sops's stderr for a tamper vector. */
const sopsMessage = (name) => text(`tamper/${name}.stderr`).split("\n")[0];

for (const name of ["ciphertext-byte", "renamed-key", "unencrypted-value", "deleted-value", "list-swap", "mac-ciphertext", "lastmodified", "mac-empty"]) {
  test(`tamper/${name}.yaml is refused like sops refuses it`, async () => {
    const exitCode = Number(text(`tamper/${name}.exit`).trim());
    const error = await decrypt(read(`tamper/${name}.yaml`), { format: "yaml", age: age("keys.txt") }).then(
      () => assert.fail("decrypted a tampered file"),
      (e) => e,
    );
    assert.ok(error instanceof LeafcryptError && error instanceof Error);
    assert.equal(error.name, "LeafcryptError");
    assert.equal(error.exitCode, exitCode);
    assert.equal(error.code, CODES[exitCode]);
    const want = sopsMessage(name);
    if (error.path === undefined) {
      assert.equal(error.message, want);
    } else {
      assert.equal(error.message, `${want} (at key path '${error.path}')`);
    }
    if (name === "ciphertext-byte") assert.equal(error.path, "str");
  });
}

test("a tampered JS-encrypted file throws MAC_MISMATCH", async () => {
  const plain = JSON.stringify({ password: "hunter2", port_public: 8080, list: ["a", "b"] });
  const encrypted = await encrypt(plain, { format: "json", age: { recipients: R[0] }, unencryptedSuffix: "_public" });
  const options = { format: "json", age: age("key1.txt") };
  assert.equal(JSON.parse(await decrypt(encrypted, options)).port_public, 8080);
  const changed = encrypted.replace('"port_public": 8080', '"port_public": 8081');
  assert.notEqual(changed, encrypted);
  await assert.rejects(decrypt(changed, options), { code: "MAC_MISMATCH", exitCode: 51 });
  // Swapping two encrypted list items keeps GCM happy; the MAC catches it.
  const [a, b] = [...encrypted.matchAll(/"(ENC\[[^"]+\])"/g)].slice(1, 3).map((m) => m[1]);
  const swapped = encrypted.replace(a, "\0").replace(b, a).replace("\0", b);
  await assert.rejects(decrypt(swapped, options), { code: "MAC_MISMATCH" });
  // ignoreMac lets it through, as sops's --ignore-mac.
  assert.equal(JSON.parse(await decrypt(changed, { ...options, ignoreMac: true })).port_public, 8081);
});

test("sops's list-comment bug vector fails its MAC check here too", async () => {
  const error = await decrypt(read("selectors/bug-list-comment.yaml"), { format: "yaml", age: age("keys.txt") }).catch((e) => e);
  assert.equal(error.code, "MAC_MISMATCH");
  assert.equal(error.exitCode, Number(text("selectors/bug-list-comment.exit").trim()));
  assert.equal(error.message, text("selectors/bug-list-comment.stderr").split("\n")[0]);
});

test("missing keys: NO_KEY with sops's report", async () => {
  const error = await decrypt(read("yaml/encrypted.yaml"), { format: "yaml", age: age("key2.txt") }).catch((e) => e);
  assert.equal(error.code, "NO_KEY");
  assert.equal(error.exitCode, 128);
  assert.equal(error.message.split("\n")[0], text("tamper/no-identity.stderr").split("\n")[0]);
  const none = await decrypt(read("yaml/encrypted.yaml"), { format: "yaml" }).catch((e) => e);
  assert.equal(none.code, "NO_KEY");
  const shamir = await decrypt(read("shamir/shamir-2of3.json"), { format: "json", age: age("key2.txt") }).catch((e) => e);
  assert.equal(shamir.code, "NO_KEY");
  assert.match(shamir.message, /Shamir threshold of\n2, but only 1 part\(s\) were successfully recovered/);
});

test("inputs that are not what they claim to be", async () => {
  await assert.rejects(decrypt("a: [", { format: "yaml" }), { code: "PARSE", exitCode: 2 });
  await assert.rejects(decrypt("a: 1\n", { format: "yaml" }), { code: "METADATA_NOT_FOUND" });
  assert.throws(() => inspect(read("yaml/plain.yaml"), { format: "yaml" }), { code: "METADATA_NOT_FOUND" });
  await assert.rejects(encrypt(read("yaml/encrypted.yaml"), { format: "yaml", age: { recipients: R[0] } }), {
    code: "ALREADY_ENCRYPTED",
    exitCode: 203,
  });
  await assert.rejects(decrypt(read("yaml/encrypted.yaml"), { format: "yaml", age: age("key1.txt"), extract: '["nope"]' }), {
    code: "TREE_PATH",
  });
});

test("bad options are INVALID_OPTIONS naming the option", async () => {
  const cases = [
    [{}, /options\.format is required/],
    [{ format: "xml" }, /'xml' is not one of/],
    [{ format: "yaml", age: { recipients: ["age1nope"] } }, /options\.age\.recipients/],
    [{ format: "yaml", age: { identities: ["AGE-SECRET-KEY-1NOPE"] } }, /options\.age\.identities: .*line 1/],
    [{ format: "yaml", age: { recipients: R[0] }, encryptedRegex: "a", unencryptedRegex: "b" }, /at most one of/],
    [{ format: "yaml", age: { recipients: R[0] }, macOnlyEncrypted: "yes" }, /options\.macOnlyEncrypted must be a boolean/],
    [{ format: "yaml", age: { recipients: R[0] }, indent: -1 }, /options\.indent must be a non-negative integer/],
    [{ format: "yaml" }, /no keys to encrypt for/],
    [{ format: "yaml", kek: { id: "x", wrap: () => {} } }, /kek 'x': unwrap must be a function/],
    [{ format: "yaml", azureKv: { keys: "https://v/keys/k" } }, /options\.azureKv\.getToken must be a function/],
    [{ format: "yaml", azureKv: { getToken: () => "t", keys: "http://v/keys/k" } }, /options\.azureKv\.keys: /],
    [{ format: "yaml", azureKv: { getToken: () => "t", keys: "https://v/keys/k", endpoint: "ftp://x" } }, /options\.azureKv: .*endpoint "ftp:\/\/x"/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(encrypt("a: 1\n", options), { code: "INVALID_OPTIONS", message }, JSON.stringify(options));
  }
  // A bad identity never appears in the message.
  const error = await encrypt("a: 1\n", { format: "yaml", age: { identities: "AGE-SECRET-KEY-1SECRETSECRET" } }).catch((e) => e);
  assert.doesNotMatch(error.message, /SECRETSECRET/);
  // azureKv is usable alongside age: a file without Key Vault keys never calls getToken.
  let asked = false;
  const plain = await decrypt(read("yaml/encrypted.yaml"), {
    format: "yaml",
    age: { identities: text("age/key1.txt") },
    azureKv: { getToken: async () => ((asked = true), "t") },
  });
  assert.equal(plain, text("yaml/decrypted.yaml"));
  assert.equal(asked, false);
  await assert.rejects(decrypt(42, { format: "yaml" }), { code: "INVALID_INPUT" });
});
