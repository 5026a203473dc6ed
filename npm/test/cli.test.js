// The package's `leafcrypt` command.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { R, read, vectors, withFile } from "./helpers.js";

const bin = fileURLToPath(new URL("../bin/leafcrypt.js", import.meta.url));

function run(args, env = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH, HOME: "/nonexistent", ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: String(result.stderr) };
}

const key1 = { SOPS_AGE_KEY_FILE: join(vectors, "age/key1.txt") };

test("decrypt prints sops's plaintext; the format comes from the extension", () => {
  for (const [file, expected] of [
    ["yaml/encrypted.yaml", "yaml/decrypted.yaml"],
    ["binary/encrypted.bin", "binary/decrypted.bin"],
  ]) {
    const result = run(["decrypt", join(vectors, file)], key1);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(result.stdout, read(expected));
  }
  const inline = run(["decrypt", join(vectors, "yaml/encrypted.yaml")], {
    SOPS_AGE_KEY: readFileSync(join(vectors, "age/key1.txt"), "utf8"),
  });
  assert.deepEqual(inline.stdout, read("yaml/decrypted.yaml"));
});

test("failures exit with sops's code and message", () => {
  const tampered = run(["decrypt", join(vectors, "tamper/list-swap.yaml")], key1);
  assert.equal(tampered.status, 51);
  assert.match(tampered.stderr, /^MAC mismatch\. File has /);
  const noKey = run(["decrypt", join(vectors, "yaml/encrypted.yaml")]);
  assert.equal(noKey.status, 128);
  assert.equal(run(["frobnicate", "x"]).status, 2);
  assert.equal(run(["decrypt", "/nonexistent/file.yaml"]).status, 2);
});

test("encrypt -o, inspect, rotate -i, then decrypt", () => {
  withFile("app.env", "USER=admin\nPASSWORD=hunter2\n", (path) => {
    const out = `${path}.enc.env`;
    const enc = run(["encrypt", "--age", R[0], "--encrypted-regex", "^PASSWORD$", "-o", out, path]);
    assert.equal(enc.status, 0, enc.stderr);
    const encrypted = readFileSync(out, "utf8");
    assert.match(encrypted, /^USER=admin$/m);
    assert.match(encrypted, /^PASSWORD=ENC\[AES256_GCM,/m);
    const meta = JSON.parse(run(["inspect", out]).stdout);
    assert.equal(meta.selector.type, "encrypted_regex");
    const rot = run(["rotate", "-i", "--add-age", R[1], out], key1);
    assert.equal(rot.status, 0, rot.stderr);
    assert.equal(JSON.parse(run(["inspect", out]).stdout).keyGroups[0].length, 2);
    const dec = run(["decrypt", out], { SOPS_AGE_KEY_FILE: join(vectors, "age/key2.txt") });
    assert.equal(String(dec.stdout), "USER=admin\nPASSWORD=hunter2\n");
  });
});
