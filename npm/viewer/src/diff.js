// What changed between two versions of an encrypted file, from their structures (the
// package's `structure` / `decryptStructure` results). Pure functions: no DOM.
//
// Without keys, an encrypted value can only be compared by its ciphertext: sops and
// leafcrypt keep the ciphertext of a value that did not change (its IV is reused), so a
// changed ciphertext at the same key path means the value was rewritten. With both
// versions decrypted, the plaintexts tell a real change from a mere re-encryption.

/**
 * @typedef {{ kind: string, path: string, type?: string, encrypted?: boolean,
 *   ciphertext?: string, text?: string, children?: TreeNode[] }} TreeNode
 * @typedef {{ documents: TreeNode[], metadata: object }} Structure
 * @typedef {"added" | "removed" | "changed" | "ciphertext" | "re-encrypted" |
 *   "now-encrypted" | "now-unencrypted" | "unchanged"} Change
 * @typedef {{ document: number, path: string, change: Change, before?: TreeNode,
 *   after?: TreeNode }} EntryDiff
 */

/**
 * The addressable leaves of a structure in document order: values, nulls and empty maps
 * or lists, keyed by document and path. Comments are left out (map comments have no
 * path).
 * @param {Structure} structure
 * @returns {Map<string, { document: number, node: TreeNode }>}
 */
export function leaves(structure) {
  const out = new Map();
  structure.documents.forEach((root, document) => {
    const walk = (node) => {
      if (node.kind === "comment") return;
      const children = node.children ?? [];
      if (children.length > 0) {
        children.forEach(walk);
      } else if (node.path !== "") {
        out.set(`${document}\u0000${node.path}`, { document, node });
      }
    };
    walk(root);
  });
  return out;
}

/**
 * How one leaf changed. Uses plaintexts when both sides carry them (unencrypted values,
 * or decrypted structures), ciphertexts otherwise.
 * @param {TreeNode} a
 * @param {TreeNode} b
 * @returns {Change}
 */
export function classify(a, b) {
  if (a.kind !== b.kind) return "changed";
  if (a.kind !== "value") return "unchanged"; // null, {} or []
  if (a.encrypted !== b.encrypted) return a.encrypted ? "now-unencrypted" : "now-encrypted";
  const plainKnown = a.text !== undefined && b.text !== undefined;
  const samePlain = plainKnown && a.text === b.text && a.type === b.type;
  if (!a.encrypted) return samePlain ? "unchanged" : "changed";
  if (a.ciphertext === b.ciphertext) return "unchanged";
  if (!plainKnown) return "ciphertext";
  return samePlain ? "re-encrypted" : "changed";
}

/**
 * The value diff of two structures: every leaf of either, in the first's order followed
 * by the second's new leaves.
 * @param {Structure} before
 * @param {Structure} after
 * @returns {EntryDiff[]}
 */
export function diffEntries(before, after) {
  const a = leaves(before);
  const b = leaves(after);
  const out = [];
  for (const [key, { document, node }] of a) {
    const other = b.get(key);
    out.push(
      other
        ? { document, path: node.path, change: classify(node, other.node), before: node, after: other.node }
        : { document, path: node.path, change: "removed", before: node },
    );
  }
  for (const [key, { document, node }] of b) {
    if (!a.has(key)) out.push({ document, path: node.path, change: "added", after: node });
  }
  return out;
}

/** A key entry's name for comparisons: kind and identity (recipient, URL, id…). */
const keyName = (entry) => `${entry.kind}\u0000${entry.identity}`;

/**
 * Key sources added, removed or re-wrapped (same key, new `enc`: the data key was rotated
 * or re-wrapped), per key group.
 * @returns {{ group: number, change: "added" | "removed" | "re-wrapped", kind: string, identity: string }[]}
 */
export function diffKeySources(beforeMeta, afterMeta) {
  const out = [];
  const groups = Math.max(beforeMeta.keyGroups.length, afterMeta.keyGroups.length);
  for (let group = 0; group < groups; group++) {
    const a = new Map((beforeMeta.keyGroups[group] ?? []).map((e) => [keyName(e), e]));
    const b = new Map((afterMeta.keyGroups[group] ?? []).map((e) => [keyName(e), e]));
    for (const [name, entry] of a) {
      const other = b.get(name);
      if (!other) out.push({ group, change: "removed", kind: entry.kind, identity: entry.identity });
      else if (other.enc !== entry.enc) out.push({ group, change: "re-wrapped", kind: entry.kind, identity: entry.identity });
    }
    for (const [name, entry] of b) {
      if (!a.has(name)) out.push({ group, change: "added", kind: entry.kind, identity: entry.identity });
    }
  }
  return out;
}

const META_FIELDS = [
  ["version", (m) => m.version],
  ["lastmodified", (m) => m.lastModified],
  ["key groups", (m) => String(m.keyGroups.length)],
  ["shamir threshold", (m) => String(m.shamirThreshold)],
  ["selector", (m) => (m.selector ? `${m.selector.type}: ${m.selector.pattern}` : "none")],
  ["mac only encrypted", (m) => String(m.macOnlyEncrypted)],
];

/** Metadata fields whose value differs. */
export function diffMetadata(beforeMeta, afterMeta) {
  return META_FIELDS.map(([field, get]) => ({ field, before: get(beforeMeta), after: get(afterMeta) })).filter(
    (d) => d.before !== d.after,
  );
}

/**
 * The whole comparison.
 * @param {Structure} before
 * @param {Structure} after
 */
export function diffStructures(before, after) {
  const entries = diffEntries(before, after);
  const counts = {};
  for (const e of entries) counts[e.change] = (counts[e.change] ?? 0) + 1;
  const compared = entries.filter((e) => e.before?.encrypted && e.after?.encrypted);
  const rewritten = compared.filter((e) => e.change !== "unchanged");
  return {
    entries,
    counts,
    keySources: diffKeySources(before.metadata, after.metadata),
    metadata: diffMetadata(before.metadata, after.metadata),
    // Every common encrypted value has a new ciphertext: a data-key rotation, or the file
    // was re-encrypted from scratch.
    allCiphertextsChanged: compared.length > 1 && rewritten.length === compared.length,
    multiDocument: before.documents.length > 1 || after.documents.length > 1,
  };
}
