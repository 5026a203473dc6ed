// The built viewer (dist/) in headless Chromium, served from 127.0.0.1: every store's
// vector masked then decrypted (values compared with the native CLI's --extract), a
// tampered file, the version diff with and without a key, an edit downloaded and opened by
// the real sops, the CSP, forgetting keys, and the 10k-leaf timing (logged).
// Usage: node --test test/   (after node build.mjs; scripts/test-viewer does both)

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../server.mjs";
import { cliBin, dist, launch, run, sameValue, screenshot, sopsBin, vector } from "./helpers.mjs";

const MASK = "••••••••";

let server;
let context;
let scratch; // profile, downloads, generated files

before(async () => {
  // The page alone must carry its policy (static hosting): no CSP header here.
  server = await startServer(dist);
  scratch = await mkdtemp(join(tmpdir(), "leafcrypt-viewer-"));
  context = await launch(join(scratch, "profile"));
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.origin });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A fresh viewer tab that records console output, page errors and CSP violations. */
async function openViewer() {
  const page = await context.newPage();
  const log = { console: [], errors: [] };
  page.on("console", (m) => log.console.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.errors.push(e.message));
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI }),
    );
  });
  await page.goto(`${server.origin}/`);
  return { page, log };
}

/** Opens a file through the "Encrypted file" control; waits until it is shown. */
async function openFile(page, path) {
  const name = path.split("/").pop();
  await page.getByLabel("Encrypted file", { exact: true }).setInputFiles(path);
  await page.waitForFunction(
    (n) =>
      document.getElementById("file-info").textContent.startsWith(n) &&
      /^(Not decrypted|MAC|No key|TAMPERED|Cannot read)/.test(document.getElementById("status").textContent),
    name,
  );
}

/** Pastes an identity file's text, presses Decrypt, waits for the verdict. */
async function decryptWith(page, keyFile = "age/key1.txt") {
  await page.getByLabel("age identity", { exact: true }).fill(await readFile(vector(keyFile), "utf8"));
  await page.getByRole("button", { name: "Decrypt", exact: true }).click();
  return waitVerdict(page);
}

/** Waits for an ok/bad status; returns `{ state, text }`. */
async function waitVerdict(page) {
  const status = page.getByRole("status");
  await page.waitForFunction(() => ["ok", "bad"].includes(document.getElementById("status").dataset.state));
  return { state: await status.getAttribute("data-state"), text: await status.textContent() };
}

/** Every value item of the tree: path, type, shown text, masked, stored unencrypted. */
function treeValues(page) {
  return page.locator('[role="tree"]').evaluate((tree) =>
    [...tree.querySelectorAll('[role="treeitem"][data-kind="value"]')].map((li) => ({
      path: li.dataset.path,
      document: Number(li.dataset.document),
      type: li.querySelector(":scope > .node > .type").textContent,
      text: li.querySelector(":scope > .node > .value").textContent,
      masked: li.querySelector(":scope > .node > .value").classList.contains("masked"),
      plain: Boolean(li.querySelector(":scope > .node > .plain-badge")),
    })),
  );
}

/** Asserts a page logged nothing secret, had no errors and no CSP violation. */
async function assertClean(page, log, secrets = []) {
  assert.deepEqual(log.errors, []);
  const problems = log.console.filter((l) => l.startsWith("error") || l.startsWith("warning"));
  assert.deepEqual(problems, []);
  for (const secret of secrets) {
    assert.ok(!log.console.some((l) => l.includes(secret)), "a secret reached the console");
  }
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  const stored = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, url: location.href }));
  assert.deepEqual(stored, { local: 0, session: 0, url: `${server.origin}/` });
}

const STORES = [
  ["yaml", "yaml/encrypted.yaml"],
  ["json", "json/encrypted.json"],
  ["dotenv", "dotenv/encrypted.env"],
  ["ini", "ini/encrypted.ini"],
  ["binary", "binary/encrypted.bin"],
];

for (const [format, path] of STORES) {
  test(`${path}: masked without a key; decrypted values equal the CLI's`, async () => {
    const { page, log } = await openViewer();
    try {
      await openFile(page, vector(path));
      assert.match(await page.locator("#file-info").textContent(), new RegExp(`· ${format}$`));
      const masked = await treeValues(page);
      const encrypted = masked.filter((v) => !v.plain);
      assert.ok(encrypted.length > 0, "the vector has encrypted values");
      for (const v of encrypted) {
        assert.equal(v.text, MASK, v.path);
        assert.ok(v.masked, v.path);
      }
      // The metadata panel names the age recipient and the sops version.
      const meta = await page.locator("#metadata").textContent();
      assert.match(meta, /age1n9rcejd5w44ruwspt4zcefh25afkkkvjfx0e2cknz9v23nsy9f5qlfswh9/);
      assert.match(meta, /3\.11\.0/);
      if (format === "yaml") await screenshot(page, "01-masked");

      const verdict = await decryptWith(page);
      assert.equal(verdict.state, "ok", verdict.text);
      assert.match(verdict.text, /^MAC verified/);
      // Still masked until revealed.
      assert.ok((await treeValues(page)).filter((v) => !v.plain).every((v) => v.text === MASK));
      await page.getByRole("button", { name: "Reveal all" }).click();
      const shown = await treeValues(page);
      assert.equal(shown.length, masked.length);
      const secrets = [];
      for (const v of shown) {
        assert.ok(!v.masked, v.path);
        if (format === "binary") {
          assert.equal(v.text, run(cliBin, ["decrypt", vector(path)]));
        } else {
          const extracted = run(cliBin, ["decrypt", "--extract", v.path, vector(path)]);
          assert.ok(sameValue(v.type, v.text, extracted), `${v.path}: page ${JSON.stringify(v.text)}, CLI ${JSON.stringify(extracted)}`);
        }
        if (!v.plain && v.text.length >= 4) secrets.push(v.text);
      }
      if (format === "yaml") await screenshot(page, "02-decrypted");
      await assertClean(page, log, secrets);
    } finally {
      await page.close();
    }
  });
}

test("a tampered file shows MAC MISMATCH prominently; a damaged value is named", async () => {
  const { page, log } = await openViewer();
  try {
    await openFile(page, vector("tamper/list-swap.yaml"));
    const verdict = await decryptWith(page);
    assert.equal(verdict.state, "bad");
    assert.match(verdict.text, /MAC MISMATCH/);
    const style = await page.getByRole("status").evaluate((el) => {
      const s = getComputedStyle(el);
      return { size: parseFloat(s.fontSize), border: parseFloat(s.borderTopWidth), color: s.backgroundColor };
    });
    assert.ok(style.size >= 18 && style.border >= 3, JSON.stringify(style));
    // Values are still shown for review, but not editable.
    assert.equal(await page.getByRole("button", { name: /^Edit / }).count(), 0);
    assert.ok((await page.getByRole("button", { name: /^Reveal \[/ }).count()) > 0);
    await screenshot(page, "03-mac-mismatch");

    await openFile(page, vector("tamper/ciphertext-byte.yaml"));
    const damaged = await waitVerdict(page);
    assert.equal(damaged.state, "bad");
    assert.match(damaged.text, /TAMPERED OR DAMAGED: the value at \S+ does not decrypt/);

    await openFile(page, vector("yaml/encrypted.yaml"));
    const wrongKey = await decryptWith(page, "age/key2.txt");
    assert.equal(wrongKey.state, "bad");
    assert.match(wrongKey.text, /No key could open this file/);
    await assertClean(page, log);
  } finally {
    await page.close();
  }
});

test("multi-document YAML: one tree item per document, one MAC for all", async () => {
  const { page, log } = await openViewer();
  try {
    await openFile(page, vector("yaml/multidoc.encrypted.yaml"));
    const documents = page.locator('[role="tree"] > [role="treeitem"]');
    assert.deepEqual(await documents.locator(":scope > .node > .key").allTextContents(), ["Document 1", "Document 2", "Document 3"]);
    assert.equal((await decryptWith(page)).state, "ok");
    await page.getByRole("button", { name: "Reveal all" }).click();
    const values = await treeValues(page);
    assert.deepEqual([...new Set(values.map((v) => v.document))], [0, 1, 2]);
    // Every shown plaintext is in what sops prints for the file.
    const printed = run(sopsBin, ["decrypt", vector("yaml/multidoc.encrypted.yaml")]);
    for (const v of values) assert.ok(printed.includes(v.text), `${v.document} ${v.path}: ${v.text}`);
    await assertClean(page, log);
  } finally {
    await page.close();
  }
});

/** The rows of the value diff: path → change. */
function diffRows(page) {
  return page
    .locator("#value-diff tbody tr")
    .evaluateAll((rows) => Object.fromEntries(rows.map((r) => [r.dataset.path, r.dataset.change])));
}

test("diff of two versions: without a key by ciphertext, with a key by value; key sources", async () => {
  // The second version: one value changed and one added by the native CLI (same data key).
  const edited = join(scratch, "encrypted.yaml");
  await writeFile(edited, await readFile(vector("yaml/encrypted.yaml")));
  run(cliBin, ["set", edited, '["str"]', '"changed by set"']);
  run(cliBin, ["set", edited, '["added_key"]', '"brand new"']);

  const { page, log } = await openViewer();
  try {
    await openFile(page, edited);
    await page.getByLabel("Other version", { exact: true }).setInputFiles(vector("yaml/encrypted.yaml"));
    await page.locator("#value-diff").waitFor();
    assert.deepEqual(await diffRows(page), { '["str"]': "ciphertext", '["added_key"]': "added" });
    assert.match(await page.locator("#diff").textContent(), /Compared without keys/);
    assert.match(await page.locator("#metadata-diff").textContent(), /lastmodified/);
    await screenshot(page, "04-diff-without-key");

    await decryptWith(page);
    await page.locator("#diff", { hasText: "Compared decrypted values" }).waitFor();
    assert.deepEqual(await diffRows(page), { '["str"]': "changed", '["added_key"]': "added" });
    const row = page.locator('#value-diff tr[data-path=\'["str"]\']');
    assert.equal(await row.locator("td.value").first().textContent(), MASK);
    await row.getByRole("button", { name: /^Reveal change/ }).click();
    const [beforeText, afterText] = await row.locator("td.value").allTextContents();
    assert.equal(afterText, "changed by set");
    assert.equal(beforeText, run(cliBin, ["decrypt", "--extract", '["str"]', vector("yaml/encrypted.yaml")]).replace(/\n$/, ""));
    await screenshot(page, "05-diff-with-key");

    // Key sources: updatekeys replaced R2 by R3 with the same data key and values.
    await page.getByRole("button", { name: "Forget keys" }).click();
    await openFile(page, vector("yaml/updatekeys.yaml"));
    await page.getByLabel("Other version", { exact: true }).setInputFiles(vector("yaml/multi-recipient.yaml"));
    await page.locator("#key-source-diff").waitFor();
    const sources = await page
      .locator("#key-source-diff tbody tr")
      .evaluateAll((rows) => rows.map((r) => `${r.dataset.change} ${r.lastElementChild.textContent}`));
    const recipients = (await readFile(vector("age/recipients.txt"), "utf8")).match(/age1\w+/g);
    assert.ok(sources.includes(`removed ${recipients[1]}`), sources.join("\n"));
    assert.ok(sources.includes(`added ${recipients[2]}`), sources.join("\n"));
    assert.match(await page.locator("#diff").textContent(), /No value changed/);

    // A rotation rewrites every ciphertext: the page says the ciphertexts tell nothing.
    await openFile(page, vector("yaml/rotated.yaml"));
    await page.getByLabel("Other version", { exact: true }).setInputFiles(vector("yaml/encrypted.yaml"));
    await page.locator("#diff", { hasText: "data key was rotated" }).waitFor();
    await assertClean(page, log);
  } finally {
    await page.close();
  }
});

test("edit a value, download the re-encrypted file, sops 3.11 decrypts it", async () => {
  const { page, log } = await openViewer();
  try {
    await openFile(page, vector("yaml/encrypted.yaml"));
    assert.equal((await decryptWith(page)).state, "ok");
    for (const [path, value] of [
      ['["str"]', "edited in the browser"],
      ['["int"]', "4242"],
    ]) {
      await page.getByRole("button", { name: `Edit ${path}` }).click();
      await page.getByLabel(`New value for ${path}`).fill(value);
      await page.getByRole("button", { name: "Save" }).click();
    }
    assert.match(await page.locator("#edit-count").textContent(), /^2 values edited/);
    await screenshot(page, "06-edited");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download re-encrypted file" }).click(),
    ]);
    assert.equal(download.suggestedFilename(), "encrypted.yaml");
    const saved = join(scratch, "downloaded.yaml");
    await download.saveAs(saved);

    const plain = run(sopsBin, ["decrypt", saved]);
    const expected = (await readFile(vector("yaml/decrypted.yaml"), "utf8"))
      .replace(/^str: .*$/m, "str: edited in the browser")
      .replace(/^int: .*$/m, "int: 4242");
    assert.equal(plain, expected);

    // The page now shows the new version, compared with the original.
    const verdict = await waitVerdict(page);
    assert.equal(verdict.state, "ok", verdict.text);
    await page.locator("#value-diff").waitFor();
    assert.deepEqual(await diffRows(page), { '["str"]': "changed", '["int"]': "changed" });
    await assertClean(page, log, ["edited in the browser"]);
  } finally {
    await page.close();
  }
});

test("paste, drag and drop, filter, collapse, copy", async () => {
  const { page, log } = await openViewer();
  try {
    // Paste: no name, the format comes from the content.
    await page.locator("summary", { hasText: "Paste a file" }).click();
    await page.getByLabel("Pasted file").fill(await readFile(vector("json/encrypted.json"), "utf8"));
    await page.getByRole("button", { name: "Open pasted text" }).click();
    await page.locator("#file-info", { hasText: "pasted text · json" }).waitFor();

    // Drop: a DataTransfer with a File, dispatched on the page.
    const dotenv = await readFile(vector("dotenv/encrypted.env"), "utf8");
    await page.evaluate((text) => {
      const data = new DataTransfer();
      data.items.add(new File([text], "dropped.env"));
      document.body.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
    }, dotenv);
    await page.locator("#file-info", { hasText: "dropped.env · dotenv" }).waitFor();

    await openFile(page, vector("yaml/encrypted.yaml"));
    const items = page.locator('[role="treeitem"]');
    const total = await items.count();
    await page.getByLabel("Filter keys").fill("kept");
    await page.waitForFunction(() => document.querySelectorAll('[role="treeitem"].filtered-out').length > 0);
    const visible = await page
      .locator('[role="treeitem"]:not(.filtered-out)')
      .evaluateAll((lis) => lis.map((li) => li.dataset.path));
    assert.deepEqual(visible, [
      '["nested"]',
      '["nested"]["deep_unencrypted"]',
      '["nested"]["deep_unencrypted"]["kept"]',
      '["nested"]["deep_unencrypted"]["kept_int"]',
    ]);
    assert.ok(total > 20);
    await page.getByLabel("Filter keys").fill("");
    await page.waitForFunction(() => document.querySelectorAll('[role="treeitem"].filtered-out').length === 0);

    await page.getByRole("button", { name: "Collapse all" }).click();
    const list = page.locator('[role="treeitem"][data-path=\'["nested"]\']');
    assert.equal(await list.getAttribute("aria-expanded"), "false");
    assert.equal(await list.locator(':scope > [role="group"]').isVisible(), false);
    await list.focus();
    await page.keyboard.press("ArrowRight");
    assert.equal(await list.getAttribute("aria-expanded"), "true");

    await decryptWith(page);
    await page.getByRole("button", { name: 'Copy ["str"]' }).click();
    await page.getByRole("button", { name: 'Copy ["str"]' }).filter({ hasText: "Copied" }).waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, run(cliBin, ["decrypt", "--extract", '["str"]', vector("yaml/encrypted.yaml")]).replace(/\n$/, ""));
    await assertClean(page, log, [copied]);
  } finally {
    await page.close();
  }
});

test("Forget keys and pagehide drop identities, tokens and plaintexts", async () => {
  const { page, log } = await openViewer();
  try {
    await openFile(page, vector("yaml/encrypted.yaml"));
    await decryptWith(page);
    await page.getByRole("button", { name: "Reveal all" }).click();
    assert.ok((await treeValues(page)).some((v) => !v.plain && v.text !== MASK));
    await page.locator("summary", { hasText: "Azure Key Vault" }).click();
    await page.getByLabel("Access token").fill("eyJ0eXAiOiJKV1QifQ.test-token.sig");

    await page.getByRole("button", { name: "Forget keys" }).click();
    assert.match(await page.getByRole("status").textContent(), /Keys forgotten/);
    assert.equal(await page.getByLabel("age identity", { exact: true }).inputValue(), "");
    assert.equal(await page.getByLabel("Access token").inputValue(), "");
    const after = await treeValues(page);
    assert.ok(after.filter((v) => !v.plain).every((v) => v.text === MASK && v.masked));
    assert.equal(await page.getByRole("button", { name: /^Reveal \[/ }).count(), 0);
    assert.equal(await page.getByRole("button", { name: "Reveal all" }).isDisabled(), true);
    await screenshot(page, "07-forgotten");
    // Decrypt needs the identity again.
    await page.getByRole("button", { name: "Decrypt", exact: true }).click();
    assert.match(await page.getByRole("status").textContent(), /Paste an age identity/);

    // An identity file works as well; it is read into memory, not into the control.
    await page.getByLabel("age identity file").setInputFiles(vector("age/key1.txt"));
    await page.getByRole("status", { name: "" }).filter({ hasText: "Identity file read: 1 age identity" }).waitFor();
    assert.equal(await page.getByLabel("age identity file").inputValue(), "");
    await page.getByRole("button", { name: "Decrypt", exact: true }).click();
    assert.equal((await waitVerdict(page)).state, "ok");

    await page.evaluate(() => window.dispatchEvent(new PageTransitionEvent("pagehide", { persisted: false })));
    assert.equal(await page.getByLabel("age identity", { exact: true }).inputValue(), "");
    assert.ok((await treeValues(page)).filter((v) => !v.plain).every((v) => v.text === MASK));
    // The identity file's text went with it.
    await page.getByRole("button", { name: "Decrypt", exact: true }).click();
    assert.match(await page.getByRole("status").textContent(), /Paste an age identity/);
    await assertClean(page, log);
  } finally {
    await page.close();
  }
});

test("CSP: in a meta tag, no inline script, connect-src limited, violations blocked", async () => {
  const html = await (await fetch(`${server.origin}/`)).text();
  const csp = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]+)"/)?.[1]?.replaceAll("&#39;", "'");
  assert.ok(csp, "a CSP meta tag");
  const directives = Object.fromEntries(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives["default-src"], ["'none'"]);
  assert.deepEqual(directives["script-src"], ["'self'", "'wasm-unsafe-eval'"]);
  assert.deepEqual(directives["connect-src"], [
    "'self'",
    "http://127.0.0.1:8091",
    "https://*.vault.azure.net",
    "https://*.amazonaws.com",
    "https://cloudkms.googleapis.com",
    "https://login.microsoftonline.com",
  ]);
  assert.deepEqual(directives["require-trusted-types-for"], ["'script'"]);
  // Every script has a src; no inline handlers or styles.
  for (const tag of html.match(/<script\b[^>]*>/g) ?? []) assert.match(tag, /\bsrc="\.\//);
  assert.ok(!/<script\b[^>]*>\s*[^<\s]/.test(html), "no inline script body");
  assert.ok(!/\son[a-z]+=/i.test(html), "no inline event handler");
  assert.ok(!/\sstyle=/i.test(html), "no inline style");

  const { page, log } = await openViewer();
  try {
    // Injected inline script does not run (Trusted Types refuses the text, CSP the script).
    const injected = await page.evaluate(() => {
      try {
        const s = document.createElement("script");
        s.textContent = "window.__ran = true";
        document.head.append(s);
      } catch (e) {
        return `refused: ${e.name}`;
      }
      return window.__ran ? "ran" : "blocked";
    });
    assert.notEqual(injected, "ran");
    // A loopback origin that is not configured is refused before any request is made.
    const fetched = await page.evaluate(() =>
      fetch("http://127.0.0.2:9/keys").then(
        () => "reached",
        (e) => `refused: ${e.name}`,
      ),
    );
    assert.equal(fetched, "refused: TypeError");
    const violations = await page.evaluate(() => window.__violations);
    assert.ok(violations.some((v) => v.directive === "connect-src" && v.blocked.startsWith("http://127.0.0.2")), JSON.stringify(violations));
    assert.deepEqual(log.errors, []);
  } finally {
    await page.close();
  }

  // serve.mjs's server sends the policy as a header too (with frame-ancestors).
  const headed = await startServer(dist, { csp: `${csp}; frame-ancestors 'none'` });
  try {
    const response = await fetch(`${headed.origin}/`);
    assert.match(response.headers.get("content-security-policy"), /frame-ancestors 'none'/);
    assert.equal((await fetch(`${headed.origin}/leafcrypt_wasm_bg.wasm`)).headers.get("content-type"), "application/wasm");
    assert.equal((await fetch(`${headed.origin}/../package.json`)).status, 404);
  } finally {
    await headed.close();
  }
});

test("Key Vault panel: explanation and proxy command for the file's vault", async () => {
  const { page, log } = await openViewer();
  try {
    await openFile(page, vector("metadata/key-groups-all-kinds.yaml"));
    // The panel opens by itself for a file with azure_kv entries.
    const command = page.locator("#kv-command");
    await command.waitFor();
    assert.equal(
      await command.textContent(),
      `leafcrypt kv-proxy --vault https://myvault.vault.azure.net --allow-origin ${server.origin}`,
    );
    assert.match(await page.locator("#kv-explanation").textContent(), /Azure Key Vault sends no CORS headers/);
    assert.equal(await page.getByLabel("kv-proxy URL").inputValue(), "http://127.0.0.1:8091");
    const meta = await page.locator("#metadata").textContent();
    for (const expected of ["azure_kv", "vault_url: https://myvault.vault.azure.net", "name: sops-key", "version: 0123456789abcdef0123456789abcdef", "Key group 3", "2 of 3 key groups", "pgp", "hc_vault"]) {
      assert.ok(meta.includes(expected), expected);
    }
    assert.ok(!meta.includes("BEGIN AGE ENCRYPTED FILE"), "wrapped keys are not shown");
    await screenshot(page, "08-key-vault-panel");
    assert.deepEqual(log.errors, []);
  } finally {
    await page.close();
  }
});

test("metadata lists PKCS#11 entries next to age (URI, mechanism; never the wrapped key)", async () => {
  // A pkcs11 entry added to a copy's key group: metadata only, so the age key still opens it.
  const text = (await readFile(vector("yaml/encrypted.yaml"), "utf8")).replace(
    "\nsops:\n",
    "\nsops:\n    pkcs11:\n        - uri: pkcs11:token=ops;object=kek-2026\n          id: 0a0b\n          mechanism: CKM_AES_GCM\n          created_at: \"2026-11-29T00:00:00Z\"\n          enc: V1JBUFBFRC1LRVk=\n",
  );
  const path = join(scratch, "with-pkcs11.yaml");
  await writeFile(path, text);
  const { page, log } = await openViewer();
  try {
    await openFile(page, path);
    const entry = page.locator('#metadata li[data-kind="pkcs11"]');
    assert.match(await entry.textContent(), /pkcs11\s*pkcs11:token=ops;object=kek-2026.*mechanism: CKM_AES_GCM/s);
    assert.equal(await page.locator('#metadata li[data-kind="age"]').count(), 1);
    assert.ok(!(await page.locator("#metadata").textContent()).includes("V1JBUFBFRC1LRVk="), "no wrapped key");
    assert.equal((await decryptWith(page)).state, "ok");
    await assertClean(page, log);
  } finally {
    await page.close();
  }
});

test("timing: load and decrypt a 10k-leaf file (logged, not asserted)", async (t) => {
  const file = process.env.VIEWER_BENCH_FILE;
  if (!file) {
    t.skip("VIEWER_BENCH_FILE not set (scripts/test-viewer generates it)");
    return;
  }
  const { page } = await openViewer();
  try {
    const start = performance.now();
    await openFile(page, file);
    const opened = performance.now();
    const verdict = await decryptWith(page);
    const done = performance.now();
    assert.equal(verdict.state, "ok", verdict.text);
    const leaves = Number(verdict.text.match(/(\d+) values decrypted/)?.[1]);
    const measures = await page.evaluate(() =>
      Object.fromEntries(performance.getEntriesByType("measure").map((m) => [m.name, Math.round(m.duration)])),
    );
    const line =
      `viewer timing: ${leaves} leaves: open ${Math.round(opened - start)} ms, decrypt ${Math.round(done - opened)} ms ` +
      `(total ${Math.round(done - start)} ms; in the page: structure+render ${measures["leafcrypt:open"]} ms, ` +
      `decrypt+render ${measures["leafcrypt:decrypt"]} ms)`;
    t.diagnostic(line);
    console.error(line);

    // Collapsed parts are built on demand: a filter reaches a deep key and shows it.
    const target = '["service-0017"]["env"]["API_TOKEN"]';
    await page.getByLabel("Filter keys").fill("service-0017");
    const item = page.locator(`[role="treeitem"][data-path='${target}']`);
    await item.waitFor();
    assert.ok(await item.isVisible());
    await page.getByLabel("Filter keys").fill("");
    await page.getByRole("button", { name: "Expand all" }).click();
    assert.equal(await page.locator('[role="treeitem"][data-kind="value"]').count(), leaves);
  } finally {
    await page.close();
  }
});
