// Building the page from elements, never from markup (the page's policy forbids HTML strings).

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "testid") el.setAttribute("data-testid", value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "value" || key === "checked" || key === "disabled" || key === "selected") {
      el[key] = value;
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
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

// Times in UTC, to the second: operators compare them with logs.
export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

export function ago(iso) {
  if (!iso) return "—";
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  const future = seconds < 0;
  const s = Math.abs(seconds);
  let text;
  if (s < 60) text = `${s}s`;
  else if (s < 3600) text = `${Math.floor(s / 60)}m`;
  else if (s < 86400) text = `${Math.floor(s / 3600)}h`;
  else text = `${Math.floor(s / 86400)}d`;
  return future ? `in ${text}` : `${text} ago`;
}

export function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 120) return `${value.toFixed(1)} s`;
  if (value < 7200) return `${Math.round(value / 60)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

// A count that the API caps: the cap itself reads "10000+".
export function count(value, cap) {
  if (value === null || value === undefined) return "—";
  return cap && value >= cap ? `${cap}+` : String(value);
}

export function badge(text, kind) {
  return h("span", { class: `badge badge-${kind || "plain"}` }, text);
}

export function statusBadge(status) {
  const good = ["running", "sent", "delivered", "reserved", "approved", "ready", "enrollment_open"];
  const bad = ["failed", "start_failed", "dead", "cancelled", "removed", "rejected", "permanent"];
  const warn = ["paused", "retrying", "pending", "starting", "stopping", "temporary",
    "pending_registration", "sending", "delivering", "queued"];
  let kind = "plain";
  if (good.includes(status)) kind = "good";
  else if (bad.includes(status)) kind = "bad";
  else if (warn.includes(status)) kind = "warn";
  return badge(status || "—", kind);
}

export function isUuid(text) {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text.trim());
}

export function link(href, text, props) {
  return h("a", { href, ...(props || {}) }, text);
}

export function field(label, control, hint) {
  return h("label", { class: "field" }, h("span", { class: "field-label" }, label), control,
    hint ? h("span", { class: "field-hint" }, hint) : null);
}

export function definitions(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(Boolean).flatMap(([term, value]) => [
    h("dt", null, term), h("dd", null, value ?? "—"),
  ]));
}
