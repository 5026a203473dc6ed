// The viewer's pure modules in Node: the version diff and the page config (format
// detection is the core's: npm/test/format.test.js).

import assert from "node:assert/strict";
import { test } from "node:test";
import { classify, diffKeySources, diffMetadata, diffStructures } from "../src/diff.js";

const enc = (ciphertext, text, type = "str") => ({ kind: "value", encrypted: true, ciphertext, text, type });
const plain = (text, type = "str") => ({ kind: "value", encrypted: false, text, type });
const meta = (keyGroups, extra = {}) => ({
  keyGroups,
  shamirThreshold: 0,
  lastModified: "2026-01-01T00:00:00Z",
  selector: { type: "unencrypted_suffix", pattern: "_unencrypted" },
  macOnlyEncrypted: false,
  version: "3.11.0",
  ...extra,
});

/** A one-document structure from `{ key: node }` (nested objects become maps). */
function doc(entries, metadata = meta([])) {
  const map = (obj, path) => ({
    kind: "map",
    path,
    children: Object.entries(obj).map(([key, node]) => {
      const p = `${path}["${key}"]`;
      return node.kind ? { ...node, key, path: p } : { ...map(node, p), key };
    }),
  });
  return { documents: [map(entries, "")], metadata };
}

test("classify: ciphertext comparison without keys, plaintext comparison with them", () => {
  assert.equal(classify(enc("A"), enc("A")), "unchanged");
  assert.equal(classify(enc("A"), enc("B")), "ciphertext");
  assert.equal(classify(enc("A", "x"), enc("B", "x")), "re-encrypted");
  assert.equal(classify(enc("A", "x"), enc("B", "y")), "changed");
  assert.equal(classify(enc("A", "1", "int"), enc("B", "1", "str")), "changed");
  assert.equal(classify(enc("A"), plain("x")), "now-unencrypted");
  assert.equal(classify(plain("x"), enc("A")), "now-encrypted");
  assert.equal(classify(plain("x"), plain("x")), "unchanged");
  assert.equal(classify(plain("x"), plain("y")), "changed");
  assert.equal(classify(plain("x"), { kind: "null" }), "changed");
});

test("diffStructures lists added, removed and rewritten keys in order", () => {
  const before = doc({ a: enc("A"), b: enc("B"), gone: enc("G"), nested: { n: plain("1", "int") } });
  const after = doc({ a: enc("A"), b: enc("B2"), nested: { n: plain("2", "int") }, fresh: enc("F") });
  const diff = diffStructures(before, after);
  assert.deepEqual(
    diff.entries.map((e) => [e.path, e.change]),
    [
      ['["a"]', "unchanged"],
      ['["b"]', "ciphertext"],
      ['["gone"]', "removed"],
      ['["nested"]["n"]', "changed"],
      ['["fresh"]', "added"],
    ],
  );
  assert.deepEqual(diff.counts, { unchanged: 1, ciphertext: 1, removed: 1, changed: 1, added: 1 });
  assert.equal(diff.allCiphertextsChanged, false);
  const rotated = diffStructures(before, doc({ a: enc("A2"), b: enc("B2"), gone: enc("G2") }));
  assert.equal(rotated.allCiphertextsChanged, true);
});

test("key sources: added, removed and re-wrapped per group; metadata fields", () => {
  const age = (r, e) => ({ kind: "age", identity: r, recipient: r, enc: e });
  const before = meta([[age("age1a", "x"), age("age1b", "y")]]);
  const after = meta([[age("age1a", "x2"), age("age1c", "z")], [age("age1d", "w")]], {
    shamirThreshold: 2,
    lastModified: "2026-02-01T00:00:00Z",
  });
  assert.deepEqual(diffKeySources(before, after), [
    { group: 0, change: "re-wrapped", kind: "age", identity: "age1a" },
    { group: 0, change: "removed", kind: "age", identity: "age1b" },
    { group: 0, change: "added", kind: "age", identity: "age1c" },
    { group: 1, change: "added", kind: "age", identity: "age1d" },
  ]);
  assert.deepEqual(
    diffMetadata(before, after).map((d) => d.field),
    ["lastmodified", "key groups", "shamir threshold"],
  );
  assert.deepEqual(diffKeySources(before, before), []);
});

test("config: origins only, http for loopback only; the CSP lists exactly what is configured", async () => {
  const { contentSecurityPolicy, normalize, pageConfig } = await import("../config.mjs");
  for (const bad of ["http://evil.example", "https://a.example; script-src *", "https://a.example/path", "'unsafe-inline'", "*"]) {
    assert.throws(() => normalize({ kvProxyOrigins: [bad] }), /viewer config/, bad);
  }
  assert.throws(() => normalize({ loginHost: "https://login.example 'unsafe-eval'" }), /viewer config/);
  assert.throws(() => normalize({ msal: { script: "../../etc/x.js" } }), /msal.script/);
  const config = normalize({
    kvProxyOrigins: ["http://127.0.0.1:9000", "http://localhost:*"],
    keyVaultHosts: ["https://*.vault.azure.net", "https://vault.internal.example:8443"],
  });
  assert.throws(() => normalize({ awsKmsHosts: ["http://kms.example"] }), /awsKmsHosts\[0\]/);
  assert.throws(() => normalize({ vaultHosts: ["http://vault.example:8200"] }), /vaultHosts\[0\]/);
  assert.throws(() => normalize({ gcpKmsHosts: "https://cloudkms.googleapis.com" }), /gcpKmsHosts must be an array/);
  const csp = contentSecurityPolicy(config);
  const connect = csp.split("; ").find((d) => d.startsWith("connect-src "));
  assert.equal(
    connect,
    "connect-src 'self' http://127.0.0.1:9000 http://localhost:* https://*.vault.azure.net https://vault.internal.example:8443 https://*.amazonaws.com https://cloudkms.googleapis.com https://login.microsoftonline.com",
  );
  assert.ok(!csp.includes("frame-src") && !csp.includes("frame-ancestors"));
  assert.match(contentSecurityPolicy(config, { frameAncestors: true }), /; frame-ancestors 'none'$/);
  const withMsal = normalize({ msal: { clientId: "c", tenantId: "t" } });
  assert.match(contentSecurityPolicy(withMsal), /frame-src https:\/\/login\.microsoftonline\.com/);
  assert.deepEqual(Object.keys(pageConfig(withMsal)).sort(), ["kvProxy", "loginHost", "msal"]);
});
