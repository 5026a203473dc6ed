// A tiny element builder: no innerHTML anywhere (the page runs under Trusted Types).

/**
 * Creates an element. `props` sets attributes (strings), `class`, `text`
 * (textContent), `hidden`/`disabled` (booleans) and `dataset` entries.
 * @param {string} tag
 * @param {Record<string, unknown>} [props]
 * @param {...(Node | string | null | undefined | false)} children
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") el.textContent = String(value);
    else if (name === "class") el.className = String(value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** Removes every child of `el`. */
export function clear(el) {
  el.replaceChildren();
}
