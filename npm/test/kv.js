// The Key Vault emulator (tests/kv_emulator) for the Node tests: started from
// KV_EMULATOR_BIN (else target/debug/kv-emulator), stopped when the test ends (its stdin
// closes). Loopback only.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { repo } from "./helpers.js";

export const emulatorBin = [process.env.KV_EMULATOR_BIN, join(repo, "target/debug/kv-emulator")].find(
  (p) => p && existsSync(p),
);

/** Starts the emulator; resolves to `{ ready, admin(route, body), stop() }`. */
export async function startEmulator() {
  if (!emulatorBin) throw new Error("kv-emulator not built: cargo build -p leafcrypt-tests --bin kv-emulator");
  const dir = mkdtempSync(join(tmpdir(), "leafcrypt-kv-"));
  const child = spawn(emulatorBin, ["--dir", dir], { stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once("line", (l) => {
      rl.close();
      resolve(l);
    });
    child.once("exit", (code) => reject(new Error(`kv-emulator exited (${code}) before it was ready`)));
  });
  const ready = JSON.parse(line);
  async function admin(route, body = {}) {
    const response = await fetch(`${ready.admin}/${route}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`admin ${route}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  async function log() {
    const response = await fetch(`${ready.admin}/log`);
    return response.json();
  }
  function stop() {
    child.stdin.end();
    child.kill();
  }
  return { ready, admin, log, stop };
}

/** The environment that makes sops and the native CLI use the emulator (loopback only). */
export function azureEnv(ready) {
  return {
    SSL_CERT_FILE: ready.ca,
    IDENTITY_ENDPOINT: ready.msi_endpoint,
    IDENTITY_HEADER: ready.identity_header,
    AZURE_TOKEN_CREDENTIALS: "ManagedIdentityCredential",
    IMDS_ENDPOINT: ready.imds_endpoint,
  };
}
