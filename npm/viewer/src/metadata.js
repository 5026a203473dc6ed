// The metadata panel: sops version, lastmodified, MAC, selector, Shamir threshold and
// every key source of every key group (wrapped keys themselves are left out).

import { h } from "./dom.js";

/** Fields shown for each kind, in this order; others follow as stored. */
const FIELDS = {
  age: ["recipient"],
  azure_kv: ["vault_url", "name", "version", "created_at"],
  pkcs11: ["uri", "created_at"],
  kms: ["arn", "role", "created_at"],
  gcp_kms: ["resource_id", "created_at"],
  pgp: ["fp", "created_at"],
  hc_vault: ["vault_address", "engine_path", "key_name", "created_at"],
};

/** Never shown: the wrapped data key (or share). */
const HIDDEN = new Set(["enc", "kind", "identity"]);

/**
 * Renders `metadata` (the package's `Inspection`) into `container`.
 * @param {HTMLElement} container
 * @param {object} metadata
 * @param {{ keyVaultVersions?: Map<string, string> }} [extra] per azure_kv entry
 *   identity, a note on whether its version is the key's current one
 */
export function renderMetadata(container, metadata, extra = {}) {
  const groups = metadata.keyGroups;
  const threshold =
    groups.length > 1
      ? `${metadata.shamirThreshold || groups.length} of ${groups.length} key groups`
      : "— (one key group)";
  const selector = metadata.selector ? `${metadata.selector.type}: ${metadata.selector.pattern}` : "none stored";
  const list = h(
    "dl",
    { class: "meta" },
    ...pair("sops version", metadata.version),
    ...pair("lastmodified", metadata.lastModified),
    ...pair("MAC", metadata.hasMac ? (metadata.macOnlyEncrypted ? "present (encrypted values only)" : "present") : "NONE"),
    ...pair("selector", selector),
    ...pair("Shamir threshold", threshold),
  );
  const sections = groups.map((group, i) =>
    h(
      "div",
      { class: "group", dataset: { group: String(i) } },
      h("h3", { text: groups.length > 1 ? `Key group ${i + 1}` : "Key sources" }),
      h("ul", {}, ...group.map((entry) => keyItem(entry, extra.keyVaultVersions))),
    ),
  );
  container.replaceChildren(list, ...sections);
}

function pair(term, value) {
  return [h("dt", { text: term }), h("dd", { text: value })];
}

function keyItem(entry, versions) {
  const order = FIELDS[entry.kind] ?? [];
  const names = [...order.filter((f) => f in entry), ...Object.keys(entry).filter((f) => !order.includes(f))];
  const details = names
    .filter((f) => !HIDDEN.has(f) && entry[f] !== entry.identity)
    .filter((f) => entry[f] !== "" && entry[f] !== undefined && entry[f] !== null)
    .map((f) => `${f}: ${typeof entry[f] === "object" ? JSON.stringify(entry[f]) : entry[f]}`);
  const note = versions?.get(entry.identity);
  return h(
    "li",
    { dataset: { kind: entry.kind } },
    h("span", { class: "kind", text: entry.kind }),
    " ",
    h("code", { text: entry.identity }),
    details.length ? h("div", { class: "hint mono", text: details.join(" · ") }) : null,
    note ? h("div", { class: "kv-version", text: note }) : null,
  );
}
