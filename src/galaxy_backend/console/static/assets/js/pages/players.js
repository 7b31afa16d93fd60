// Finding players by email, name or id.

import { get } from "../api.js";
import { badge, h, isUuid, replace, when } from "../dom.js";
import { pagedTable } from "../ui.js";

export function blockText(block) {
  if (!block) return badge("not blocked", "good");
  return badge(block.kind === "permanent" ? "blocked" : `blocked until ${when(block.until)}`, "bad");
}

export async function renderPlayers(ctx) {
  const text = ctx.query.q || "";
  const input = h("input", {
    type: "search", name: "q", value: text, testid: "player-search",
    placeholder: "Email, name or id", "aria-label": "Find a player", autocomplete: "off",
  });
  const form = h("form", { class: "search", role: "search" }, input,
    h("button", { type: "submit", testid: "player-search-submit" }, "Find"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (isUuid(value)) ctx.navigate(`/players/${value.toLowerCase()}`);
    else ctx.navigate("/players", { q: value });
  });
  const list = pagedTable({
    columns: ["Email", "Name", "Country", "Block", "Signed up", "Last sign-in"],
    testid: "player-list",
    empty: text ? "No player matches." : "No players yet.",
    load: (cursor) => get("/users", { query: text || undefined, cursor, limit: 50 }),
    row: (user) => {
      const tr = h("tr", {
        class: "clickable", testid: "player-row", dataset: { userId: user.id }, tabindex: "0",
      },
      h("td", null, h("a", { href: `#/players/${user.id}` }, user.email)),
      h("td", null, user.display_name || "—"),
      h("td", null, user.country || "—"),
      h("td", null, blockText(user.block)),
      h("td", null, when(user.created_at)),
      h("td", null, when(user.last_sign_in_at)));
      tr.addEventListener("click", (event) => {
        if (event.target.tagName !== "A") ctx.navigate(`/players/${user.id}`);
      });
      tr.addEventListener("keydown", (event) => {
        if (event.key === "Enter") ctx.navigate(`/players/${user.id}`);
      });
      return tr;
    },
  });
  replace(ctx.main, h("h1", null, "Players"), form, list.element);
  input.focus();
  await list.ready;
}
