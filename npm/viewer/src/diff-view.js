// Renders a comparison of two versions (diff.js's result): a summary, changed key
// sources and metadata, and the changed values (secret ones masked until revealed).

import { h } from "./dom.js";

const MASK = "••••••••";

const LABELS = {
  added: "added",
  removed: "removed",
  changed: "changed",
  ciphertext: "changed (new ciphertext)",
  "re-encrypted": "re-encrypted, same value",
  "now-unencrypted": "NOW STORED UNENCRYPTED",
  "now-encrypted": "now encrypted",
  unchanged: "unchanged",
};

/**
 * @param {HTMLElement} container
 * @param {ReturnType<typeof import("./diff.js").diffStructures>} diff
 * @param {{ beforeName: string, afterName: string, decrypted: boolean }} about
 */
export function renderDiff(container, diff, { beforeName, afterName, decrypted }) {
  const changed = diff.entries.filter((e) => e.change !== "unchanged");
  const counts = Object.entries(diff.counts)
    .map(([change, n]) => `${n} ${LABELS[change]}`)
    .join(", ");
  const how = decrypted
    ? "Compared decrypted values."
    : "Compared without keys: a key whose ciphertext changed was rewritten (sops keeps the ciphertext of unchanged values). Decrypt to compare the values.";
  const parts = [
    h("p", { class: "diff-summary" }, h("strong", { text: `${beforeName} → ${afterName}: ` }), counts || "no values"),
    h("p", { class: "hint", text: `${how} Comments are not compared.` }),
  ];
  if (diff.allCiphertextsChanged) {
    parts.push(
      h("p", {
        class: "status status-warn",
        text: "Every encrypted value has a new ciphertext: the data key was rotated or the file re-encrypted from scratch, so the ciphertexts say nothing about which values changed.",
      }),
    );
  }
  if (diff.keySources.length) {
    parts.push(
      h("h3", { text: "Key sources" }),
      table(
        ["Group", "Change", "Kind", "Key"],
        diff.keySources.map((k) =>
          h(
            "tr",
            { class: `change-${k.change}`, dataset: { change: k.change } },
            h("td", { text: String(k.group + 1) }),
            h("td", { text: k.change }),
            h("td", { text: k.kind }),
            h("td", { class: "mono", text: k.identity }),
          ),
        ),
        "key-source-diff",
      ),
    );
  }
  if (diff.metadata.length) {
    parts.push(
      h("h3", { text: "Metadata" }),
      table(
        ["Field", "Before", "After"],
        diff.metadata.map((m) => h("tr", {}, h("td", { text: m.field }), h("td", { text: m.before }), h("td", { text: m.after }))),
        "metadata-diff",
      ),
    );
  }
  parts.push(h("h3", { text: "Values" }));
  if (changed.length === 0) {
    parts.push(h("p", { text: "No value changed." }));
  } else {
    parts.push(
      table(
        ["Path", "Change", "Before", "After", ""],
        changed.map((e) => row(e, diff.multiDocument)),
        "value-diff",
      ),
    );
  }
  container.replaceChildren(...parts);
}

function table(headers, rows, id) {
  return h(
    "table",
    { class: "diff", id },
    h("thead", {}, h("tr", {}, ...headers.map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, ...rows),
  );
}

function row(entry, multiDocument) {
  const where = multiDocument ? `document ${entry.document + 1}: ${entry.path}` : entry.path;
  const secret = Boolean(entry.before?.encrypted || entry.after?.encrypted);
  const before = h("td", { class: "value mono" });
  const after = h("td", { class: "value mono" });
  const tr = h(
    "tr",
    { class: `change-${entry.change}`, dataset: { path: entry.path, change: entry.change } },
    h("td", { class: "mono", text: where }),
    h("td", { text: LABELS[entry.change] }),
    before,
    after,
  );
  const show = (revealed) => {
    before.textContent = shown(entry.before, revealed);
    after.textContent = shown(entry.after, revealed);
  };
  show(false);
  const known = [entry.before, entry.after].some((n) => n?.encrypted && n.text !== undefined);
  if (secret && known) {
    const button = h("button", { type: "button", "aria-pressed": "false", "aria-label": `Reveal change at ${where}`, text: "Reveal" });
    button.addEventListener("click", () => {
      const on = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", String(on));
      button.textContent = on ? "Hide" : "Reveal";
      show(on);
    });
    tr.append(h("td", {}, button));
  } else {
    tr.append(h("td"));
  }
  return tr;
}

/** A side of a change: its plaintext when not secret or revealed, else a mask. */
function shown(node, revealed) {
  if (!node) return "—";
  if (node.kind === "null") return "null";
  if (node.kind !== "value") return node.kind === "map" ? "{}" : "[]";
  if (node.text === undefined) return `${MASK} (${node.type})`;
  return !node.encrypted || revealed ? node.text : MASK;
}
