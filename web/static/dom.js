// Small DOM helpers shared by the room page and the admin dashboard.
// Text always goes in through textContent, never innerHTML, because names
// and error strings come from other users and from the server.

/** Returns the element with the given id; a missing one is a page bug. */
export function byId(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing #${id}`);
  return e;
}

/** Creates an element with attributes (class, dataset.x, on*) and children. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/**
 * Shows a message in #notice. kind is "info" or "error"; link, when given,
 * is {href, text} appended after the message (e.g. "Rejoin").
 */
export function showNotice(text, kind = 'info', link = null) {
  const n = byId('notice');
  n.replaceChildren(el('span', { text }));
  if (link) n.append(' ', el('a', { href: link.href, text: link.text }));
  n.className = `notice ${kind}`;
  n.hidden = false;
}

export function clearNotice() {
  const n = byId('notice');
  n.hidden = true;
  n.replaceChildren();
}

export function setStatus(text) {
  byId('status').textContent = text;
}
