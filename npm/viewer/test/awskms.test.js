// AWS KMS in the browser, against moto (server mode on a 127.0.0.1 port the kernel picks,
// installed by scripts/setup beside sops). The file is encrypted by the real sops 3.11 for
// a moto key; the page unlocks it with credentials typed into the metadata panel and shows
// what sops decrypts. moto sends CORS headers (flask-cors, any origin); an endpoint
// without them (a loopback server, as a proxy or VPC endpoint not set up for the page would
// be) gives the page's explanation and the package's CORS hint.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { startServer } from "../server.mjs";
import { launch, sameValue, screenshot, sopsBin, viewerDir } from "./helpers.mjs";

const motoBin = join(dirname(sopsBin), "moto_server");
const skip = existsSync(motoBin) ? null : `no moto_server beside sops (${motoBin}): run scripts/setup`;
const plain = "db:\n    user: app\n    password: s3cret-kms-value\nport: 5432\n";
const KEY_ID = "AKIDVIEWERTEST";
const SECRET = "viewer-secret-access-key";
const SESSION = "viewer-session-token";

let scratch;
let moto; // { child, url }
let arn;
let encrypted;
let noCors; // a loopback endpoint that sends no CORS headers
let server;
let context;

/** Runs sops with the moto endpoint and credentials; asserts success, returns stdout. */
function sops(args) {
  const result = spawnSync(sopsBin, args, {
    env: {
      PATH: process.env.PATH,
      HOME: "/nonexistent",
      AWS_ACCESS_KEY_ID: KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_ENDPOINT_URL_KMS: moto.url,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:9",
    },
    encoding: "utf8",
  });
  assert.equal(result.status, 0, `sops ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

before(async () => {
  if (skip) return;
  scratch = await mkdtemp(join(tmpdir(), "leafcrypt-viewer-kms-"));
  const child = spawn(motoBin, ["-H", "127.0.0.1", "-p", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  const url = await new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`moto_server exited (${code})`)));
    createInterface({ input: child.stderr }).on("line", (line) => {
      const m = line.match(/Running on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve(m[1]);
    });
  });
  moto = { child, url };
  const created = await fetch(url, {
    method: "POST",
    headers: {
      "X-Amz-Target": "TrentService.CreateKey",
      "Content-Type": "application/x-amz-json-1.1",
      Authorization: `AWS4-HMAC-SHA256 Credential=${KEY_ID}/20240101/eu-west-1/kms/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: "{}",
  });
  assert.equal(created.status, 200);
  arn = (await created.json()).KeyMetadata.Arn;

  await writeFile(join(scratch, "kms.yaml"), plain);
  encrypted = join(scratch, "kms.enc.yaml");
  await writeFile(encrypted, sops(["encrypt", "--kms", arn, join(scratch, "kms.yaml")]));
  // The package itself (Node entry, same .wasm as the page) opens it: a stale npm/pkg
  // without awsKms is named here rather than as a page failure.
  const { decrypt } = await import("../../src/node.js");
  const awsKms = { getCredentials: async () => ({ accessKeyId: KEY_ID, secretAccessKey: SECRET }), endpoint: moto.url };
  const viaPackage = await decrypt(await readFile(encrypted, "utf8"), { format: "yaml", awsKms }).catch((e) => {
    if (/no key source for 'kms'/.test(e.message)) throw new Error("npm/pkg predates awsKms: run scripts/build-wasm");
    throw e;
  });
  assert.equal(viaPackage, plain);

  noCors = createServer((req, res) => {
    req.resume();
    res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
    res.end('{"__type":"UnrecognizedClientException"}');
  });
  await new Promise((resolve) => noCors.listen(0, "127.0.0.1", resolve));

  // A build whose CSP admits loopback KMS endpoints.
  const config = join(scratch, "viewer.config.json");
  await writeFile(config, JSON.stringify({ kvProxy: "", awsKmsHosts: ["http://127.0.0.1:*"] }));
  const dist = join(scratch, "dist");
  const build = spawnSync(process.execPath, [join(viewerDir, "build.mjs"), "--out", dist], {
    env: { ...process.env, VIEWER_CONFIG: config },
    encoding: "utf8",
  });
  assert.equal(build.status, 0, build.stderr);
  server = await startServer(dist);
  context = await launch(join(scratch, "profile"));
});

after(async () => {
  await context?.close();
  await server?.close();
  if (noCors) await new Promise((resolve) => noCors.close(resolve));
  moto?.child.kill();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function openKms(page) {
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.blockedURI));
  });
  await page.goto(`${server.origin}/`);
  assert.equal(await page.locator("#aws-panel").isVisible(), false, "no form before a kms file is open");
  await page.getByLabel("Encrypted file", { exact: true }).setInputFiles(encrypted);
  await page.locator("#file-info", { hasText: "kms.enc.yaml" }).waitFor();
  await page.getByLabel("Access key ID").fill(KEY_ID);
  await page.getByLabel("Secret access key").fill(SECRET);
  await page.getByLabel("Session token (optional)").fill(SESSION);
}

async function verdict(page) {
  await page.waitForFunction(() => ["ok", "bad"].includes(document.getElementById("status").dataset.state));
  return { state: await page.getByRole("status").getAttribute("data-state"), text: await page.getByRole("status").textContent() };
}

test("moto answers a browser preflight for any origin", async (t) => {
  if (skip) return t.skip(skip);
  const reply = await fetch(moto.url, {
    method: "OPTIONS",
    headers: {
      Origin: "http://127.0.0.1:1",
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "authorization,content-type,x-amz-date,x-amz-security-token,x-amz-target",
    },
  });
  assert.equal(reply.status, 200);
  assert.ok(["*", "http://127.0.0.1:1"].includes(reply.headers.get("access-control-allow-origin")));
});

test("AWS KMS: a sops-encrypted kms file unlocks in the page with typed credentials, values as sops decrypts them", async (t) => {
  if (skip) return t.skip(skip);
  const page = await context.newPage();
  try {
    await openKms(page);
    const meta = await page.locator("#metadata").textContent();
    assert.ok(meta.includes(arn), meta);
    assert.ok(await page.locator("#aws-panel").isVisible());
    await page.getByLabel("KMS endpoint (optional)").fill(moto.url);
    await page.getByRole("button", { name: "Decrypt with AWS KMS" }).click();
    const result = await verdict(page);
    assert.equal(result.state, "ok", result.text);
    assert.match(result.text, /MAC verified: 3 values decrypted/);
    await page.getByRole("button", { name: "Reveal all" }).click();
    const shown = await page.locator('[role="treeitem"][data-kind="value"] > .node > .value').allTextContents();
    const paths = ['["db"]["user"]', '["db"]["password"]', '["port"]'];
    const types = ["str", "str", "int"];
    assert.equal(shown.length, paths.length, JSON.stringify(shown));
    for (const [i, path] of paths.entries()) {
      const extracted = sops(["decrypt", "--extract", path, encrypted]);
      assert.ok(sameValue(types[i], shown[i], extracted), `${path}: page ${shown[i]}, sops ${extracted}`);
    }
    assert.equal(sops(["decrypt", encrypted]), plain);
    assert.deepEqual(await page.evaluate(() => window.__violations), []);
    // Nothing was stored; "Forget keys" empties the form and the values.
    assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 0]);
    await screenshot(page, "16-aws-kms-decrypted");
    await page.getByRole("button", { name: "Forget keys" }).click();
    for (const label of ["Access key ID", "Secret access key", "Session token (optional)"]) {
      assert.equal(await page.getByLabel(label).inputValue(), "", label);
    }
    assert.equal(await page.getByRole("button", { name: "Reveal all" }).isDisabled(), true);
  } finally {
    await page.close();
  }
});

test("AWS KMS: an endpoint without CORS headers fails with what to do", async (t) => {
  if (skip) return t.skip(skip);
  const page = await context.newPage();
  try {
    await openKms(page);
    const endpoint = `http://127.0.0.1:${noCors.address().port}`;
    await page.getByLabel("KMS endpoint (optional)").fill(endpoint);
    await page.getByRole("button", { name: "Decrypt with AWS KMS" }).click();
    const result = await verdict(page);
    assert.equal(result.state, "bad");
    assert.match(result.text, new RegExp(`could not reach the KMS endpoint ${endpoint}`));
    assert.match(result.text, /unreachable or does not allow this page's origin \(CORS\)/);
    // The package's own hint, so that every caller of the package gets it.
    const flat = result.text.replace(/\n\s*\|\s*/g, " ").replace(/\s+/g, " ");
    assert.match(flat, /in a browser this is often CORS: the endpoint must allow this page's origin; set awsKms\.endpoint/);
    for (const secret of [SECRET, SESSION]) assert.ok(!result.text.includes(secret), "a secret is shown");
    assert.deepEqual(await page.evaluate(() => window.__violations), []);
    await screenshot(page, "17-aws-kms-no-cors");
  } finally {
    await page.close();
  }
});
