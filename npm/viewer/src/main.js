// The viewer page: wires the controls to the leafcrypt package. Keys, tokens and
// plaintexts live in `keys` and the decrypted structures below, in memory only; nothing
// is written to storage, the URL or the console, and everything is dropped on
// "Forget keys" and when the page is hidden for good (pagehide).

import { init, structure, decryptStructure, setValues, detectFormat } from "../../src/web.js";
import { readConfig } from "./config.js";
import { diffStructures } from "./diff.js";
import { renderDiff } from "./diff-view.js";
import {
  explainKeyVaultFailure,
  isBlockedRequest,
  keyVaultOptions,
  keyVersionNotes,
  proxyCommand,
  vaultsOf,
} from "./keyvault.js";
import { awsKmsOptions, explainAwsKmsFailure, kmsEntriesOf } from "./awskms.js";
import { entriesOf, explainFailure, gcpKmsOptions, hcVaultOptions } from "./gcpvault.js";
import { renderMetadata } from "./metadata.js";
import { msalAvailable, signIn, signOutLocally } from "./msal.js";
import { setStatus } from "./status.js";
import { TreeView, editKey } from "./tree.js";

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const config = readConfig();

const ui = {
  fileInput: /** @type {HTMLInputElement} */ ($("file-input")),
  format: /** @type {HTMLSelectElement} */ ($("format-select")),
  paste: /** @type {HTMLTextAreaElement} */ ($("paste-input")),
  fileInfo: $("file-info"),
  identity: /** @type {HTMLTextAreaElement} */ ($("age-identity")),
  identityFile: /** @type {HTMLInputElement} */ ($("age-identity-file")),
  pgpKey: /** @type {HTMLTextAreaElement} */ ($("pgp-key")),
  pgpKeyFile: /** @type {HTMLInputElement} */ ($("pgp-key-file")),
  pgpPassphrase: /** @type {HTMLInputElement} */ ($("pgp-passphrase")),
  decrypt: /** @type {HTMLButtonElement} */ ($("decrypt")),
  kvToken: /** @type {HTMLTextAreaElement} */ ($("kv-token")),
  kvProxy: /** @type {HTMLInputElement} */ ($("kv-proxy")),
  kvCommand: $("kv-command"),
  kvSignIn: /** @type {HTMLButtonElement} */ ($("kv-signin")),
  awsPanel: /** @type {HTMLDetailsElement} */ ($("aws-panel")),
  gcpPanel: /** @type {HTMLDetailsElement} */ ($("gcp-panel")),
  gcpToken: /** @type {HTMLInputElement} */ ($("gcp-token")),
  gcpEndpoint: /** @type {HTMLInputElement} */ ($("gcp-endpoint")),
  vaultPanel: /** @type {HTMLDetailsElement} */ ($("vault-panel")),
  vaultToken: /** @type {HTMLInputElement} */ ($("vault-token")),
  vaultNamespace: /** @type {HTMLInputElement} */ ($("vault-namespace")),
  awsKeyId: /** @type {HTMLInputElement} */ ($("aws-access-key-id")),
  awsSecret: /** @type {HTMLInputElement} */ ($("aws-secret-access-key")),
  awsSession: /** @type {HTMLTextAreaElement} */ ($("aws-session-token")),
  awsEndpoint: /** @type {HTMLInputElement} */ ($("aws-endpoint")),
  status: $("status"),
  metadata: $("metadata"),
  filter: /** @type {HTMLInputElement} */ ($("filter")),
  revealAll: /** @type {HTMLButtonElement} */ ($("reveal-all")),
  editBar: $("edit-bar"),
  editCount: $("edit-count"),
  compareInput: /** @type {HTMLInputElement} */ ($("compare-input")),
  diff: $("diff"),
};

/**
 * @typedef {{ name: string, text: string, format: string, structure: object,
 *   decrypted: object | null }} OpenFile
 */
const state = {
  /** @type {OpenFile | null} */
  current: null,
  /** @type {OpenFile | null} the version compared with */
  other: null,
  /** Package key options (`age`, `pgp`, `azureKv`, `awsKms`, `gcpKms`, `hcVault`), or null: memory only. */
  keys: null,
  /** @type {Map<string, { document: number, path: string, type: string, text: string }>} */
  edits: new Map(),
};

/** The text of an identity file chosen with the file control (memory only). */
let identityFromFile = "";
/** Armored PGP private keys chosen with the file control or dropped (memory only). */
let pgpKeysFromFiles = "";

const PGP_PRIVATE = "-----BEGIN PGP PRIVATE KEY BLOCK-----";

const tree = new TreeView($("tree"), {
  onEdit: (edit) => {
    state.edits.set(editKey(edit.document, edit.path), edit);
    showEditBar();
  },
  onCopy: (text) => navigator.clipboard.writeText(text),
});

/** Times an async step as a performance measure (names only, never data). */
async function timed(name, fn) {
  const start = performance.now();
  try {
    return await fn();
  } finally {
    performance.measure(name, { start, end: performance.now() });
  }
}

// ---------------------------------------------------------------- opening files

/** Reads, detects and shows a file without a key (and decrypts it when keys are held). */
async function openFile(name, text) {
  try {
    await init(); // format detection is the core's (detectFormat)
  } catch (error) {
    setStatus(ui.status, "bad", "Cannot load leafcrypt's WebAssembly module", error.message);
    return;
  }
  const format = ui.format.value !== "auto" ? ui.format.value : detectFormat(name, text);
  if (!format) {
    setStatus(ui.status, "bad", "Not a SOPS file", "Neither the name nor the content says which format this is: choose one under Format.");
    return;
  }
  let shape;
  try {
    shape = await timed("leafcrypt:open", async () => {
      await init();
      const s = structure(text, { format });
      render({ name, text, format, structure: s, decrypted: null });
      return s;
    });
  } catch (error) {
    state.current = null;
    tree.render(null);
    ui.metadata.replaceChildren();
    setStatus(ui.status, "bad", `Cannot read this file as ${format}`, error.message);
    return;
  }
  const encrypted = countEncrypted(shape);
  setStatus(ui.status, "none", `Not decrypted: ${encrypted} encrypted values are masked.`, "The MAC is checked when you decrypt.");
  if (state.keys) await decryptCurrent();
  if (state.other) await showDiff();
}

/** Shows `file` as the current file (tree, metadata, file line). */
function render(file) {
  state.current = file;
  state.edits.clear();
  showEditBar();
  ui.fileInfo.textContent = `${file.name || "pasted text"} · ${file.format}`;
  renderMetadata(ui.metadata, file.structure.metadata);
  const vaults = vaultsOf(file.structure.metadata);
  ui.kvCommand.textContent = proxyCommand(vaults, location.origin);
  if (vaults.length) /** @type {HTMLDetailsElement} */ ($("kv-panel")).open = true;
  const kms = kmsEntriesOf(file.structure.metadata).length > 0;
  ui.awsPanel.hidden = !kms;
  ui.awsPanel.open = kms;
  for (const [panel, kind] of [[ui.gcpPanel, "gcp_kms"], [ui.vaultPanel, "hc_vault"]]) {
    const present = entriesOf(file.structure.metadata, kind).length > 0;
    panel.hidden = !present;
    panel.open = present;
  }
  renderTree();
  ui.filter.value = "";
}

function renderTree() {
  const file = state.current;
  const verified = file?.decrypted?.mac === "verified";
  tree.render(file ? (file.decrypted ?? file.structure) : null, { editable: verified, edited: state.edits });
  ui.revealAll.disabled = !file?.decrypted;
  if (!file?.decrypted) setRevealAll(false);
}

function countEncrypted(s) {
  let n = 0;
  const walk = (node) => {
    if (node.encrypted && node.kind === "value") n++;
    node.children?.forEach(walk);
  };
  s.documents.forEach(walk);
  return n;
}

async function readFile(file) {
  return new TextDecoder().decode(await file.arrayBuffer());
}

ui.fileInput.addEventListener("change", async () => {
  const file = ui.fileInput.files?.[0];
  if (file) await openFile(file.name, await readFile(file));
});

$("paste-open").addEventListener("click", () => openFile("", ui.paste.value));

ui.format.addEventListener("change", () => {
  if (state.current) openFile(state.current.name, state.current.text);
});

// Drag and drop anywhere: the first file is opened, a second one compared with it.
document.addEventListener("dragover", (e) => {
  e.preventDefault();
  document.body.classList.add("dragging");
});
document.addEventListener("dragleave", (e) => {
  if (e.target === document.documentElement || e.target === document.body) document.body.classList.remove("dragging");
});
document.addEventListener("drop", async (e) => {
  e.preventDefault();
  document.body.classList.remove("dragging");
  const texts = await Promise.all([...(e.dataTransfer?.files ?? [])].map(async (f) => [f.name, await readFile(f)]));
  // A dropped PGP private key is a key, not a file to open.
  const keys = texts.filter(([, text]) => text.includes(PGP_PRIVATE));
  for (const [, text] of keys) addPgpKeys(text);
  const files = texts.filter(([, text]) => !text.includes(PGP_PRIVATE));
  if (files[0]) await openFile(files[0][0], files[0][1]);
  if (files[1]) await openCompare(files[1][0], files[1][1]);
});

// ---------------------------------------------------------------- decrypting

/** Decrypts the current (and compared) file with `state.keys`; shows the MAC verdict. */
async function decryptCurrent() {
  const file = state.current;
  if (!file || !state.keys) return;
  setStatus(ui.status, "none", "Decrypting…");
  let opened;
  try {
    opened = await timed("leafcrypt:decrypt", async () => {
      const result = await decryptStructure(file.text, { format: file.format, ...state.keys });
      file.decrypted = result;
      renderTree();
      return result;
    });
  } catch (error) {
    file.decrypted = null;
    renderTree();
    showDecryptFailure(error);
    if (state.other) await showDiff();
    return;
  }
  const values = countEncrypted(opened);
  if (opened.mac === "verified") {
    setStatus(ui.status, "ok", `MAC verified: ${values} values decrypted and authentic.`);
  } else {
    setStatus(
      ui.status,
      "bad",
      "MAC MISMATCH: this file was modified after it was encrypted. Do not trust its values.",
      `${opened.macError}. The values are shown so that you can see what was changed; editing is disabled.`,
    );
  }
  if (state.other) await showDiff();
}

function showDecryptFailure(error) {
  // Cloud KMS's or Vault's explanation when it was the only key, or when its request failed.
  const others = (k) => ["age", "pgp", "azureKv", "awsKms", "gcpKms", "hcVault"].some((o) => o !== k && state.keys?.[o]);
  for (const [option, service, endpoint, secret] of [
    ["gcpKms", "gcp", ui.gcpEndpoint.value.trim(), ui.gcpToken.value],
    ["hcVault", "vault", "", ui.vaultToken.value],
  ]) {
    if (state.keys?.[option] && (!others(option) || /often CORS/.test(error?.message ?? ""))) {
      const { title, detail } = explainFailure(error, service, { endpoint, secrets: [secret] });
      setStatus(ui.status, "bad", title, detail);
      return;
    }
  }
  // AWS KMS's explanation when it was the only key, or when the request itself failed.
  const onlyAws = state.keys?.awsKms && !state.keys.age && !state.keys.pgp && !state.keys.azureKv;
  if (onlyAws || (state.keys?.awsKms && /often CORS/.test(error?.message ?? ""))) {
    const { title, detail } = explainAwsKmsFailure(error, {
      endpoint: ui.awsEndpoint.value.trim(),
      secrets: [ui.awsSecret.value, ui.awsSession.value.trim()],
    });
    setStatus(ui.status, "bad", title, detail);
    return;
  }
  // Key Vault's explanation when it was the only key, or when the browser refused the call.
  if (state.keys?.azureKv && ((!state.keys.age && !state.keys.pgp) || isBlockedRequest(error))) {
    const { title, detail } = explainKeyVaultFailure(error, {
      proxy: ui.kvProxy.value.trim(),
      vaults: vaultsOf(state.current?.structure.metadata),
      origin: location.origin,
    });
    setStatus(ui.status, "bad", title, detail);
    return;
  }
  switch (error?.code) {
    case "NO_KEY":
      setStatus(ui.status, "bad", "No key could open this file.", error.message);
      break;
    case "DECRYPT_VALUE":
      setStatus(
        ui.status,
        "bad",
        `TAMPERED OR DAMAGED: the value at ${error.path ?? "a key"} does not decrypt.`,
        "Its ciphertext, IV or tag was changed, or it was moved from another key.",
      );
      break;
    case "INVALID_OPTIONS":
      setStatus(ui.status, "bad", "The key was not accepted.", error.message);
      break;
    default:
      setStatus(ui.status, "bad", "Decryption failed.", error?.message ?? String(error));
  }
}

ui.identityFile.addEventListener("change", async () => {
  const file = ui.identityFile.files?.[0];
  if (!file) return;
  identityFromFile = await readFile(file);
  ui.identityFile.value = ""; // the text is held below, not in the control
  const count = (identityFromFile.match(/AGE-SECRET-KEY-1/g) ?? []).length;
  setStatus(ui.status, "none", `Identity file read: ${count} age ${count === 1 ? "identity" : "identities"} in memory.`, "Press Decrypt.");
});

/** Holds the armored PGP private keys of `text` (memory only) and says how many blocks. */
function addPgpKeys(text) {
  pgpKeysFromFiles = [pgpKeysFromFiles, text].filter(Boolean).join("\n");
  const count = pgpKeysFromFiles.split(PGP_PRIVATE).length - 1;
  setStatus(ui.status, "none", `PGP key read: ${count} private key ${count === 1 ? "block" : "blocks"} in memory.`, "Enter its passphrase if it has one, then press Decrypt.");
}

ui.pgpKeyFile.addEventListener("change", async () => {
  const file = ui.pgpKeyFile.files?.[0];
  if (!file) return;
  const text = await readFile(file);
  ui.pgpKeyFile.value = ""; // the text is held in memory, not in the control
  addPgpKeys(text);
});

/**
 * The keys the page has inputs for: age identities (pasted or from a file), PGP private keys
 * (pasted, from a file or dropped) with their passphrase, and a Key Vault token with the
 * proxy URL, AWS credentials with an optional KMS endpoint. Several at once open files
 * whose key groups need them all (Shamir).
 */
function keysFromInputs() {
  const keys = {};
  const identities = [ui.identity.value.trim(), identityFromFile.trim()].filter(Boolean).join("\n");
  if (identities) keys.age = { identities };
  const pgpKeys = [ui.pgpKey.value.trim(), pgpKeysFromFiles.trim()].filter(Boolean).join("\n");
  if (pgpKeys) {
    keys.pgp = { privateKeys: pgpKeys };
    if (ui.pgpPassphrase.value) keys.pgp.passphrase = ui.pgpPassphrase.value;
  }
  const token = ui.kvToken.value.trim();
  if (token) Object.assign(keys, keyVaultOptions({ token, proxy: ui.kvProxy.value.trim() }));
  const accessKeyId = ui.awsKeyId.value.trim();
  const secretAccessKey = ui.awsSecret.value;
  if (accessKeyId && secretAccessKey) {
    const sessionToken = ui.awsSession.value.trim();
    Object.assign(keys, awsKmsOptions({ accessKeyId, secretAccessKey, sessionToken, endpoint: ui.awsEndpoint.value.trim() }));
  }
  const gcpToken = ui.gcpToken.value.trim();
  if (gcpToken) Object.assign(keys, gcpKmsOptions({ token: gcpToken, endpoint: ui.gcpEndpoint.value.trim() }));
  const vaultToken = ui.vaultToken.value.trim();
  if (vaultToken) Object.assign(keys, hcVaultOptions({ token: vaultToken, namespace: ui.vaultNamespace.value.trim() }));
  return { keys, token };
}

ui.decrypt.addEventListener("click", async () => {
  const { keys, token } = keysFromInputs();
  if (!keys.age && !keys.pgp && !token && !keys.awsKms && !keys.gcpKms && !keys.hcVault) {
    setStatus(ui.status, "warn", "Paste an age identity or a PGP private key (or choose a key file) first.");
    return;
  }
  await decryptWith(keys, token);
});

$("kv-decrypt").addEventListener("click", async () => {
  const { keys, token } = keysFromInputs();
  if (!token) {
    setStatus(ui.status, "warn", "Paste an access token (or sign in) first.");
    return;
  }
  await decryptWith(keys, token);
});

$("aws-decrypt").addEventListener("click", async () => {
  const { keys, token } = keysFromInputs();
  if (!keys.awsKms) {
    setStatus(ui.status, "warn", "Enter an access key ID and a secret access key first.");
    return;
  }
  await decryptWith(keys, token);
});

$("gcp-decrypt").addEventListener("click", async () => {
  const { keys, token } = keysFromInputs();
  if (!keys.gcpKms) {
    setStatus(ui.status, "warn", "Paste a Google access token first.");
    return;
  }
  await decryptWith(keys, token);
});

$("vault-decrypt").addEventListener("click", async () => {
  const { keys, token } = keysFromInputs();
  if (!keys.hcVault) {
    setStatus(ui.status, "warn", "Paste a Vault token first.");
    return;
  }
  await decryptWith(keys, token);
});

/** Decrypts the current file with `keys`; with a token, also checks the key versions. */
async function decryptWith(keys, token) {
  const file = state.current;
  if (!file) {
    setStatus(ui.status, "warn", "Open an encrypted file first.");
    return;
  }
  state.keys = keys;
  const checked = token
    ? keyVersionNotes(file.structure.metadata, { token, proxy: ui.kvProxy.value.trim() }).then((notes) => {
        if (state.current === file && state.keys) renderMetadata(ui.metadata, file.structure.metadata, { keyVaultVersions: notes });
      })
    : Promise.resolve();
  await decryptCurrent();
  await checked;
}

ui.kvProxy.value = config.kvProxy;
if (msalAvailable(config)) {
  ui.kvSignIn.hidden = false;
  ui.kvSignIn.addEventListener("click", async () => {
    try {
      ui.kvToken.value = await signIn(config);
      setStatus(ui.status, "none", "Signed in: a Key Vault token is in memory.", "Press Decrypt with Key Vault.");
    } catch (error) {
      setStatus(ui.status, "bad", "Sign-in failed.", error.message);
    }
  });
}

// ---------------------------------------------------------------- reveal, filter

function setRevealAll(on) {
  ui.revealAll.setAttribute("aria-pressed", String(on));
  ui.revealAll.textContent = on ? "Hide all" : "Reveal all";
  tree.setRevealAll(on);
}

ui.revealAll.addEventListener("click", () => setRevealAll(ui.revealAll.getAttribute("aria-pressed") !== "true"));
$("expand-all").addEventListener("click", () => tree.setExpanded(true));
$("collapse-all").addEventListener("click", () => tree.setExpanded(false));

let filterTimer;
ui.filter.addEventListener("input", () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => tree.filter(ui.filter.value), 120);
});

// ---------------------------------------------------------------- edits

function showEditBar() {
  const n = state.edits.size;
  ui.editBar.hidden = n === 0;
  ui.editCount.textContent = `${n} ${n === 1 ? "value" : "values"} edited`;
}

$("discard-edits").addEventListener("click", () => {
  state.edits.clear();
  showEditBar();
  renderTree();
});

$("download").addEventListener("click", async () => {
  const file = state.current;
  if (!file || !state.keys || state.edits.size === 0) return;
  let edited;
  try {
    edited = await setValues(file.text, {
      format: file.format,
      ...state.keys,
      edits: [...state.edits.values()].map((e) => ({ document: e.document, path: e.path, type: e.type, value: e.text })),
    });
  } catch (error) {
    setStatus(ui.status, "bad", "The file could not be re-encrypted.", error.message);
    return;
  }
  const name = file.name || `edited.${file.format === "dotenv" ? "env" : file.format}`;
  const url = URL.createObjectURL(new Blob([edited], { type: "application/octet-stream" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  // Show the new version, compared with the one it was made from.
  const changed = state.edits.size;
  const original = { ...file };
  await openFile(name, edited);
  state.other = { ...original, name: `${original.name || "pasted text"} (before edit)` };
  await showDiff();
  if (state.current?.decrypted?.mac === "verified") {
    setStatus(
      ui.status,
      "ok",
      `MAC verified: downloaded ${name} with ${changed} ${changed === 1 ? "value" : "values"} changed.`,
      "Re-encrypted with the same data key; the other values keep their ciphertext.",
    );
  }
});

// ---------------------------------------------------------------- compare

async function openCompare(name, text) {
  let format;
  try {
    await init();
    format = state.current?.format ?? detectFormat(name, text);
    state.other = { name, text, format, structure: structure(text, { format }), decrypted: null };
  } catch (error) {
    state.other = null;
    ui.diff.replaceChildren();
    setStatus(ui.status, "bad", `Cannot read ${name} as ${format}`, error.message);
    return;
  }
  await showDiff();
}

async function showDiff() {
  const { current, other } = state;
  if (!current || !other) return;
  if (state.keys && current.decrypted && !other.decrypted) {
    other.decrypted = await decryptStructure(other.text, { format: other.format, ...state.keys }).catch(() => null);
  }
  const plain = Boolean(current.decrypted && other.decrypted);
  const diff = diffStructures(plain ? other.decrypted : other.structure, plain ? current.decrypted : current.structure);
  renderDiff(ui.diff, diff, { beforeName: other.name || "pasted text", afterName: current.name || "pasted text", decrypted: plain });
}

ui.compareInput.addEventListener("change", async () => {
  const file = ui.compareInput.files?.[0];
  if (file) await openCompare(file.name, await readFile(file));
});

// ---------------------------------------------------------------- forgetting

/** Drops every key, token and plaintext held by the page. */
function forgetKeys() {
  state.keys = null;
  identityFromFile = "";
  ui.identity.value = "";
  ui.identityFile.value = "";
  pgpKeysFromFiles = "";
  ui.pgpKey.value = "";
  ui.pgpKeyFile.value = "";
  ui.pgpPassphrase.value = "";
  ui.kvToken.value = "";
  ui.awsKeyId.value = "";
  ui.awsSecret.value = "";
  ui.awsSession.value = "";
  ui.gcpToken.value = "";
  ui.vaultToken.value = "";
  ui.vaultNamespace.value = "";
  state.edits.clear();
  for (const file of [state.current, state.other]) if (file) file.decrypted = null;
  showEditBar();
  renderTree();
  if (state.current) renderMetadata(ui.metadata, state.current.structure.metadata);
  if (state.current && state.other) showDiff();
  signOutLocally();
}

$("forget").addEventListener("click", () => {
  forgetKeys();
  setStatus(ui.status, "none", "Keys forgotten: identities, tokens and decrypted values were dropped from this page.");
});

// The page is going away (tab closed, navigation): drop everything, and keep it out of
// the back/forward cache with secrets in it.
window.addEventListener("pagehide", () => {
  forgetKeys();
  ui.paste.value = "";
});

init().catch((error) => setStatus(ui.status, "bad", "The WebAssembly module did not load.", error.message));
