// The TOML store (a leafcrypt extension: sops cannot read these files) through the
// package: the core's store, reached by `format: "toml"` or a `.toml` name.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { decrypt, encrypt, formatFromPath, inspect } from "../src/node.js";
import { R, age, cliBin, sopsBin, toolDecrypt, vectors, withFile } from "./helpers.js";

const PLAIN = `# Service configuration
title = "demo"   # shown in the UI

[database]
password = 'p@ss\\word'
port = 5432
replicas = [ "db-1", "db-2" ]  # primary first
backup_day = 2026-12-07

[[endpoints]]
name = "api"
token = """
line one
"""
`;

test("toml: encrypt and decrypt give the bytes back; the CLI agrees; sops cannot read it", async (t) => {
  assert.equal(formatFromPath("config/app.toml"), "toml");
  // Case-sensitive as sops: `app.TOML` is a binary file to sops.
  assert.equal(formatFromPath("config/app.TOML"), "binary");
  const encrypted = await encrypt(PLAIN, { format: "toml", age: { recipients: [R[0]] } });
  const body = String(encrypted);
  assert.match(body, /\n\[sops\]\n/);
  assert.match(body, /password = 'ENC\[AES256_GCM,/);
  assert.match(body, /,type:date-local\]/);
  assert.doesNotMatch(body, /p@ss|line one/);
  const plain = await decrypt(encrypted, { format: "toml", age: age("keys.txt") });
  assert.equal(plain, PLAIN);
  const info = await inspect(encrypted, { format: "toml" });
  assert.ok(JSON.stringify(info).includes(R[0]));

  if (!cliBin || !sopsBin) {
    t.diagnostic("sops or the leafcrypt CLI not found: comparisons skipped");
    return;
  }
  withFile("app.toml", encrypted, (path) => {
    const cli = toolDecrypt(cliBin, path, "keys.txt");
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.stdout.toString("utf8"), PLAIN);
    const sops = spawnSync(sopsBin, ["decrypt", path], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, SOPS_AGE_KEY_FILE: join(vectors, "age", "keys.txt") },
    });
    assert.notEqual(sops.status, 0, "sops 3.11 read a TOML file");
  });
});
