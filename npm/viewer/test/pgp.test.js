// PGP-keyed files in the built viewer (headless Chromium): the metadata panel lists the pgp
// entries, an armored private key (pasted with its passphrase, or chosen as a file) opens
// files the real sops 3.11 wrote with gpg, and "Forget keys" drops key and passphrase.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../server.mjs";
import { dist, launch, repo, screenshot } from "./helpers.mjs";

const pgpDir = join(repo, "core/tests/data/pgp");
const PROTECTED = "660341E9B82A2BFCFBFD8E2C2554E0810DDBA328";
const KEY1 = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4";
const PASSPHRASE = "correct horse battery";

let server;
let context;
let scratch;

before(async () => {
  server = await startServer(dist);
  scratch = await mkdtemp(join(tmpdir(), "leafcrypt-viewer-pgp-"));
  context = await launch(join(scratch, "profile"));
});

after(async () => {
  await context?.close();
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function openViewer() {
  const page = await context.newPage();
  const log = [];
  page.on("console", (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  await page.goto(`${server.origin}/`);
  return { page, log };
}

async function openFile(page, name) {
  await page.getByLabel("Encrypted file", { exact: true }).setInputFiles(join(pgpDir, name));
  await page.waitForFunction(
    (n) => document.getElementById("file-info").textContent.startsWith(n) && /^Not decrypted/.test(document.getElementById("status").textContent),
    name,
  );
}

async function decrypt(page) {
  await page.getByRole("button", { name: "Decrypt", exact: true }).click();
  await page.waitForFunction(() => ["ok", "bad"].includes(document.getElementById("status").dataset.state));
  const status = page.getByRole("status");
  return { state: await status.getAttribute("data-state"), text: await status.textContent() };
}

/** The shown text of each value item, by path. */
function shownValues(page) {
  return page.locator('[role="tree"]').evaluate((tree) =>
    Object.fromEntries(
      [...tree.querySelectorAll('[role="treeitem"][data-kind="value"]')].map((li) => [
        li.dataset.path,
        li.querySelector(":scope > .node > .value").textContent,
      ]),
    ),
  );
}

test("a passphrase-protected PGP key opens a file sops+gpg wrote; metadata lists the pgp entry", async () => {
  const { page, log } = await openViewer();
  try {
    await openFile(page, "sops311-protected.enc.json");
    const meta = page.locator("#metadata");
    assert.equal(await meta.locator('li[data-kind="pgp"] code').textContent(), PROTECTED);
    assert.match(await meta.locator('li[data-kind="pgp"]').textContent(), /created_at: \d{4}-\d\d-\d\dT/);
    assert.ok(!(await meta.textContent()).includes("BEGIN PGP MESSAGE"), "the wrapped key is not shown");

    await page.getByLabel("PGP private key", { exact: true }).fill(await readFile(join(pgpDir, "protected.sec.asc"), "utf8"));
    const noPassphrase = await decrypt(page);
    assert.equal(noPassphrase.state, "bad");
    assert.match(noPassphrase.text, /No key could open this file/);
    // sops's report wraps long lines ("\n      | "): compare the words.
    assert.match(noPassphrase.text.replace(/\s+\|\s+|\s+/g, " "), /no passphrase was given/);

    await page.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
    const verdict = await decrypt(page);
    assert.equal(verdict.state, "ok", verdict.text);
    assert.match(verdict.text, /^MAC verified/);
    await page.getByRole("button", { name: "Reveal all" }).click();
    const expected = JSON.parse(await readFile(join(pgpDir, "sops311-protected.decrypted.json"), "utf8"));
    const shown = await shownValues(page);
    assert.equal(shown['["token"]'], expected.token);
    assert.equal(Number(shown['["n"]']), expected.n);
    await screenshot(page, "pgp-decrypted");

    await page.getByRole("button", { name: "Forget keys" }).click();
    assert.equal(await page.getByLabel("PGP private key", { exact: true }).inputValue(), "");
    assert.equal(await page.getByLabel("Passphrase", { exact: true }).inputValue(), "");
    assert.ok(Object.values(await shownValues(page)).every((t) => t !== expected.token));
    assert.ok(!log.some((l) => l.includes(PASSPHRASE) || l.includes(expected.token)), "a secret reached the console");
    assert.deepEqual(log.filter((l) => l.startsWith("error") || l.startsWith("pageerror")), []);
  } finally {
    await page.close();
  }
});

test("a PGP key file (several armored blocks) opens a file with two pgp keys", async () => {
  const { page, log } = await openViewer();
  try {
    await openFile(page, "sops-functional-multiple_keys.enc.yaml");
    const fps = await page.locator('#metadata li[data-kind="pgp"] code').allTextContents();
    assert.ok(fps.includes(KEY1), fps.join(", "));
    await page.getByLabel("PGP key file", { exact: true }).setInputFiles(join(pgpDir, "sops_functional_tests_key.asc"));
    await page.waitForFunction(() => /PGP key read: 2 private key blocks/.test(document.getElementById("status").textContent));
    const verdict = await decrypt(page);
    assert.equal(verdict.state, "ok", verdict.text);
    await page.getByRole("button", { name: "Reveal all" }).click();
    const expected = await readFile(join(pgpDir, "sops-functional-multiple_keys.decrypted.yaml"), "utf8");
    for (const text of Object.values(await shownValues(page))) {
      assert.ok(expected.includes(text), `${JSON.stringify(text)} is in sops's output`);
    }
    assert.deepEqual(log.filter((l) => l.startsWith("error") || l.startsWith("pageerror")), []);
  } finally {
    await page.close();
  }
});

test("a dropped PGP private key is kept as a key, a dropped file beside it is opened", async () => {
  const { page, log } = await openViewer();
  try {
    const key = await readFile(join(pgpDir, "protected.sec.asc"), "utf8");
    const file = await readFile(join(pgpDir, "sops311-protected.enc.json"), "utf8");
    await page.evaluate(
      ([key, file]) => {
        const data = new DataTransfer();
        data.items.add(new File([key], "key.asc"));
        data.items.add(new File([file], "secret.enc.json"));
        document.body.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
      },
      [key, file],
    );
    await page.locator("#file-info", { hasText: "secret.enc.json · json" }).waitFor();
    // The key went to memory, not into the file tree or the compare slot.
    assert.equal(await page.locator("#diff").textContent().then((t) => t.includes("key.asc")), false);
    await page.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
    const verdict = await decrypt(page);
    assert.equal(verdict.state, "ok", verdict.text);
    assert.deepEqual(log.filter((l) => l.startsWith("error") || l.startsWith("pageerror")), []);
  } finally {
    await page.close();
  }
});
