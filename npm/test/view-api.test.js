// The viewer's functions: structure (no key), decryptStructure (MAC verdict instead of a
// rejection) and setValues (same data key, new MAC; the result opens with sops 3.11).

import assert from "node:assert/strict";
import { test } from "node:test";
import { decrypt, decryptStructure, decryptToObject, inspect, setValues, structure } from "../src/node.js";
import { age, sopsBin, text, toolDecrypt, withFile } from "./helpers.js";

/** Every value/comment node of a structure, depth first. */
function leaves(documents) {
  const out = [];
  const walk = (node) => {
    if (node.children) node.children.forEach(walk);
    else if (node.kind === "value" || node.kind === "comment") out.push(node);
  };
  documents.forEach(walk);
  return out;
}

/**
 * Pairs every value node with decryptToObject's value at the same place (which has no
 * comments, so list items are matched by their position among non-comments).
 */
function* pairs(node, data) {
  if (node.kind === "value") {
    yield [node, data];
    return;
  }
  const children = (node.children ?? []).filter((c) => c.kind !== "comment");
  for (const [i, child] of children.entries()) {
    yield* pairs(child, node.kind === "list" ? data[i] : data[child.key]);
  }
}

/** A float's plaintext (Go's formatting: `+Inf`, `NaN`) as a JS number. */
const goFloat = (t) => ({ "+Inf": Infinity, "-Inf": -Infinity })[t] ?? Number(t);

const STORES = [
  ["yaml", "yaml/encrypted.yaml"],
  ["json", "json/encrypted.json"],
  ["dotenv", "dotenv/encrypted.env"],
  ["ini", "ini/encrypted.ini"],
];

for (const [format, path] of STORES) {
  test(`${path}: structure masks every encrypted value; decryptStructure's texts equal decryptToObject's values`, async () => {
    const file = text(path);
    const masked = structure(file, { format });
    const encrypted = leaves(masked.documents).filter((n) => n.encrypted);
    assert.ok(encrypted.length > 0);
    for (const node of encrypted) {
      assert.equal(node.text, undefined, node.path);
      assert.ok(node.ciphertext.startsWith("ENC[AES256_GCM,data:"), node.path);
    }
    assert.deepEqual(masked.metadata, inspect(file, { format }));

    const opened = await decryptStructure(file, { format, age: age("key1.txt") });
    assert.equal(opened.mac, "verified");
    const values = leaves(opened.documents).filter((n) => n.kind === "value" && n.encrypted);
    assert.equal(values.length, encrypted.filter((n) => n.kind === "value").length);
    const data = await decryptToObject(file, { format, age: age("key1.txt") });
    const paired = [...pairs(opened.documents[0], data)].filter(([node]) => node.encrypted);
    assert.equal(paired.length, values.length);
    for (const [node, expected] of paired) {
      if (node.type === "float") assert.equal(goFloat(node.text), expected, node.path);
      else assert.equal(node.text, String(expected), node.path);
    }
  });
}

test("decryptStructure reports a MAC mismatch and still shows the values", async () => {
  for (const tampered of ["tamper/list-swap.yaml", "tamper/lastmodified.yaml", "tamper/mac-empty.yaml"]) {
    const opened = await decryptStructure(text(tampered), { format: "yaml", age: age("key1.txt") });
    assert.equal(opened.mac, "mismatch", tampered);
    assert.match(opened.macError, /MAC/, tampered);
    assert.ok(!/[0-9A-F]{64}/.test(opened.macError), "no hash in the message");
    assert.ok(leaves(opened.documents).some((n) => n.encrypted && n.text !== undefined), tampered);
  }
  await assert.rejects(
    decryptStructure(text("tamper/ciphertext-byte.yaml"), { format: "yaml", age: age("key1.txt") }),
    (e) => e.code === "DECRYPT_VALUE",
  );
  await assert.rejects(
    decryptStructure(text("yaml/encrypted.yaml"), { format: "yaml", age: age("key2.txt") }),
    (e) => e.code === "NO_KEY",
  );
});

test("setValues re-encrypts with the same data key: other ciphertexts unchanged, sops decrypts", async (t) => {
  const file = text("yaml/encrypted.yaml");
  const before = structure(file, { format: "yaml" });
  const target = leaves(before.documents).find((n) => n.kind === "value" && n.type === "int");
  const edited = await setValues(file, {
    format: "yaml",
    age: age("key1.txt"),
    edits: [{ path: target.path, value: "4242", type: "int" }],
  });
  const after = structure(edited, { format: "yaml" });
  const old = new Map(leaves(before.documents).map((n) => [n.path + n.ciphertext, n]));
  const changed = leaves(after.documents).filter((n) => n.encrypted && !old.has(n.path + n.ciphertext));
  assert.deepEqual(
    changed.map((n) => n.path),
    [target.path],
  );
  // Same key entries (the data key was not re-wrapped), a new MAC.
  assert.deepEqual(after.metadata.keyGroups, before.metadata.keyGroups);
  const plain = await decrypt(edited, { format: "yaml", age: age("key1.txt"), extract: target.path });
  assert.equal(plain, "4242\n");
  if (!sopsBin) {
    t.diagnostic("sops not found: skipped");
    return;
  }
  withFile("edited.yaml", edited, (path) => {
    const result = toolDecrypt(sopsBin, path, "key1.txt");
    assert.equal(result.status, 0, result.stderr);
    assert.match(String(result.stdout), /: 4242\n/);
  });
});

test("setValues refuses a tampered file and bad edits", async () => {
  const options = (edits) => ({ format: "yaml", age: age("key1.txt"), edits });
  await assert.rejects(
    setValues(text("tamper/list-swap.yaml"), options([{ path: '["a"]', value: "x" }])),
    (e) => e.code === "MAC_MISMATCH",
  );
  const file = text("yaml/encrypted.yaml");
  await assert.rejects(setValues(file, options([])), (e) => e.code === "INVALID_OPTIONS");
  await assert.rejects(
    setValues(file, options([{ path: '["int"]', value: "4x", type: "int" }])),
    (e) => e.code === "INVALID_OPTIONS" && /not a valid int/.test(e.message),
  );
  await assert.rejects(setValues(file, options([{ path: "int", value: 1 }])), (e) => e.code === "TREE_PATH");
  await assert.rejects(
    setValues(file, options([{ path: '["int"]', value: 1, document: 3 }])),
    (e) => e.code === "INVALID_OPTIONS",
  );
});
