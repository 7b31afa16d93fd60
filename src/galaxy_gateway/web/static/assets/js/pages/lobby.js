// The lobby: public games with filters, my games, a game by invite code.

import { get, post } from "../api.js";
import { debounce, field, h, label, replace } from "../dom.js";
import { errorText } from "../ui.js";
import { rememberInvite } from "./game.js";

// Cancelled games are never listed, so they are no choice here.
const STATUSES = ["enrollment_open", "enrollment_closed", "starting", "running", "paused",
  "finished", "start_failed"];

function card(game, testid) {
  const seats = `${game.approved_count}/${game.max_players} seats`;
  return h("li", { class: "game-card", testid, dataset: { gameId: game.id } },
    h("a", { href: `#/games/${game.id}`, class: "game-link" }, game.name),
    h("span", { class: `status status-${game.status}` }, label(game.status)),
    h("span", { class: "muted" }, `${seats} · turn ${game.current_turn} · ${game.turn_schedule}`),
    game.description ? h("p", { class: "muted small" }, game.description) : null);
}

export async function renderLobby(ctx) {
  const search = h("input", { type: "search", name: "q", maxlength: 64, testid: "lobby-search",
    placeholder: "Name contains…" });
  const status = h("select", { name: "status", testid: "lobby-status" },
    h("option", { value: "" }, "Any status"),
    STATUSES.map((s) => h("option", { value: s }, label(s))));
  const free = h("input", { type: "checkbox", name: "free_seats", testid: "lobby-free-seats" });
  const list = h("ul", { class: "cards", testid: "lobby", "aria-busy": "true" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "More games");
  const mine = h("ul", { class: "cards", testid: "my-games" });
  const listMessage = h("p", { class: "form-message", role: "alert" });
  let cursor = null;

  async function loadPublic(append) {
    list.setAttribute("aria-busy", "true");
    try {
      const page = await get("/public/games", {
        q: search.value.trim(), status: status.value, free_seats: free.checked ? "true" : "",
        cursor: append ? cursor : null, limit: 20,
      });
      cursor = page.next_cursor;
      more.hidden = !cursor;
      const cards = page.items.map((g) => card(g, "game-card"));
      if (append) list.append(...cards);
      else replace(list, cards.length ? cards : h("li", { class: "muted" }, "No games match."));
      listMessage.textContent = "";
    } catch (error) {
      listMessage.textContent = errorText(error);
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  }

  async function loadMine() {
    try {
      const page = await get("/user/games", { limit: 100 });
      replace(mine, page.items.length
        ? page.items.map((g) => card(g, "my-game"))
        : h("li", { class: "muted" }, "You are in no game yet."));
    } catch (error) {
      replace(mine, h("li", { class: "form-message" }, errorText(error)));
    }
  }

  const typed = debounce(() => loadPublic(false), 250);
  search.addEventListener("input", typed);
  status.addEventListener("change", () => loadPublic(false));
  free.addEventListener("change", () => loadPublic(false));
  more.addEventListener("click", () => loadPublic(true));

  const invite = h("input", { type: "text", name: "invite_code", maxlength: 64, required: true,
    autocomplete: "off", testid: "invite-code" });
  const inviteMessage = h("p", { class: "form-message", role: "alert" });
  const inviteForm = h("form", { class: "inline" }, field("Invite code", invite),
    h("button", { type: "submit", testid: "invite-submit" }, "Open the game"), inviteMessage);
  inviteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const game = await post("/user/invites/resolve", { invite_code: invite.value.trim() });
      rememberInvite(game.id, invite.value.trim());
      ctx.navigate(`/games/${game.id}`);
    } catch (error) {
      inviteMessage.textContent = errorText(error);
    }
  });

  ctx.main.append(
    h("div", { class: "page-head" },
      h("h1", null, "Lobby"),
      h("a", { href: "#/games/new", class: "button", testid: "create-game" }, "Create a game")),
    h("section", { class: "card", "aria-labelledby": "my-games-title" },
      h("h2", { id: "my-games-title" }, "My games"), mine),
    h("section", { class: "card", "aria-labelledby": "public-title" },
      h("h2", { id: "public-title" }, "Public games"),
      h("form", { class: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); loadPublic(false); } },
        field("Search", search), field("Status", status),
        h("div", { class: "field check" }, h("label", null, free, " With a free seat"))),
      listMessage, list, more),
    h("section", { class: "card", "aria-labelledby": "invite-title" },
      h("h2", { id: "invite-title" }, "A private game"), inviteForm));

  await Promise.all([loadPublic(false), loadMine()]);
  const refresh = () => Promise.all([loadPublic(false), loadMine()]);
  return {
    refresh,
    onEvent: (kind) => {
      if (kind === "lobby.game.updated" || kind === "notification") refresh();
    },
  };
}
