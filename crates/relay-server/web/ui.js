// Small DOM helpers: elements are made with textContent only (never innerHTML), so nothing the
// server or a sender wrote can become markup.

/** `el("li", {class: "x"}, "text", child…)`. Attributes starting with "on" are listeners. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Shows a message in the live region (errors styled as such). */
export function say(message, isError = false) {
  const status = document.getElementById("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

/** Runs an action for a button or form: disables it meanwhile and reports failures. */
export async function busy(control, action) {
  control.disabled = true;
  try {
    return await action();
  } catch (e) {
    say(e.message || String(e), true);
    return undefined;
  } finally {
    control.disabled = false;
  }
}

/** A date from Unix seconds, in the user's locale. */
export function date(secs) {
  return secs ? new Date(secs * 1000).toLocaleString() : "–";
}

/** Points a download link at `bytes`. */
export function offer(link, bytes, type) {
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([bytes], { type }));
}

export function b64(bytes) {
  let s = "";
  const b = new Uint8Array(bytes);
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

export function unb64(text) {
  return Uint8Array.from(atob(text.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

/** PEM armour, 64 columns. */
export function pem(label, der) {
  const lines = b64(der).match(/.{1,64}/g).join("\n");
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}

export function unpem(text) {
  return unb64(text.replace(/-----[^-]+-----/g, ""));
}
