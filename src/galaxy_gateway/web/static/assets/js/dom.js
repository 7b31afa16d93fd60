// Building the page from elements, never from markup (the page's policy forbids HTML strings).

const SVG_NS = "http://www.w3.org/2000/svg";

function props(el, attributes) {
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "testid") el.setAttribute("data-testid", value);
    else if (key === "class") el.setAttribute("class", value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (["value", "checked", "disabled", "selected"].includes(key)) el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

export function h(tag, attributes, ...children) {
  const el = document.createElement(tag);
  props(el, attributes);
  return append(el, children);
}

export function s(tag, attributes, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  props(el, attributes);
  return append(el, children);
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

// Local time, to the minute: players plan around their own evening.
export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function num(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value !== "number") return String(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

export function label(text) {
  return String(text || "").replaceAll("_", " ");
}

let ids = 0;
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

// A labelled control with a place for the API's complaint about it, beside it.
export function field(text, control, options) {
  const { hint, name } = options || {};
  if (!control.id) control.id = uid("f");
  const error = h("span", { class: "field-error", role: "alert", dataset: { errorFor: name || "" } });
  const hintEl = hint ? h("span", { class: "field-hint", id: uid("h") }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field", dataset: { field: name || "" } },
    h("label", { for: control.id }, text), control, hintEl, error);
}

// Puts each message next to its field; the rest into `general`. True if any was placed.
export function showFieldErrors(form, fields, general) {
  for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  const rest = [];
  let first = null;
  for (const [name, message] of Object.entries(fields)) {
    const slot = [...form.querySelectorAll(".field-error")].find((e) => e.dataset.errorFor === name);
    if (!slot) {
      rest.push(`${name}: ${message}`);
      continue;
    }
    slot.textContent = message;
    const control = slot.parentElement.querySelector("input, select, textarea");
    if (control) {
      control.setAttribute("aria-invalid", "true");
      first = first || control;
    }
  }
  if (general) general.textContent = rest.join("; ");
  if (first) first.focus();
  return Boolean(first);
}

export function table(columns, rows, options) {
  const { caption, testid, rowProps } = options || {};
  return h("div", { class: "table-wrap" },
    h("table", { testid },
      caption ? h("caption", null, caption) : null,
      h("thead", null, h("tr", null, columns.map(([title]) => h("th", { scope: "col" }, title)))),
      h("tbody", null, rows.length
        ? rows.map((row) => h("tr", rowProps ? rowProps(row) : null,
          columns.map(([, cell]) => h("td", null, cell(row)))))
        : h("tr", null, h("td", { colspan: columns.length, class: "muted" }, "None.")))));
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}
