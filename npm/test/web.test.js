// The browser/bundler build, loaded in Node from the .wasm bytes (as a page would pass a
// URL): same results as the Node build; `inspect` before `init()` says what to do.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as web from "../src/web.js";
import { R, age, read, text } from "./helpers.js";

const wasmBytes = () => readFileSync(new URL("../pkg/web/leafcrypt_wasm_bg.wasm", import.meta.url));

test("the web build: inspect before init is NOT_INITIALIZED, then everything works", async () => {
  assert.throws(() => web.inspect(read("yaml/encrypted.yaml"), { format: "yaml" }), {
    code: "NOT_INITIALIZED",
    message: /await init\(\)/,
  });
  await web.init(wasmBytes());
  await web.init(); // a second call reuses the first load
  assert.equal(web.inspect(read("yaml/encrypted.yaml"), { format: "yaml" }).keyGroups[0][0].recipient, R[0]);
  assert.equal(await web.decrypt(read("yaml/encrypted.yaml"), { format: "yaml", age: age("key1.txt") }), text("yaml/decrypted.yaml"));
  const encrypted = await web.encrypt("k: v\n", { format: "yaml", age: { recipients: R[0] } });
  assert.deepEqual(await web.decryptToObject(encrypted, { format: "yaml", age: age("key1.txt") }), { k: "v" });
  await assert.rejects(web.decrypt(read("tamper/list-swap.yaml"), { format: "yaml", age: age("keys.txt") }), (e) => {
    assert.ok(e instanceof web.LeafcryptError);
    assert.equal(e.code, "MAC_MISMATCH");
    return true;
  });
});
