// Shared test helpers: where the vectors and the reference tools are, and how to run them.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (npm/ is one of its directories). */
export const repo = resolve(here, "../..");
/** The sops-made test vectors. */
export const vectors = process.env.LEAFCRYPT_VECTORS ?? join(repo, "tests/vectors");

/** The bytes of a vector file. */
export const read = (path) => readFileSync(join(vectors, path));
/** The text of a vector file. */
export const text = (path) => readFileSync(join(vectors, path), "utf8");
/** The identities of `age/<name>` as options for the API. */
export const age = (name) => ({ identities: text(`age/${name}`) });

/** The recipients R1…R4 of the vector README. */
export const R = text("age/recipients.txt")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l.startsWith("age1"));

function firstExisting(...candidates) {
  return candidates.find((c) => c && existsSync(c));
}

/** The real sops 3.11 (`SOPS_BIN`), or undefined. */
export const sopsBin = firstExisting(
  process.env.SOPS_BIN,
  join(repo, ".tools/sops/bin/sops"),
  "/opt/sopsvenv/bin/sops",
);
/** The native leafcrypt CLI (`LEAFCRYPT_BIN`), or undefined. */
export const cliBin = firstExisting(process.env.LEAFCRYPT_BIN, join(repo, "target/debug/leafcrypt"));

// scripts/test-npm sets LEAFCRYPT_REQUIRE_TOOLS: there a missing tool fails instead of
// skipping the comparisons that need it.
if (process.env.LEAFCRYPT_REQUIRE_TOOLS && !(sopsBin && cliBin)) {
  throw new Error(`LEAFCRYPT_REQUIRE_TOOLS: sops (${sopsBin}) or the leafcrypt CLI (${cliBin}) not found`);
}

/**
 * Writes `content` to `name` in a fresh temporary directory, runs `fn(path)` and removes
 * the directory.
 */
export function withFile(name, content, fn) {
  const dir = mkdtempSync(join(tmpdir(), "leafcrypt-npm-"));
  try {
    const path = join(dir, name);
    writeFileSync(path, content);
    return fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `bin decrypt <path>` (sops or leafcrypt) with the identities of `age/<keys>`;
 * returns `{ status, stdout: Buffer, stderr: string }`.
 */
export function toolDecrypt(bin, path, keys) {
  const result = spawnSync(bin, ["decrypt", path], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SOPS_AGE_KEY_FILE: join(vectors, "age", keys),
    },
    maxBuffer: 64 << 20,
  });
  return { status: result.status, stdout: result.stdout, stderr: String(result.stderr) };
}
