// Times the package on the engine benchmark's inputs (scripts/gen-bench-input):
// encrypt once, then decrypt (MAC checked) and decryptToObject several times; prints the
// best and median wall time per run.
//
//   scripts/gen-bench-input /tmp/bench --leaves 1000,10000,100000 --binary-mib 0
//   node npm/bench/decrypt.mjs /tmp/bench [runs]

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decrypt, decryptToObject, encrypt } from "../src/node.js";

const [dir, runsArg = "7"] = process.argv.slice(2);
if (!dir) {
  console.error("usage: node bench/decrypt.mjs INPUT_DIR [runs]");
  process.exit(2);
}
const runs = Number(runsArg);
// A throwaway identity of the test vectors (tests/vectors/age/key1.txt).
const vectors = new URL("../../tests/vectors/age/", import.meta.url);
const identities = readFileSync(new URL("key1.txt", vectors), "utf8");
const recipient = readFileSync(new URL("recipients.txt", vectors), "utf8").split("\n")[0].trim();

async function time(fn) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return `best ${samples[0].toFixed(1)} ms, median ${samples[samples.length >> 1].toFixed(1)} ms`;
}

const files = readdirSync(dir)
  .filter((f) => /^services-\d+k\.(yaml|json)$/.test(f))
  .sort((a, b) => parseInt(a.split("-")[1]) - parseInt(b.split("-")[1]) || a.localeCompare(b));
console.log(`node ${process.version}, ${runs} runs each`);
for (const file of files) {
  const format = file.endsWith(".json") ? "json" : "yaml";
  const plain = readFileSync(join(dir, file));
  const start = performance.now();
  const encrypted = await encrypt(plain, { format, age: { recipients: recipient } });
  const encryptMs = performance.now() - start;
  const options = { format, age: { identities } };
  console.log(`${file}: encrypt ${encryptMs.toFixed(1)} ms (one run)`);
  console.log(`  decrypt          ${await time(() => decrypt(encrypted, options))}`);
  console.log(`  decryptToObject  ${await time(() => decryptToObject(encrypted, options))}`);
}
