// The status region (role=status): what is known about the open file's integrity.

/**
 * @param {HTMLElement} el the `role=status` element
 * @param {"none" | "ok" | "bad" | "warn"} kind
 * @param {string} title one line, shown large for `bad`
 * @param {string} [detail]
 */
export function setStatus(el, kind, title, detail) {
  el.className = `status status-${kind}`;
  el.dataset.state = kind;
  el.textContent = title;
  if (detail) {
    const more = document.createElement("span");
    more.className = "detail";
    more.textContent = detail;
    el.append(more);
  }
}
