// Toasts and page messages, read out by screen readers as they appear.

import { h, replace } from "./dom.js";

let toasts = null;
let flash = null;
const TOAST_MS = 8000;
// A burst of notices (a game's start, turns forced one after another) shows its newest few;
// the inbox keeps them all. More would cover a phone's screen.
const TOASTS_SHOWN = 3;

export function mountRegions(toastRegion, flashRegion) {
  toasts = toastRegion;
  flash = flashRegion;
}

export function toast(text, options) {
  if (!toasts) return;
  const { href, kind } = options || {};
  const item = h("div", { class: `toast toast-${kind || "info"}`, role: "status", testid: "toast" },
    href ? h("a", { href }, text) : text,
    h("button", { type: "button", class: "link", "aria-label": "Dismiss",
      onclick: () => item.remove() }, "×"));
  toasts.append(item);
  while (toasts.children.length > TOASTS_SHOWN) toasts.firstElementChild.remove();
  setTimeout(() => item.remove(), TOAST_MS);
}

export function showFlash(text, kind) {
  if (!flash) return;
  replace(flash, text ? h("p", { class: `flash flash-${kind || "info"}`, role: "alert" }, text) : null);
}

export function clearFlash() {
  showFlash("");
}

export function errorText(error) {
  if (!error) return "";
  const fields = error.fields ? Object.entries(error.fields) : [];
  const named = fields.filter(([, m]) => m !== error.message).map(([f, m]) => `${f}: ${m}`);
  return named.length ? `${error.message} (${named.join("; ")})` : error.message;
}

export function busy(button, promise) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  return Promise.resolve(promise).finally(() => {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  });
}
