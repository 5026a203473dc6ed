// SSH keys as age recipients and identities in the WebAssembly build, with the throwaway
// keys of tests/vectors/age-ssh; age plugins are refused there with a clear error.

import assert from "node:assert/strict";
import { test } from "node:test";
import { decrypt, encrypt } from "../src/node.js";
import { text } from "./helpers.js";

const key = (name) => text(`age-ssh/${name}`);

test("the file sops encrypted to SSH keys decrypts with an SSH private key", async () => {
  for (const name of ["id_ed25519", "id_rsa"]) {
    const out = await decrypt(text("age-ssh/encrypted.yaml"), {
      format: "yaml",
      age: { identities: key(name) },
    });
    assert.equal(out, text("age-ssh/plain.yaml"), name);
  }
});

test("SSH public keys as recipients, kept as given", async () => {
  const recipient = key("id_rsa.pub").trim();
  const encrypted = await encrypt("a: 1\n", { format: "yaml", age: { recipients: recipient } });
  assert.ok(encrypted.includes(`- recipient: ${recipient}\n`), encrypted);
  const out = await decrypt(encrypted, { format: "yaml", age: { identities: [key("id_ed25519"), key("id_rsa")] } });
  assert.equal(out, "a: 1\n");
});

test("age plugin recipients and identities say that WebAssembly cannot run plugins", async () => {
  const recipient = "age1leafcrypttest1x9ruz62pt63jzvt4845mcrxxpudt4mmmkxh86gknlwyq423hgfwsrk8m9h";
  await assert.rejects(encrypt("a: 1\n", { format: "yaml", age: { recipients: recipient } }), /age-plugin-leafcrypttest.*WebAssembly/);
  const identity = "AGE-PLUGIN-LEAFCRYPTTEST-1YFG6NWVRP2NMKS3ZU5CL2SERNV57GF6YW0VQFXAHZLX0R97QG2EQ3ZS9RV";
  await assert.rejects(decrypt(text("age-ssh/encrypted.yaml"), { format: "yaml", age: { identities: identity } }), /age-plugin-leafcrypttest.*WebAssembly/);
});
