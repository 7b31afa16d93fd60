// Finding games by name or id, filtered by status.

import { get } from "../api.js";
import { h, isUuid, replace, statusBadge, when } from "../dom.js";
import { pagedTable } from "../ui.js";

export const GAME_STATUSES = ["enrollment_open", "enrollment_closed", "starting", "running",
  "paused", "start_failed", "finished", "cancelled"];

export async function renderGames(ctx) {
  const text = ctx.query.q || "";
  const status = ctx.query.status || "";
  const input = h("input", {
    type: "search", value: text, testid: "game-search", placeholder: "Name or id",
    "aria-label": "Find a game", autocomplete: "off",
  });
  const select = h("select", { testid: "game-status-filter", "aria-label": "Status" },
    h("option", { value: "" }, "any status"),
    GAME_STATUSES.map((s) => h("option", { value: s, selected: s === status }, s)));
  const form = h("form", { class: "search", role: "search" }, input, select,
    h("button", { type: "submit", testid: "game-search-submit" }, "Find"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (isUuid(value)) ctx.navigate(`/games/${value.toLowerCase()}`);
    else ctx.navigate("/games", { q: value, status: select.value });
  });
  select.addEventListener("change", () => form.requestSubmit());
  const list = pagedTable({
    columns: ["Name", "Status", "Players", "Turn", "Engine", "Created"],
    testid: "game-list",
    empty: "No game matches.",
    load: (cursor) => get("/games", { query: text || undefined, status: status || undefined, cursor }),
    row: (game) => {
      const tr = h("tr", { class: "clickable", testid: "game-row", dataset: { gameId: game.id }, tabindex: "0" },
        h("td", null, h("a", { href: `#/games/${game.id}` }, game.name)),
        h("td", null, statusBadge(game.status)),
        h("td", { class: "num" }, `${game.approved_count}/${game.max_players}`),
        h("td", { class: "num" }, game.current_turn),
        h("td", null, game.runtime.status ? statusBadge(game.runtime.status) : "—"),
        h("td", null, when(game.created_at)));
      tr.addEventListener("click", (event) => {
        if (event.target.tagName !== "A") ctx.navigate(`/games/${game.id}`);
      });
      tr.addEventListener("keydown", (event) => {
        if (event.key === "Enter") ctx.navigate(`/games/${game.id}`);
      });
      return tr;
    },
  });
  replace(ctx.main, h("h1", null, "Games"), form, list.element);
  input.focus();
  await list.ready;
}
