// The values tree: an ARIA tree (role tree / treeitem / group) of the file's keys, values
// masked until revealed, with filtering, collapse/expand, keyboard navigation and the
// per-value actions Reveal, Copy and Edit.

import { h } from "./dom.js";

const MASK = "••••••••";

/**
 * @typedef {import("./diff.js").TreeNode} TreeNode
 * @typedef {{ document: number, path: string, type: string, text: string }} ValueEdit
 */

export class TreeView {
  /**
   * @param {HTMLElement} root the `role=tree` list
   * @param {{ onEdit: (edit: ValueEdit) => void, onCopy: (text: string) => Promise<void> }} handlers
   */
  constructor(root, handlers) {
    this.root = root;
    this.handlers = handlers;
    /** @type {{ li: HTMLElement, parent: number, search: string }[]} preorder */
    this.items = [];
    /** @type {WeakMap<HTMLElement, { node: TreeNode, document: number }>} */
    this.nodes = new WeakMap();
    this.revealAll = false;
    this.editable = false;
    root.addEventListener("click", (e) => this.#click(e));
    root.addEventListener("keydown", (e) => this.#keydown(e));
  }

  /**
   * Shows a structure. Values are masked unless revealed; with `editable`, decrypted
   * values get an Edit action.
   * @param {{ documents: TreeNode[] } | null} structure
   * @param {{ editable?: boolean, edited?: Map<string, ValueEdit> }} [options]
   */
  render(structure, { editable = false, edited = new Map() } = {}) {
    this.items = [];
    this.nodes = new WeakMap();
    this.editable = editable;
    this.edited = edited;
    const fragment = document.createDocumentFragment();
    const documents = structure?.documents ?? [];
    if (documents.length === 1) {
      for (const child of documents[0].children ?? []) fragment.append(this.#item(child, 0, 1, -1));
    } else {
      documents.forEach((doc, i) => {
        const li = this.#container(`Document ${i + 1}`, "document", doc, i, 1, -1);
        fragment.append(li);
      });
    }
    this.root.replaceChildren(fragment);
    const first = this.items[0]?.li;
    if (first) first.tabIndex = 0;
  }

  /** The number of values whose plaintext is shown masked or decrypted. */
  get size() {
    return this.items.length;
  }

  /** Reveals or masks every value. */
  setRevealAll(on) {
    this.revealAll = on;
    for (const { li } of this.items) {
      const info = this.nodes.get(li);
      if (info && isLeaf(info.node)) this.#showValue(li, on);
    }
  }

  /** Expands or collapses every map and list. */
  setExpanded(on) {
    for (const { li } of this.items) {
      if (li.hasAttribute("aria-expanded")) li.setAttribute("aria-expanded", String(on));
    }
  }

  /**
   * Shows the items whose path contains `query` (case-insensitive), their ancestors
   * (expanded) and descendants; an empty query shows everything.
   */
  filter(query) {
    const q = query.trim().toLowerCase();
    const n = this.items.length;
    if (!q) {
      for (const { li } of this.items) li.classList.remove("filtered-out");
      return n;
    }
    const hit = this.items.map((item) => item.search.includes(q));
    const selfOrAncestor = new Uint8Array(n);
    const hitBelow = new Uint8Array(n);
    this.items.forEach(({ parent }, i) => {
      selfOrAncestor[i] = hit[i] || (parent >= 0 && selfOrAncestor[parent]) ? 1 : 0;
    });
    for (let i = n - 1; i >= 0; i--) {
      const parent = this.items[i].parent;
      if (parent >= 0 && (hit[i] || hitBelow[i])) hitBelow[parent] = 1;
    }
    let shown = 0;
    this.items.forEach(({ li }, i) => {
      const visible = selfOrAncestor[i] || hitBelow[i];
      li.classList.toggle("filtered-out", !visible);
      if (hitBelow[i] && li.hasAttribute("aria-expanded")) li.setAttribute("aria-expanded", "true");
      if (visible) shown++;
    });
    return shown;
  }

  #item(node, document, level, parent) {
    if (node.kind === "map" || node.kind === "list") {
      return this.#container(label(node), node.kind, node, document, level, parent);
    }
    const li = h("li", {
      role: "treeitem",
      "aria-level": level,
      tabindex: "-1",
      class: node.kind === "comment" ? "comment" : undefined,
      dataset: { path: node.path, document: String(document), kind: node.kind },
    });
    this.items.push({ li, parent, search: searchText(node) });
    const edit = this.edited?.get(editKey(document, node.path));
    const shown = edit ? { ...node, text: edit.text } : node;
    if (edit) li.classList.add("edited");
    this.nodes.set(li, { node: shown, document });

    const row = h("div", { class: "node" }, h("span", { class: "twisty", "aria-hidden": "true" }));
    if (node.kind !== "comment" || node.path !== "") row.append(h("span", { class: "key", text: label(node) }));
    if (node.kind === "value") row.append(h("span", { class: "type", text: node.type }));
    if (node.kind === "comment") row.append(h("span", { class: "type", text: "#" }));
    row.append(h("span", { class: "value" }));
    if (node.kind === "value" && !node.encrypted) {
      row.append(h("span", { class: "plain-badge", title: "stored unencrypted", text: "not encrypted" }));
    }
    if (node.encrypted && shown.text !== undefined) {
      const name = node.path || "comment";
      const actions = h(
        "span",
        { class: "actions" },
        h("button", { type: "button", dataset: { action: "reveal" }, "aria-pressed": "false", "aria-label": `Reveal ${name}`, text: "Reveal" }),
        h("button", { type: "button", dataset: { action: "copy" }, "aria-label": `Copy ${name}`, text: "Copy" }),
      );
      if (this.editable && node.kind === "value" && node.type !== "bytes") {
        actions.append(
          h("button", { type: "button", dataset: { action: "edit" }, "aria-label": `Edit ${name}`, text: "Edit" }),
        );
      }
      row.append(actions);
    }
    li.append(row);
    this.#showValue(li, this.revealAll || Boolean(edit));
    return li;
  }

  #container(text, kind, node, document, level, parent) {
    const index = this.items.length;
    const li = h("li", {
      role: "treeitem",
      "aria-level": level,
      "aria-expanded": "true",
      tabindex: "-1",
      dataset: { path: node.path, document: String(document), kind },
    });
    this.items.push({ li, parent, search: searchText(node) });
    this.nodes.set(li, { node, document });
    const children = node.children ?? [];
    const summary = kind === "list" ? `list, ${children.length} items` : kind === "map" ? `${children.length} keys` : "";
    li.append(
      h(
        "div",
        { class: "node" },
        h("span", { class: "twisty", "aria-hidden": "true", dataset: { action: "toggle" }, text: "▾" }),
        h("span", { class: "key", text }),
        h("span", { class: "type", text: summary }),
      ),
    );
    const group = h("ul", { role: "group" });
    for (const child of children) group.append(this.#item(child, document, level + 1, index));
    li.append(group);
    return li;
  }

  /** Shows the value of a leaf item: plaintext when known and revealed (or not secret). */
  #showValue(li, revealed) {
    const { node } = this.nodes.get(li);
    const span = li.querySelector(":scope > .node > .value");
    const button = li.querySelector(':scope > .node [data-action="reveal"]');
    const known = node.text !== undefined;
    if (node.kind === "null") {
      span.textContent = "null";
      return;
    }
    const secret = node.encrypted;
    const visible = known && (!secret || revealed);
    span.textContent = visible ? node.text : MASK;
    span.classList.toggle("masked", !visible);
    span.title = visible ? "" : known ? "decrypted, hidden" : "encrypted";
    if (button) {
      button.setAttribute("aria-pressed", String(visible));
      button.textContent = visible ? "Hide" : "Reveal";
    }
  }

  #click(event) {
    const target = /** @type {HTMLElement} */ (event.target);
    const li = target.closest('[role="treeitem"]');
    if (!li) return;
    const action = target.closest("[data-action]")?.dataset.action;
    const info = this.nodes.get(li);
    if (action === "toggle") this.#toggle(li);
    else if (action === "reveal") {
      this.#showValue(li, li.querySelector('[data-action="reveal"]').getAttribute("aria-pressed") !== "true");
    } else if (action === "copy" && info?.node.text !== undefined) {
      const button = target.closest("button");
      this.handlers.onCopy(info.node.text).then(
        () => (button.textContent = "Copied"),
        () => (button.textContent = "Copy failed"),
      );
    } else if (action === "edit") this.#startEdit(li);
    else if (action === "save") this.#saveEdit(li);
    else if (action === "cancel") this.#endEdit(li);
  }

  #startEdit(li) {
    const { node } = this.nodes.get(li);
    const row = li.querySelector(":scope > .node");
    if (row.querySelector(".editor")) return;
    const input = h("input", { type: "text", class: "editor mono", "aria-label": `New value for ${node.path}`, spellcheck: "false", autocomplete: "off" });
    input.value = node.text;
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.#saveEdit(li);
      if (e.key === "Escape") this.#endEdit(li);
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

  #saveEdit(li) {
    const info = this.nodes.get(li);
    const input = li.querySelector(":scope > .node input.editor");
    const edit = { document: info.document, path: info.node.path, type: info.node.type, text: input.value };
    this.nodes.set(li, { ...info, node: { ...info.node, text: edit.text } });
    li.classList.add("edited");
    this.#endEdit(li);
    this.#showValue(li, true);
    this.handlers.onEdit(edit);
  }

  #endEdit(li) {
    const row = li.querySelector(":scope > .node");
    row.querySelector("span.editor")?.remove();
    row.querySelector(".value").hidden = false;
    row.querySelector(".actions").hidden = false;
    li.focus();
  }

  #toggle(li) {
    if (!li.hasAttribute("aria-expanded")) return;
    li.setAttribute("aria-expanded", String(li.getAttribute("aria-expanded") !== "true"));
  }

  /** Arrow keys move between visible items; Left/Right collapse and expand; Enter toggles. */
  #keydown(event) {
    const li = /** @type {HTMLElement} */ (event.target).closest('[role="treeitem"]');
    if (!li || event.target !== li) return;
    const visible = () => this.items.map((i) => i.li).filter((el) => el.offsetParent !== null);
    const move = (to) => {
      if (!to) return;
      li.tabIndex = -1;
      to.tabIndex = 0;
      to.focus();
    };
    const expanded = li.getAttribute("aria-expanded");
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
        if (expanded === "false") li.setAttribute("aria-expanded", "true");
        else if (expanded === "true") move(li.querySelector(':scope > [role="group"] > [role="treeitem"]'));
        break;
      case "ArrowLeft":
        if (expanded === "true") li.setAttribute("aria-expanded", "false");
        else move(li.parentElement.closest('[role="treeitem"]'));
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
        this.#toggle(li);
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
  return node.kind === "value" || node.kind === "comment";
}

/** What an item is called in the tree: its key, `[i]` for list items, `#` for comments. */
function label(node) {
  if (node.key !== undefined) return node.key;
  if (node.index !== undefined) return `[${node.index}]`;
  return "";
}

function searchText(node) {
  return `${node.path} ${node.key ?? ""}`.toLowerCase();
}
