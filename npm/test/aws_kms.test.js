// AWS KMS from Node through the getCredentials callback, against moto (server mode on a
// 127.0.0.1 port the kernel picks, installed by scripts/setup beside sops): files JS
// encrypts decrypt with the real sops 3.11 and the native CLI, sops's files decrypt in JS,
// the encryption context is kept, and a failing callback is named in the error.

import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { decrypt, encrypt } from "../src/node.js";
import { cliBin, sopsBin, withFile } from "./helpers.js";

const motoBin = sopsBin && join(dirname(sopsBin), "moto_server");
const skip = !(sopsBin && cliBin && existsSync(motoBin ?? "")) && "needs moto_server, sops and the native CLI";
const PLAIN = "db:\n    user: app\n    password: hunter2\nport: 5432\n";
const creds = { accessKeyId: "AKIDNPMTEST", secretAccessKey: "npmsecret" };

let moto;
let url;
let arn;
before(async () => {
  if (skip) return;
  moto = spawn(motoBin, ["-H", "127.0.0.1", "-p", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  url = await new Promise((resolve, reject) => {
    moto.on("exit", (code) => reject(new Error(`moto_server exited (${code})`)));
    for (const stream of [createInterface({ input: moto.stderr })]) {
      stream.on("line", (line) => {
        const m = line.match(/Running on (http:\/\/127\.0\.0\.1:\d+)/);
        if (m) resolve(m[1]);
      });
    }
  });
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "X-Amz-Target": "TrentService.CreateKey",
      "Content-Type": "application/x-amz-json-1.1",
      Authorization: "AWS4-HMAC-SHA256 Credential=AKIDNPMTEST/20240101/eu-west-1/kms/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: "{}",
  });
  arn = (await res.json()).KeyMetadata.Arn;
});
after(() => moto?.kill());

function tool(bin, args, input) {
  return withFile("f.yaml", input, (path) =>
    spawnSync(bin, [...args, path], {
      env: {
        PATH: process.env.PATH,
        HOME: "/nonexistent",
        AWS_ACCESS_KEY_ID: "AKIDNPMTEST",
        AWS_SECRET_ACCESS_KEY: "npmsecret",
        AWS_ENDPOINT_URL_KMS: url,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:9",
      },
      encoding: "utf8",
    }),
  );
}

test("a file JS encrypts with AWS KMS decrypts with sops and the native CLI", { skip }, async () => {
  let asked = 0;
  const awsKms = {
    getCredentials: async () => (asked++, creds),
    keys: arn,
    endpoint: url,
    encryptionContext: { app: "npm", tier: "web" },
  };
  const out = await encrypt(PLAIN, { format: "yaml", awsKms });
  assert.match(out, new RegExp(`kms:\\n {8}- arn: ${arn}\\n {10}context:\\n {12}app: npm\\n {12}tier: web\\n {10}created_at: "`));
  assert.equal(asked, 1);
  for (const bin of [sopsBin, cliBin]) {
    const run = tool(bin, ["decrypt"], out);
    assert.equal(run.status, 0, `${bin}: ${run.stderr}`);
    assert.equal(run.stdout, PLAIN);
  }
  assert.equal(await decrypt(out, { format: "yaml", awsKms }), PLAIN);
});

test("JS decrypts what sops encrypted with AWS KMS; a failing callback is named", { skip }, async () => {
  const run = tool(sopsBin, ["encrypt", "--kms", arn], PLAIN);
  assert.equal(run.status, 0, run.stderr);
  const awsKms = { getCredentials: () => creds, endpoint: url };
  assert.equal(await decrypt(run.stdout, { format: "yaml", awsKms }), PLAIN);
  await assert.rejects(
    decrypt(run.stdout, { format: "yaml", awsKms: { getCredentials: () => { throw new Error("no session"); }, endpoint: url } }),
    (e) => /awsKms\.getCredentials: threw: no session/.test(e.message),
  );
});
