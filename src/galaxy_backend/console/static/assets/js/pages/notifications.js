// Sending to players or everyone, broadcasts and their progress, dead letters and requeues.

import { get, post } from "../api.js";
import { field, h, replace, when } from "../dom.js";
import {
  actionButton, confirmAction, flash, pagedTable, section,
} from "../ui.js";

function sendForm(ctx, after) {
  const players = h("input", { type: "radio", name: "audience", value: "players", checked: true,
    testid: "notification-audience-players" });
  const everyone = h("input", { type: "radio", name: "audience", value: "all",
    testid: "notification-audience-all" });
  const ids = h("textarea", { testid: "notification-user-ids", rows: 3,
    placeholder: "Player ids, one per line or separated by commas" });
  const idsField = field("Players", ids);
  const sync = () => { idsField.hidden = everyone.checked; };
  players.addEventListener("change", sync);
  everyone.addEventListener("change", sync);
  const title = h("input", { testid: "notification-title", maxlength: 200, required: true });
  const text = h("textarea", { testid: "notification-body", rows: 4, required: true });
  const push = h("input", { type: "checkbox", checked: true, testid: "notification-push" });
  const email = h("input", { type: "checkbox", checked: true, testid: "notification-email" });
  const submit = h("button", { type: "submit", class: "primary", testid: "notification-send" }, "Send…");
  const close = h("button", { type: "button" }, "Close");
  const form = h("form", { class: "inline-form", testid: "send-form" },
    h("div", { class: "checks" }, h("label", null, players, " given players"),
      h("label", null, everyone, " every active player")),
    idsField, field("Title", title), field("Message", text),
    h("div", { class: "checks" }, h("label", null, push, " push"), h("label", null, email, " email")),
    h("div", { class: "buttons" }, submit, close));
  close.addEventListener("click", () => form.remove());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const channels = [push.checked && "push", email.checked && "email"].filter(Boolean);
    const body = { title: title.value, body: text.value, channels };
    let whom;
    if (everyone.checked) {
      body.audience = "all";
      whom = "every active player";
    } else {
      body.user_ids = ids.value.split(/[\s,]+/).filter(Boolean);
      whom = `${body.user_ids.length} player(s)`;
    }
    confirmAction({
      title: "Send this notification?",
      message: `“${title.value}” to ${whom} by ${channels.join(" and ") || "no channel"}. It cannot be unsent.`,
      label: "Send",
      run: () => post("/notifications", body),
      done: (result) => {
        form.remove();
        if (result.broadcast_id) {
          flash("Broadcast queued: its progress is below.", "done");
          after(result.broadcast_id);
        } else flash(`Sent to ${result.notification_ids.length} player(s).`, "done");
      },
    });
  });
  return form;
}

function progress(ctx, broadcastId, holder, reloadList) {
  let timer = null;
  let stopped = false;
  ctx.onCleanup(() => { stopped = true; clearTimeout(timer); });
  async function poll() {
    try {
      const b = await get(`/notifications/broadcasts/${broadcastId}`);
      if (stopped) return;
      replace(holder, h("p", { testid: "broadcast-progress" },
        `“${b.title}”: ${b.recipients} player(s) so far; `,
        b.finished_at ? `finished ${when(b.finished_at)}.` : "still being written out…"));
      if (b.finished_at) {
        reloadList();
        return;
      }
    } catch (error) {
      if (stopped) return;
      replace(holder, h("p", { class: "error" }, error.text || String(error)));
      return;
    }
    timer = setTimeout(poll, 1000);
  }
  poll();
}

export async function renderNotifications(ctx) {
  const kind = ctx.query.kind || "";
  const channel = ctx.query.channel || "";
  const forms = h("div", { class: "forms" });
  const progressBox = h("div");
  const broadcasts = pagedTable({
    columns: ["Created", "Title", "By", "Channels", "Recipients", "Finished"],
    testid: "broadcast-list",
    empty: "No broadcast yet.",
    load: (cursor) => get("/notifications/broadcasts", { cursor, limit: 10 }),
    row: (b) => h("tr", null, h("td", null, when(b.created_at)), h("td", null, b.title),
      h("td", null, b.created_by), h("td", null, b.channels.join(", ")),
      h("td", { class: "num" }, b.recipients), h("td", null, b.finished_at ? when(b.finished_at) : "writing out…")),
  });
  const send = actionButton(ctx, {
    label: "Send a notification…", testid: "send-notification",
    onclick: () => replace(forms, sendForm(ctx, (id) => progress(ctx, id, progressBox, broadcasts.reload))),
  });

  const kindInput = h("input", { testid: "dead-letter-kind", value: kind, placeholder: "any kind",
    "aria-label": "Kind" });
  const channelSelect = h("select", { testid: "dead-letter-channel", "aria-label": "Channel" },
    h("option", { value: "" }, "any channel"),
    ["push", "email"].map((c) => h("option", { value: c, selected: c === channel }, c)));
  const filter = h("form", { class: "search" }, kindInput, channelSelect,
    h("button", { type: "submit", testid: "dead-letter-filter" }, "Filter"));
  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate("/notifications", { kind: kindInput.value.trim(), channel: channelSelect.value });
  });
  const dead = pagedTable({
    columns: ["Failed", "Kind", "Channel", "Player", "Attempts", "Last error", ""],
    testid: "dead-letter-list",
    empty: "No dead letter.",
    load: (cursor) => get("/notifications/dead-letters", {
      kind: kind || undefined, channel: channel || undefined, cursor,
    }),
    row: (d) => h("tr", { testid: "dead-letter-row", dataset: { deadLetterId: d.id } },
      h("td", null, when(d.created_at)), h("td", null, d.kind), h("td", null, d.channel),
      h("td", null, h("a", { href: `#/players/${d.user_id}` }, d.user_id)),
      h("td", { class: "num" }, d.attempts), h("td", { class: "clip", title: d.last_error || "" }, d.last_error || "—"),
      h("td", null, actionButton(ctx, {
        label: "Requeue", testid: "requeue-dead-letter",
        onclick: () => confirmAction({
          title: `Requeue this ${d.kind}?`,
          message: `It is delivered again by ${d.channel} to ${d.user_id} with a fresh budget.`,
          label: "Requeue",
          run: () => post(`/notifications/dead-letters/${d.id}/requeue`),
          done: () => { flash("Requeued with a fresh budget.", "done"); return dead.reload(); },
        }),
      }))),
  });
  const requeueKind = kind ? actionButton(ctx, {
    label: `Requeue every ${kind}`, testid: "requeue-kind",
    onclick: () => confirmAction({
      title: `Requeue every dead ${kind}?`,
      message: "Each is delivered again with a fresh budget.",
      label: "Requeue them",
      run: () => post("/notifications/dead-letters/requeue", { kind }),
      done: (result) => { flash(`${result.requeued} requeued.`, "done"); dead.reload(); },
    }),
  }) : null;
  replace(ctx.main, h("h1", null, "Notifications"),
    h("div", { class: "actions" }, send), forms, progressBox,
    section("Broadcasts", broadcasts.element),
    section("Dead letters", filter, h("div", { class: "actions" }, requeueKind), dead.element));
  await Promise.all([broadcasts.ready, dead.ready]);
}

