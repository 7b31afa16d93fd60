// The inbox (live: new notifications appear as they come) and the notification
// preferences, per kind and channel.

import { del, get, patch, post } from "../api.js";
import { h, replace, when } from "../dom.js";
import { errorText, showFlash } from "../ui.js";

function link(item) {
  const gameId = item.payload && item.payload.game_id;
  if (!gameId) return null;
  const play = item.kind === "runtime.turn.ready";
  return h("a", { href: `#/games/${gameId}${play ? "/play" : ""}` }, play ? "Open the game" : "The game");
}

// Each channel as its column names it, for the boxes' names too.
const CHANNELS = { push: "in the browser", email: "by mail" };

export async function renderInbox(ctx) {
  const list = h("ul", { class: "inbox", testid: "inbox", "aria-live": "polite" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Older");
  const readAll = h("button", { type: "button", class: "secondary", testid: "inbox-read-all" },
    "Mark all read");
  const prefs = h("div", { testid: "notification-preferences" });
  let cursor = null;

  function item(n) {
    const read = h("button", { type: "button", class: "link", hidden: Boolean(n.read_at) },
      "Mark read");
    const remove = h("button", { type: "button", class: "link" }, "Delete");
    const el = h("li", { class: `inbox-item${n.read_at ? "" : " unread"}`, testid: "inbox-item",
      dataset: { kind: n.kind, id: n.id, read: String(Boolean(n.read_at)) } },
    h("div", { class: "inbox-head" }, h("strong", null, n.title),
      h("span", { class: "muted small" }, when(n.created_at))),
    n.body ? h("p", null, n.body) : null,
    h("div", { class: "actions" }, link(n), read, remove));
    read.addEventListener("click", async () => {
      try {
        await post(`/user/notifications/${n.id}/read`);
        el.classList.remove("unread");
        el.dataset.read = "true";
        read.hidden = true;
        await unread();
      } catch (error) {
        showFlash(errorText(error), "bad");
      }
    });
    remove.addEventListener("click", async () => {
      try {
        await del(`/user/notifications/${n.id}`);
        el.remove();
        await unread();
      } catch (error) {
        showFlash(errorText(error), "bad");
      }
    });
    return el;
  }

  async function unread() {
    const page = await get("/user/notifications", { limit: 1 });
    ctx.setUnread(page.unread_count);
  }

  async function load(append) {
    try {
      const page = await get("/user/notifications", { limit: 30, cursor: append ? cursor : null });
      cursor = page.next_cursor;
      more.hidden = !cursor;
      ctx.setUnread(page.unread_count);
      const items = page.items.map(item);
      if (append) list.append(...items);
      else replace(list, items.length ? items : h("li", { class: "muted" }, "Nothing yet."));
    } catch (error) {
      replace(list, h("li", { class: "form-message" }, errorText(error)));
    }
  }

  async function loadPreferences() {
    try {
      const found = await get("/user/me/notification-preferences");
      const box = (kind, channel, on) => {
        const input = h("input", { type: "checkbox", checked: on,
          "aria-label": `${kind.description}: ${CHANNELS[channel]}`,
          dataset: { kind: kind.kind, channel } });
        input.addEventListener("change", async () => {
          try {
            await patch("/user/me/notification-preferences",
              { preferences: { [kind.kind]: { [channel]: input.checked } } });
          } catch (error) {
            input.checked = !input.checked;
            showFlash(errorText(error), "bad");
          }
        });
        return input;
      };
      replace(prefs, h("div", { class: "table-wrap" }, h("table", { class: "prefs" },
        h("thead", null, h("tr", null, h("th", { scope: "col" }, "What"),
          h("th", { scope: "col" }, "In the browser"), h("th", { scope: "col" }, "By mail"))),
        h("tbody", null, found.items.map((k) => h("tr", null, h("td", null, k.description),
          h("td", null, box(k, "push", k.push)), h("td", null, box(k, "email", k.email))))))));
    } catch (error) {
      replace(prefs, h("p", { class: "form-message" }, errorText(error)));
    }
  }

  more.addEventListener("click", () => load(true));
  readAll.addEventListener("click", async () => {
    try {
      await post("/user/notifications/read-all");
      await load(false);
    } catch (error) {
      showFlash(errorText(error), "bad");
    }
  });

  ctx.main.append(
    h("div", { class: "page-head" }, h("h1", null, "Inbox"), readAll),
    h("section", { class: "card" }, list, more),
    h("section", { class: "card", "aria-labelledby": "prefs-title" },
      h("h2", { id: "prefs-title" }, "Notifications"), prefs));
  await Promise.all([load(false), loadPreferences()]);
  return {
    refresh: () => load(false),
    onEvent: (kind, payload) => {
      if (kind !== "notification") return;
      const first = list.querySelector(".muted");
      if (first) first.remove();
      list.prepend(item({ ...payload, read_at: null }));
    },
  };
}
