// Mail deliveries by status; one delivery with its attempts, and a retry of a failed one.

import { get, post } from "../api.js";
import { definitions, h, replace, statusBadge, when } from "../dom.js";
import {
  actionButton, confirmAction, failure, flash, loading, pagedTable, section, table,
} from "../ui.js";

const STATUSES = ["pending", "sending", "retrying", "sent", "failed"];

export async function renderMail(ctx) {
  const status = ctx.query.status || "";
  const select = h("select", { testid: "mail-status-filter", "aria-label": "Status" },
    h("option", { value: "" }, "every status"),
    STATUSES.map((s) => h("option", { value: s, selected: s === status }, s)));
  select.addEventListener("change", () => ctx.navigate("/mail", { status: select.value }));
  const list = pagedTable({
    columns: ["Created", "Kind", "To", "Subject", "Status", "Attempts", "Last error"],
    testid: "mail-list",
    empty: "No mail.",
    load: (cursor) => get("/mail/deliveries", { status: status || undefined, cursor }),
    row: (d) => h("tr", { testid: "mail-row", dataset: { deliveryId: d.id } },
      h("td", null, h("a", { href: `#/mail/${d.id}` }, when(d.created_at))),
      h("td", null, d.kind), h("td", null, d.to), h("td", null, d.subject),
      h("td", null, statusBadge(d.status)), h("td", { class: "num" }, d.attempts),
      h("td", { class: "clip", title: d.last_error || "" }, d.last_error || "—")),
  });
  replace(ctx.main, h("h1", null, "Mail"), h("div", { class: "search" }, select), list.element);
  await list.ready;
}

export async function renderDelivery(ctx) {
  const [deliveryId] = ctx.params;
  replace(ctx.main, loading());
  let d;
  try {
    d = await get(`/mail/deliveries/${deliveryId}`);
  } catch (error) {
    replace(ctx.main, h("h1", null, "Mail"), failure(error));
    return;
  }
  const retry = d.status === "failed" ? actionButton(ctx, {
    label: "Send again", testid: "retry-mail",
    onclick: () => confirmAction({
      title: "Send this mail again?",
      message: `To ${d.to}, with a fresh attempt budget. It cannot be unsent.`,
      label: "Send again",
      run: () => post(`/mail/deliveries/${d.id}/retry`),
      done: async () => {
        await renderDelivery(ctx);
        flash("Queued again with a fresh attempt budget.", "done");
      },
    }),
  }) : null;
  replace(ctx.main,
    h("p", { class: "crumbs" }, h("a", { href: "#/mail" }, "Mail"), " / ", d.subject),
    h("h1", null, d.subject),
    h("div", { class: "actions" }, retry),
    section("Delivery", definitions([
      ["Status", h("span", { testid: "mail-status" }, statusBadge(d.status))],
      ["Kind", d.kind], ["To", d.to], ["Created", when(d.created_at)],
      ["Attempts", String(d.attempts)], ["Next attempt", when(d.next_attempt_at)],
      ["Sent", when(d.sent_at)],
      ["Last error", d.last_error ? h("code", { testid: "mail-last-error" }, d.last_error) : "—"],
    ])),
    section("Attempts", d.attempts_made.length
      ? table(["#", "Started", "Finished", "Outcome", "SMTP code", "Error"],
        d.attempts_made.map((a) => h("tr", null, h("td", { class: "num" }, a.attempt),
          h("td", null, when(a.started_at)), h("td", null, when(a.finished_at)),
          h("td", null, statusBadge(a.outcome === "sent" ? "sent" : "failed"), ` ${a.outcome}`),
          h("td", null, a.smtp_code ?? "—"), h("td", { class: "clip", title: a.error || "" }, a.error || "—"))),
        "mail-attempts")
      : h("p", { class: "muted" }, "No attempt yet.")));
}
