// Every operator action, by operator, action and time.

import { get } from "../api.js";
import { field, h, replace, when } from "../dom.js";
import { pagedTable } from "../ui.js";

function target(entry) {
  if (!entry.target_type) return "—";
  const paths = { user: "players", game: "games" };
  const page = paths[entry.target_type];
  const text = `${entry.target_type} ${entry.target_id || ""}`;
  return page && entry.target_id ? h("a", { href: `#/${page}/${entry.target_id}` }, text) : text;
}

// datetime-local gives the operator's local time; the API takes an instant.
function instant(value) {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function local(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const shifted = new Date(d.getTime() - d.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 16);
}

export async function renderAudit(ctx) {
  const q = ctx.query;
  const operator = h("input", { testid: "audit-operator", value: q.operator || "", placeholder: "any" });
  const action = h("input", { testid: "audit-action", value: q.action || "",
    placeholder: "e.g. user.block or user." });
  const since = h("input", { type: "datetime-local", testid: "audit-since", value: local(q.since) });
  const until = h("input", { type: "datetime-local", testid: "audit-until", value: local(q.until) });
  const form = h("form", { class: "filters" }, field("Operator", operator), field("Action", action),
    field("From", since), field("Before", until),
    h("button", { type: "submit", testid: "audit-filter" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate("/audit", {
      operator: operator.value.trim(), action: action.value.trim(),
      since: instant(since.value), until: instant(until.value),
    });
  });
  const list = pagedTable({
    columns: ["When", "Operator", "Action", "Target", "Details", "From"],
    testid: "audit-list",
    empty: "No action matches.",
    load: (cursor) => get("/audit", {
      operator: q.operator, action: q.action, since: q.since, until: q.until, cursor,
    }),
    row: (e) => h("tr", { testid: "audit-row", dataset: { action: e.action } },
      h("td", null, when(e.created_at)), h("td", null, e.admin_username),
      h("td", null, h("code", null, e.action)), h("td", null, target(e)),
      h("td", { class: "clip" }, Object.keys(e.details || {}).length ? JSON.stringify(e.details) : "—"),
      h("td", null, e.client_ip || "—")),
  });
  replace(ctx.main, h("h1", null, "Audit trail"), form, list.element);
  await list.ready;
}
