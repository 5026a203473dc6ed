// PGP in the package: files the real sops 3.11 wrote with gpg decrypt with armored keys,
// and files the package encrypts for PGP decrypt with the real sops (gpg in a throwaway
// GNUPGHOME holding sops's functional-test key).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LeafcryptError, decrypt, encrypt, inspect, rotate } from "../src/node.js";
import { R, age, read, repo, sopsBin, text, vectors, withFile } from "./helpers.js";

const pgpDir = join(repo, "core/tests/data/pgp");
const pgpText = (name) => readFileSync(join(pgpDir, name), "utf8");
const KEY1 = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4";
const KEY2 = "D7229043384BCC60326C6FB9D8720D957C3D3074";
const PROTECTED = "660341E9B82A2BFCFBFD8E2C2554E0810DDBA328";
const PASSPHRASE = "correct horse battery";
/** sops's functional-test keys (two private keys, one public). */
const functional = { privateKeys: pgpText("sops_functional_tests_key.asc") };

const gpgFound = spawnSync("gpg", ["--version"]).status === 0;
if (process.env.LEAFCRYPT_REQUIRE_TOOLS && !gpgFound) {
  throw new Error("LEAFCRYPT_REQUIRE_TOOLS: gpg (Debian's gnupg) not found");
}
const skip = !(gpgFound && sopsBin) && "gpg or the real sops not found";

let gnupgHome;
before(() => {
  if (skip) return;
  gnupgHome = mkdtempSync(join(tmpdir(), "leafcrypt-gnupg-"));
  chmodSync(gnupgHome, 0o700);
  const imported = spawnSync(
    "gpg",
    ["--batch", "--import", join(pgpDir, "sops_functional_tests_key.asc"), join(pgpDir, "protected.pub.asc")],
    { env: { ...process.env, GNUPGHOME: gnupgHome } },
  );
  assert.equal(imported.status, 0, String(imported.stderr));
});
after(() => {
  if (!gnupgHome) return;
  spawnSync("gpgconf", ["--kill", "gpg-agent"], { env: { ...process.env, GNUPGHOME: gnupgHome } });
  rmSync(gnupgHome, { recursive: true, force: true });
});

/** Runs the real sops with the throwaway GNUPGHOME (and age key 1 for mixed groups). */
function sops(args, input) {
  const result = spawnSync(sopsBin, args, {
    input,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GNUPGHOME: gnupgHome,
      SOPS_AGE_KEY_FILE: join(vectors, "age/key1.txt"),
    },
    maxBuffer: 64 << 20,
  });
  return { status: result.status, stdout: result.stdout, stderr: String(result.stderr) };
}

const STORES = [
  ["yaml", "yaml/plain.yaml", "yaml/decrypted.yaml", "secret.yaml"],
  ["json", "json/plain.json", "json/decrypted.json", "secret.json"],
  ["dotenv", "dotenv/plain.env", "dotenv/decrypted.env", "secret.env"],
  ["ini", "ini/plain.ini", "ini/decrypted.ini", "secret.ini"],
  ["binary", "binary/plain.bin", "binary/decrypted.bin", "secret.bin"],
];

test("vectors sops wrote with gpg (3.3.1, 3.6.1, 3.11.0) decrypt with armored private keys", async () => {
  for (const [name, format] of [
    ["sops-functional-comments.enc.yaml", "yaml"],
    ["sops-functional-multiple_keys.enc.yaml", "yaml"],
    ["sops311-key1.enc.yaml", "yaml"],
  ]) {
    const out = await decrypt(pgpText(name), { format, pgp: functional });
    assert.equal(out, pgpText(name.replace(".enc.", ".decrypted.")), name);
  }
  const protectedFile = pgpText("sops311-protected.enc.json");
  const privateKeys = pgpText("protected.sec.asc");
  const out = await decrypt(protectedFile, { format: "json", pgp: { privateKeys, passphrase: PASSPHRASE } });
  assert.equal(out, pgpText("sops311-protected.decrypted.json"));
  for (const [passphrase, expected] of [
    [undefined, "no passphrase was given"],
    ["not-the-passphrase", "the passphrase given does not unlock it"],
  ]) {
    await assert.rejects(decrypt(protectedFile, { format: "json", pgp: { privateKeys, passphrase } }), (e) => {
      assert.ok(e instanceof LeafcryptError);
      assert.equal(e.code, "NO_KEY");
      assert.equal(e.exitCode, 128);
      // sops's report wraps long lines ("\n      | "): compare the words.
      const flat = e.message.replace(/\s+\|\s+|\s+/g, " ");
      assert.ok(flat.includes(expected) && flat.includes(PROTECTED), e.message);
      assert.ok(!e.message.includes("not-the-passphrase"), "the passphrase leaked");
      return true;
    });
  }
});

test("inspect lists pgp entries with fp and created_at", () => {
  const meta = inspect(pgpText("sops-functional-multiple_keys.enc.yaml"), { format: "yaml" });
  const entries = meta.keyGroups[0].filter((k) => k.kind === "pgp");
  assert.deepEqual(
    entries.map((k) => k.fp),
    [KEY1, KEY2],
  );
  assert.deepEqual(
    entries.map((k) => k.identity),
    [KEY1, KEY2],
  );
  assert.ok(entries.every((k) => /^\d{4}-\d\d-\d\dT/.test(k.created_at)));
});

test("bad pgp options are clear errors", async () => {
  await assert.rejects(encrypt("a: 1\n", { format: "yaml", pgp: { publicKeys: "nope" } }), (e) => {
    assert.equal(e.code, "INVALID_OPTIONS");
    assert.match(e.message, /options\.pgp\.publicKeys: .*no ASCII-armored OpenPGP key/);
    return true;
  });
  await assert.rejects(encrypt("a: 1\n", { format: "yaml", pgp: { recipients: "3D16CEE4A27381B4" } }), (e) => {
    assert.equal(e.code, "INVALID_OPTIONS");
    assert.match(e.message, /options\.pgp\.recipients: .*full fingerprint/);
    return true;
  });
  // A fingerprint without its public key: sops's exit code for a failed wrap, the fp named.
  await assert.rejects(encrypt("a: 1\n", { format: "yaml", pgp: { recipients: PROTECTED } }), (e) => {
    assert.equal(e.code, "NO_KEY");
    assert.ok(e.message.includes(PROTECTED) && e.message.includes("gpg --armor --export"), e.message);
    return true;
  });
});

for (const [format, plain, expected, name] of STORES) {
  test(`${format}: sops+gpg encrypts, the package decrypts; the package encrypts, sops+gpg decrypts`, { skip }, async () => {
    const input = read(plain);
    // sops → package.
    const made = withFile(name, input, (path) => sops(["encrypt", "--pgp", KEY1, path]));
    assert.equal(made.status, 0, made.stderr);
    const ours = await decrypt(new Uint8Array(made.stdout), { format, pgp: functional });
    assert.deepEqual(Buffer.from(ours), read(expected));

    // package → sops: only the public key is given; `fp` and `created_at` as sops writes them.
    const publicKeys = pgpText("protected.pub.asc") + pgpText("sops_functional_tests_key.asc");
    const encrypted = await encrypt(format === "binary" ? new Uint8Array(input) : input.toString(), {
      format,
      pgp: { publicKeys, recipients: [KEY1] },
    });
    const meta = inspect(encrypted, { format });
    assert.deepEqual(
      meta.keyGroups[0].map((k) => [k.kind, k.fp]),
      [["pgp", KEY1]],
    );
    assert.match(meta.keyGroups[0][0].enc, /^-----BEGIN PGP MESSAGE-----\n\n[^]*\n=[A-Za-z0-9+/]{4}\n-----END PGP MESSAGE-----$/);
    assert.equal(meta.keyGroups[0][0].created_at, meta.lastModified);
    const back = withFile(name, encrypted, (path) => sops(["decrypt", path]));
    assert.equal(back.status, 0, back.stderr);
    assert.deepEqual(back.stdout, read(expected));
  });
}

test("Shamir groups mixing pgp and age (threshold 2) open with sops and the package", { skip }, async () => {
  const encrypted = await encrypt(text("yaml/plain.yaml"), {
    format: "yaml",
    pgp: { publicKeys: pgpText("sops_functional_tests_key.asc"), recipients: [] },
    keyGroups: [{ pgp: [KEY2] }, { age: [R[0]] }, { pgp: [KEY1] }],
    shamirThreshold: 2,
  });
  const meta = inspect(encrypted, { format: "yaml" });
  assert.equal(meta.shamirThreshold, 2);
  assert.deepEqual(
    meta.keyGroups.map((g) => g.map((k) => k.identity)),
    [[KEY2], [R[0]], [KEY1]],
  );
  const back = withFile("mixed.yaml", encrypted, (path) => sops(["decrypt", path]));
  assert.equal(back.status, 0, back.stderr);
  assert.equal(String(back.stdout), text("yaml/decrypted.yaml"));
  // The package opens it with PGP alone (two groups), not with age alone (one group).
  assert.equal(await decrypt(encrypted, { format: "yaml", pgp: functional }), text("yaml/decrypted.yaml"));
  await assert.rejects(decrypt(encrypted, { format: "yaml", age: age("key1.txt") }), (e) => e.code === "NO_KEY");
});

test("rotate adds and removes pgp keys; sops reads the result", { skip }, async () => {
  const made = withFile("r.yaml", read("yaml/plain.yaml"), (path) => sops(["encrypt", "--pgp", KEY1, path]));
  assert.equal(made.status, 0, made.stderr);
  const rotated = await rotate(made.stdout, {
    format: "yaml",
    pgp: { ...functional, publicKeys: pgpText("protected.pub.asc") },
    addPgp: PROTECTED,
    removePgp: KEY1.toLowerCase(),
  });
  const meta = inspect(rotated, { format: "yaml" });
  assert.deepEqual(
    meta.keyGroups.map((g) => g.map((k) => k.fp)),
    [[PROTECTED]],
  );
  const opened = await decrypt(rotated, {
    format: "yaml",
    pgp: { privateKeys: pgpText("protected.sec.asc"), passphrase: PASSPHRASE },
  });
  assert.equal(opened, text("yaml/decrypted.yaml"));
  // sops cannot decrypt it here (only the public key is in the keyring): it names the key.
  const back = withFile("r.yaml", rotated, (path) => sops(["decrypt", path]));
  assert.equal(back.status, 128, back.stderr);
  assert.match(back.stderr, new RegExp(PROTECTED));
});
