// The values tree: an ARIA tree (role tree / treeitem / group) of the file's keys, values
// masked until revealed, with filtering, collapse/expand, keyboard navigation and the
// per-value actions Reveal, Copy and Edit.
//
// Items are created lazily: the model of every node is built at once, but a collapsed
// map or list gets its items only when first expanded. A file opens expanded level by
// level as long as the rows fit in ROW_BUDGET, so small files show everything and a
// 10k-leaf file shows its top levels at once.

import { h } from "./dom.js";

const MASK = "••••••••";
/** Rows shown expanded when a file opens. */
const ROW_BUDGET = 1500;

/**
 * @typedef {import("./diff.js").TreeNode} TreeNode
 * @typedef {{ document: number, path: string, type: string, text: string }} ValueEdit
 * @typedef {{ node: TreeNode, label: string, document: number, level: number,
 *   parent: number, children: number[], li: HTMLElement | null, built: boolean,
 *   expanded: boolean, hidden: boolean, search: string, edited?: boolean }} Entry
 */

export class TreeView {
  /**
   * @param {HTMLElement} root the `role=tree` list
   * @param {{ onEdit: (edit: ValueEdit) => void, onCopy: (text: string) => Promise<void> }} handlers
   */
  constructor(root, handlers) {
    this.root = root;
    this.handlers = handlers;
    /** @type {Entry[]} every node, preorder */
    this.entries = [];
    /** @type {WeakMap<HTMLElement, Entry>} */
    this.byLi = new WeakMap();
    this.revealAll = false;
    this.editable = false;
    this.edited = new Map();
    root.addEventListener("click", (e) => this.#click(e));
    root.addEventListener("keydown", (e) => this.#keydown(e));
  }

  /**
   * Shows a structure. Values are masked unless revealed; with `editable`, decrypted
   * values get an Edit action; `edited` values show their new text.
   * @param {{ documents: TreeNode[] } | null} structure
   * @param {{ editable?: boolean, edited?: Map<string, ValueEdit> }} [options]
   */
  render(structure, { editable = false, edited = new Map() } = {}) {
    this.entries = [];
    this.byLi = new WeakMap();
    this.editable = editable;
    this.edited = edited;
    const documents = structure?.documents ?? [];
    const top = [];
    if (documents.length === 1) {
      for (const child of documents[0].children ?? []) top.push(this.#model(child, label(child), 0, 1, -1));
    } else {
      documents.forEach((doc, i) => top.push(this.#model(doc, `Document ${i + 1}`, i, 1, -1)));
    }
    this.#initialExpansion(top);
    const fragment = document.createDocumentFragment();
    for (const i of top) fragment.append(this.#li(i));
    this.root.replaceChildren(fragment);
    if (top.length) this.entries[top[0]].li.tabIndex = 0;
  }

  /** Reveals or masks every value. */
  setRevealAll(on) {
    this.revealAll = on;
    for (const entry of this.entries) {
      if (entry.li && isLeaf(entry.node)) this.#showValue(entry, on);
    }
  }

  /** Expands or collapses every map and list. */
  setExpanded(on) {
    for (const entry of this.entries) {
      if (!entry.node.children) continue;
      entry.expanded = on;
      if (entry.li) this.#applyExpanded(entry);
    }
  }

  /**
   * Shows the items whose path contains `query` (case-insensitive), with their ancestors
   * (expanded) and descendants; an empty query shows everything. Returns how many items
   * match or contain a match.
   */
  filter(query) {
    const q = query.trim().toLowerCase();
    const n = this.entries.length;
    const hit = this.entries.map((e) => q === "" || e.search.includes(q));
    const selfOrAncestor = new Uint8Array(n);
    const hitBelow = new Uint8Array(n);
    this.entries.forEach(({ parent }, i) => {
      selfOrAncestor[i] = hit[i] || (parent >= 0 && selfOrAncestor[parent]) ? 1 : 0;
    });
    for (let i = n - 1; i >= 0; i--) {
      const parent = this.entries[i].parent;
      if (parent >= 0 && (hit[i] || hitBelow[i])) hitBelow[parent] = 1;
    }
    let shown = 0;
    this.entries.forEach((entry, i) => {
      entry.hidden = !(selfOrAncestor[i] || hitBelow[i]);
      if (!entry.hidden) shown++;
      if (q !== "" && hitBelow[i] && !entry.expanded) {
        entry.expanded = true;
        if (entry.li) this.#applyExpanded(entry);
      }
      entry.li?.classList.toggle("filtered-out", entry.hidden);
    });
    return shown;
  }

  /** Adds the model of `node` and its descendants; returns its index. */
  #model(node, text, document, level, parent) {
    const index = this.entries.length;
    /** @type {Entry} */
    const entry = {
      node,
      label: text,
      document,
      level,
      parent,
      children: [],
      li: null,
      built: false,
      expanded: false,
      hidden: false,
      search: `${node.path} ${node.key ?? ""}`.toLowerCase(),
    };
    const edit = this.edited.get(editKey(document, node.path));
    if (edit && isLeaf(node)) {
      entry.node = { ...node, text: edit.text };
      entry.edited = true;
    }
    this.entries.push(entry);
    for (const child of node.children ?? []) {
      entry.children.push(this.#model(child, label(child), document, level + 1, index));
    }
    return index;
  }

  /** Expands whole levels, top down, while the rows they show fit in ROW_BUDGET. */
  #initialExpansion(top) {
    let frontier = top;
    let rows = top.length;
    for (;;) {
      const next = frontier.flatMap((i) => this.entries[i].children);
      if (next.length === 0 || rows + next.length > ROW_BUDGET) return;
      for (const i of frontier) if (this.entries[i].node.children) this.entries[i].expanded = true;
      rows += next.length;
      frontier = next;
    }
  }

  /** The element of an entry (created once). */
  #li(index) {
    const entry = this.entries[index];
    entry.li = entry.node.children ? this.#containerLi(entry) : this.#leafLi(entry);
    entry.li.classList.toggle("filtered-out", entry.hidden);
    this.byLi.set(entry.li, entry);
    return entry.li;
  }

  #leafLi(entry) {
    const { node } = entry;
    const li = h("li", {
      role: "treeitem",
      "aria-level": entry.level,
      tabindex: "-1",
      class: [node.kind === "comment" ? "comment" : "", entry.edited ? "edited" : ""].join(" ").trim() || undefined,
      dataset: { path: node.path, document: String(entry.document), kind: node.kind },
    });
    const row = h("div", { class: "node" }, h("span", { class: "twisty", "aria-hidden": "true" }));
    if (entry.label) row.append(h("span", { class: "key", text: entry.label }));
    row.append(h("span", { class: "type", text: node.kind === "comment" ? "#" : node.kind === "null" ? "" : node.type }));
    row.append(h("span", { class: "value" }));
    if (node.kind === "value" && !node.encrypted) {
      row.append(h("span", { class: "plain-badge", title: "stored unencrypted", text: "not encrypted" }));
    }
    if (node.encrypted && node.text !== undefined) {
      const name = node.path || "comment";
      const actions = h(
        "span",
        { class: "actions" },
        h("button", { type: "button", dataset: { action: "reveal" }, "aria-pressed": "false", "aria-label": `Reveal ${name}`, text: "Reveal" }),
        h("button", { type: "button", dataset: { action: "copy" }, "aria-label": `Copy ${name}`, text: "Copy" }),
      );
      if (this.editable && node.kind === "value" && node.type !== "bytes") {
        actions.append(h("button", { type: "button", dataset: { action: "edit" }, "aria-label": `Edit ${name}`, text: "Edit" }));
      }
      row.append(actions);
    }
    li.append(row);
    entry.li = li;
    this.#showValue(entry, this.revealAll || Boolean(entry.edited));
    return li;
  }

  #containerLi(entry) {
    const { node } = entry;
    const count = node.children.length;
    const summary = node.kind === "list" ? `list, ${count} items` : `${count} keys`;
    const li = h(
      "li",
      {
        role: "treeitem",
        "aria-level": entry.level,
        "aria-expanded": String(entry.expanded),
        tabindex: "-1",
        dataset: { path: node.path, document: String(entry.document), kind: node.kind },
      },
      h(
        "div",
        { class: "node" },
        h("span", { class: "twisty", "aria-hidden": "true", dataset: { action: "toggle" }, text: "▾" }),
        h("span", { class: "key", text: entry.label }),
        h("span", { class: "type", text: summary }),
      ),
      h("ul", { role: "group" }),
    );
    entry.li = li;
    if (entry.expanded) this.#build(entry);
    return li;
  }

  /** Creates the items of a container (once). */
  #build(entry) {
    if (entry.built) return;
    entry.built = true;
    const group = entry.li.querySelector(':scope > [role="group"]');
    const fragment = document.createDocumentFragment();
    for (const i of entry.children) fragment.append(this.#li(i));
    group.append(fragment);
  }

  #applyExpanded(entry) {
    if (entry.expanded) this.#build(entry);
    entry.li.setAttribute("aria-expanded", String(entry.expanded));
  }

  /** Shows a leaf's value: plaintext when known and revealed (or not secret), else a mask. */
  #showValue(entry, revealed) {
    const { node, li } = entry;
    const span = li.querySelector(":scope > .node > .value");
    if (node.kind === "null") {
      span.textContent = "null";
      return;
    }
    const known = node.text !== undefined;
    const visible = known && (!node.encrypted || revealed);
    span.textContent = visible ? node.text : MASK;
    span.classList.toggle("masked", !visible);
    span.title = visible ? "" : known ? "decrypted, hidden" : "encrypted";
    const button = li.querySelector(':scope > .node [data-action="reveal"]');
    if (button) {
      button.setAttribute("aria-pressed", String(visible));
      button.textContent = visible ? "Hide" : "Reveal";
    }
  }

  #click(event) {
    const target = /** @type {HTMLElement} */ (event.target);
    const li = target.closest('[role="treeitem"]');
    const entry = li && this.byLi.get(li);
    if (!entry) return;
    const action = target.closest("[data-action]")?.dataset.action;
    if (action === "toggle") this.#toggle(entry);
    else if (action === "reveal") {
      this.#showValue(entry, li.querySelector('[data-action="reveal"]').getAttribute("aria-pressed") !== "true");
    } else if (action === "copy" && entry.node.text !== undefined) {
      const button = target.closest("button");
      this.handlers.onCopy(entry.node.text).then(
        () => (button.textContent = "Copied"),
        () => (button.textContent = "Copy failed"),
      );
    } else if (action === "edit") this.#startEdit(entry);
    else if (action === "save") this.#saveEdit(entry);
    else if (action === "cancel") this.#endEdit(entry);
  }

  #startEdit(entry) {
    const row = entry.li.querySelector(":scope > .node");
    if (row.querySelector(".editor")) return;
    const input = h("input", {
      type: "text",
      class: "editor mono",
      "aria-label": `New value for ${entry.node.path}`,
      spellcheck: "false",
      autocomplete: "off",
    });
    input.value = entry.node.text;
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.#saveEdit(entry);
      if (e.key === "Escape") this.#endEdit(entry);
      e.stopPropagation();
    });
    row.querySelector(".value").hidden = true;
    row.querySelector(".actions").hidden = true;
    row.append(
      h(
        "span",
        { class: "editor actions" },
        input,
        h("button", { type: "button", dataset: { action: "save" }, text: "Save" }),
        h("button", { type: "button", dataset: { action: "cancel" }, text: "Cancel" }),
      ),
    );
    input.focus();
  }

  #saveEdit(entry) {
    const input = entry.li.querySelector(":scope > .node input.editor");
    const edit = { document: entry.document, path: entry.node.path, type: entry.node.type, text: input.value };
    entry.node = { ...entry.node, text: edit.text };
    entry.edited = true;
    entry.li.classList.add("edited");
    this.#endEdit(entry);
    this.#showValue(entry, true);
    this.handlers.onEdit(edit);
  }

  #endEdit(entry) {
    const row = entry.li.querySelector(":scope > .node");
    row.querySelector("span.editor")?.remove();
    row.querySelector(".value").hidden = false;
    row.querySelector(".actions").hidden = false;
    entry.li.focus();
  }

  #toggle(entry) {
    if (!entry.node.children) return;
    entry.expanded = !entry.expanded;
    this.#applyExpanded(entry);
  }

  /** Arrow keys move between visible items; Left/Right collapse and expand; Enter toggles. */
  #keydown(event) {
    const li = /** @type {HTMLElement} */ (event.target);
    const entry = this.byLi.get(li);
    if (!entry) return;
    const visible = () => this.entries.map((e) => e.li).filter((el) => el && el.offsetParent !== null);
    const move = (to) => {
      if (!to) return;
      li.tabIndex = -1;
      to.tabIndex = 0;
      to.focus();
    };
    const container = Boolean(entry.node.children);
    switch (event.key) {
      case "ArrowDown": {
        const list = visible();
        move(list[list.indexOf(li) + 1]);
        break;
      }
      case "ArrowUp": {
        const list = visible();
        move(list[list.indexOf(li) - 1]);
        break;
      }
      case "ArrowRight":
        if (container && !entry.expanded) this.#toggle(entry);
        else if (container) move(this.entries[entry.children[0]]?.li);
        break;
      case "ArrowLeft":
        if (container && entry.expanded) this.#toggle(entry);
        else move(this.entries[entry.parent]?.li);
        break;
      case "Home":
        move(visible()[0]);
        break;
      case "End": {
        const list = visible();
        move(list[list.length - 1]);
        break;
      }
      case "Enter":
      case " ":
        this.#toggle(entry);
        break;
      default:
        return;
    }
    event.preventDefault();
  }
}

/** The key used for edits: document and path. */
export function editKey(document, path) {
  return `${document}\u0000${path}`;
}

function isLeaf(node) {
  return node.kind === "value" || node.kind === "comment" || node.kind === "null";
}

/** What an item is called in the tree: its key, `[i]` for list items. */
function label(node) {
  if (node.key !== undefined) return node.key;
  if (node.index !== undefined) return `[${node.index}]`;
  return "";
}
