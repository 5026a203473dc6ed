// leafcrypt (WASM, MAC checked) vs sops-age (no MAC check) decrypting the same sops YAML
// files in one Node process. Both results are compared before any timing is reported.
//
//   scripts/gen-bench-input /tmp/bench --leaves 1000,10000,100000 --binary-mib 0
//   (cd npm/bench && npm install) && node npm/bench/compare-sops-age.mjs /tmp/bench [runs]

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { decryptSops } from "sops-age";
import { decrypt, decryptToObject, encrypt } from "../src/node.js";

const [dir, runsArg = "5"] = process.argv.slice(2);
if (!dir) {
  console.error("usage: node bench/compare-sops-age.mjs INPUT_DIR [runs]");
  process.exit(2);
}
const runs = Number(runsArg);
const vectors = new URL("../../tests/vectors/age/", import.meta.url);
const identity = readFileSync(new URL("key1.txt", vectors), "utf8")
  .split("\n")
  .find((l) => l.startsWith("AGE-SECRET-KEY-"));
const recipient = readFileSync(new URL("recipients.txt", vectors), "utf8").split("\n")[0].trim();

async function best(fn, n) {
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn();
    min = Math.min(min, performance.now() - start);
  }
  return min;
}

const files = readdirSync(dir)
  .filter((f) => /^services-\d+k\.yaml$/.test(f))
  .sort((a, b) => parseInt(a.split("-")[1]) - parseInt(b.split("-")[1]));
console.log(`node ${process.version}; best of ${runs} runs (sops-age: fewer on 100k)`);
console.log("file                 leafcrypt decrypt  leafcrypt toObject  sops-age   speed-up");
for (const file of files) {
  const plain = readFileSync(join(dir, file));
  const encrypted = await encrypt(plain, { format: "yaml", age: { recipients: recipient } });
  const ours = await decryptToObject(encrypted, { format: "yaml", age: { identities: identity } });
  const theirs = await decryptSops(encrypted, { secretKey: identity, fileType: "yaml" });
  if (!isDeepStrictEqual(JSON.parse(JSON.stringify(ours)), JSON.parse(JSON.stringify(theirs)))) {
    throw new Error(`${file}: leafcrypt and sops-age disagree on the decrypted tree`);
  }
  const leaves = parseInt(file.split("-")[1]);
  const slowRuns = leaves >= 100 ? Math.min(runs, 2) : runs;
  const opts = { format: "yaml", age: { identities: identity } };
  const text = await best(() => decrypt(encrypted, opts), runs);
  const obj = await best(() => decryptToObject(encrypted, opts), runs);
  const sa = await best(() => decryptSops(encrypted, { secretKey: identity, fileType: "yaml" }), slowRuns);
  console.log(
    `${file.padEnd(20)} ${text.toFixed(1).padStart(12)} ms ${obj.toFixed(1).padStart(14)} ms ` +
      `${sa.toFixed(1).padStart(9)} ms ${(sa / obj).toFixed(1).padStart(7)}×`,
  );
}
