// One player: profile, entitlements, block, sessions, games, race names, notifications.

import { get, post, put } from "../api.js";
import { definitions, field, h, replace, statusBadge, when } from "../dom.js";
import {
  actionButton, confirmAction, failure, flash, loading, pagedTable, runAction, section,
} from "../ui.js";
import { blockText } from "./players.js";

function profile(user) {
  return definitions([
    ["Email", h("span", { testid: "player-email" }, user.email)],
    ["Name", user.display_name || "—"],
    ["Id", h("code", null, user.id)],
    ["Country", h("span", { testid: "player-country" }, user.country || "unknown")],
    ["Language", user.language],
    ["Time zone", user.time_zone],
    ["Signed up", when(user.created_at)],
    ["Last sign-in", when(user.last_sign_in_at)],
    user.deleted_at ? ["Deleted", when(user.deleted_at)] : null,
    ["Block", h("span", { testid: "player-block-status" }, blockText(user.block),
      user.block ? ` ${user.block.reason}` : "")],
  ]);
}

function blockForm(ctx, user, reload) {
  const reason = h("textarea", { testid: "block-reason", rows: 3, maxlength: 500, required: true });
  const kind = h("select", { testid: "block-kind" },
    h("option", { value: "permanent", selected: true }, "Permanent (every session ends now)"),
    h("option", { value: "temporary" }, "Temporary"));
  const until = h("input", { type: "datetime-local", testid: "block-until" });
  const untilField = field("Until (your local time)", until);
  untilField.hidden = true;
  kind.addEventListener("change", () => { untilField.hidden = kind.value !== "temporary"; });
  const submit = h("button", { type: "submit", class: "danger", testid: "block-confirm" }, "Block");
  const cancel = h("button", { type: "button" }, "Cancel");
  const form = h("form", { class: "inline-form", testid: "block-form" },
    field("Reason", reason), field("Kind", kind), untilField, h("div", { class: "buttons" }, submit, cancel));
  cancel.addEventListener("click", () => form.remove());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { kind: kind.value, reason: reason.value };
    if (kind.value === "temporary") {
      body.until = until.value ? new Date(until.value).toISOString() : null;
    }
    runAction(submit, () => post(`/users/${user.id}/block`, body), reload, "Player blocked.");
  });
  return form;
}

function notifyForm(user) {
  const title = h("input", { testid: "notification-title", maxlength: 200, required: true });
  const text = h("textarea", { testid: "notification-body", rows: 4, required: true });
  const push = h("input", { type: "checkbox", checked: true, testid: "notification-push" });
  const email = h("input", { type: "checkbox", checked: true, testid: "notification-email" });
  const submit = h("button", { type: "submit", class: "primary", testid: "notification-send" }, "Send");
  const cancel = h("button", { type: "button" }, "Cancel");
  const form = h("form", { class: "inline-form", testid: "notify-form" },
    field("Title", title), field("Message", text),
    h("div", { class: "checks" }, h("label", null, push, " push"), h("label", null, email, " email")),
    h("div", { class: "buttons" }, submit, cancel));
  cancel.addEventListener("click", () => form.remove());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const channels = [push.checked && "push", email.checked && "email"].filter(Boolean);
    const body = { user_ids: [user.id], title: title.value, body: text.value, channels };
    confirmAction({
      title: "Send this notification?",
      message: `“${title.value}” to ${user.email} by ${channels.join(" and ") || "no channel"}. It cannot be unsent.`,
      label: "Send",
      run: () => post("/notifications", body),
      done: () => {
        form.remove();
        flash("Notification sent.", "done");
      },
    });
  });
  return form;
}

function entitlementsForm(user, reload) {
  const e = user.entitlements;
  const tier = h("input", { testid: "entitlement-tier", value: e.tier, maxlength: 32 });
  const owned = h("input", { type: "number", min: 0, max: 1000, testid: "entitlement-max-owned",
    value: String(e.max_owned_games) });
  const active = h("input", { type: "number", min: 0, max: 1000, testid: "entitlement-max-active",
    value: String(e.max_active_games) });
  const submit = h("button", { type: "submit", class: "primary", testid: "entitlements-save" }, "Save");
  const cancel = h("button", { type: "button" }, "Cancel");
  const form = h("form", { class: "inline-form" },
    field("Tier", tier, "empty: the default"), field("Games owned at once", owned, "empty: the default"),
    field("Games played at once", active, "empty: the default"), h("div", { class: "buttons" }, submit, cancel));
  cancel.addEventListener("click", () => form.remove());
  const value = (input) => (input.value.trim() === "" ? null : Number(input.value));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { tier: tier.value.trim() || null, max_owned_games: value(owned),
      max_active_games: value(active) };
    runAction(submit, () => put(`/users/${user.id}/entitlements`, body), reload,
      "Entitlements saved.");
  });
  return form;
}

function sessionsSection(ctx, user) {
  const list = pagedTable({
    columns: ["Device", "Address", "Signed in", "Last seen", "Expires", ""],
    testid: "session-list",
    empty: "No live session.",
    load: (cursor) => get(`/users/${user.id}/sessions`, { cursor, limit: 10 }),
    row: (s) => h("tr", { testid: "session-row", dataset: { sessionId: s.id } },
      h("td", null, s.device_name || s.user_agent || "—"), h("td", null, s.client_ip || "—"),
      h("td", null, when(s.created_at)), h("td", null, when(s.last_seen_at)),
      h("td", null, when(s.expires_at)),
      h("td", null, actionButton(ctx, {
        label: "End", testid: "revoke-session", danger: true,
        onclick: () => confirmAction({
          title: "End this session?",
          message: "The device is signed out at once.",
          label: "End it",
          run: () => post(`/users/${user.id}/sessions/${s.id}/revoke`),
          done: () => { flash("Session ended.", "done"); list.reload(); },
        }),
      }))),
  });
  // Every page of sessions, not only those shown: the API counts what it ended.
  const revokeAll = actionButton(ctx, {
    label: "End every session", testid: "revoke-all-sessions", danger: true,
    onclick: () => confirmAction({
      title: "End every session?",
      message: `${user.email} is signed out of every device at once.`,
      label: "End them",
      run: () => post(`/users/${user.id}/sessions/revoke`),
      done: (result) => { flash(`${result.revoked} session(s) ended.`, "done"); list.reload(); },
    }),
  });
  return section("Sessions", list.element, h("div", { class: "actions" }, revokeAll));
}

export async function renderPlayer(ctx) {
  const [userId] = ctx.params;
  replace(ctx.main, loading());
  let user;
  try {
    user = await get(`/users/${userId}`);
  } catch (error) {
    replace(ctx.main, h("h1", null, "Player"), failure(error));
    return;
  }
  const reload = () => renderPlayer(ctx);
  const forms = h("div", { class: "forms" });
  const show = (form) => replace(forms, form);
  const actions = h("div", { class: "actions" },
    user.block
      ? actionButton(ctx, {
        label: "Unblock", testid: "unblock-player",
        onclick: (event) => runAction(event.currentTarget,
          () => post(`/users/${user.id}/unblock`), reload, "Player unblocked."),
      })
      : actionButton(ctx, {
        label: "Block…", testid: "block-player", danger: true,
        onclick: () => show(blockForm(ctx, user, reload)),
      }),
    actionButton(ctx, { label: "Notify…", testid: "notify-player", onclick: () => show(notifyForm(user)) }),
    actionButton(ctx, {
      label: "Edit entitlements…", testid: "edit-entitlements",
      onclick: () => show(entitlementsForm(user, reload)),
    }));
  const e = user.entitlements;
  const games = pagedTable({
    columns: ["Game", "Status", "Role", "Race name", "Turn"],
    testid: "player-games",
    empty: "No games.",
    load: (cursor) => get(`/users/${user.id}/games`, { cursor }),
    row: (g) => h("tr", null, h("td", null, h("a", { href: `#/games/${g.id}` }, g.name)),
      h("td", null, statusBadge(g.status)), h("td", null, g.role || "—"),
      h("td", null, g.race_name || "—"), h("td", { class: "num" }, g.current_turn)),
  });
  const names = pagedTable({
    columns: ["Name", "Status", "Game", "Since"],
    testid: "player-race-names",
    empty: "No race name held.",
    load: (cursor) => get(`/users/${user.id}/race-names`, { cursor, limit: 10 }),
    row: (r) => h("tr", { testid: "player-race-name-row" }, h("td", null, r.name),
      h("td", null, statusBadge(r.status)),
      h("td", null, h("a", { href: `#/games/${r.game_id}` }, "game")),
      h("td", null, when(r.reserved_at || r.created_at))),
  });
  const inbox = pagedTable({
    columns: ["Sent", "Kind", "Title", "Read", "Delivery"],
    testid: "player-notifications",
    empty: "Nothing in the inbox.",
    load: (cursor) => get(`/users/${user.id}/notifications`, { cursor, limit: 20 }),
    row: (n) => h("tr", { testid: "player-notification-row" }, h("td", null, when(n.created_at)),
      h("td", null, n.kind), h("td", { title: n.body }, n.title), h("td", null, when(n.read_at)),
      h("td", null, n.routes.map((r) => h("span", { class: "route", title: r.last_error || "" },
        `${r.channel} `, statusBadge(r.status))))),
  });
  replace(ctx.main,
    h("p", { class: "crumbs" }, h("a", { href: "#/players" }, "Players"), " / ", user.email),
    h("h1", null, user.display_name || user.email),
    actions, forms,
    h("div", { class: "grid" },
      section("Profile", profile(user)),
      section("Entitlements", definitions([
        ["Tier", h("span", { testid: "entitlement-tier-value" }, e.tier)],
        ["Games owned at once", e.max_owned_games],
        ["Games played at once", e.max_active_games],
      ])),
      sessionsSection(ctx, user)),
    section("Games", games.element),
    section("Race names", names.element),
    section("Notifications", inbox.element));
}
