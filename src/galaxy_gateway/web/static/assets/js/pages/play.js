// Playing a game: the map from the newest report, a planet's details, the orders editor
// and the reports of every turn. A new turn (pushed) refreshes all of it in place.

import { get, getText } from "../api.js";
import { h, num, replace } from "../dom.js";
import { GalaxyMap, planetsOf } from "../map.js";
import { OrdersEditor } from "../orders.js";
import { reportTables, reportText } from "../report.js";
import { errorText } from "../ui.js";

function details(report, number) {
  const planet = planetsOf(report).find((p) => p.number === number);
  if (!planet) return h("p", { class: "muted" }, "Pick a planet on the map.");
  const here = (list) => (list || []).filter((g) => g.at === number);
  const mine = here(report.groups);
  const alien = here(report.alien_groups);
  const rows = [
    ["Status", planet.status === "yours" ? "yours" : `${planet.status}${planet.owner ? ` (${planet.owner})` : ""}`],
    ["Position", `${num(planet.x)}, ${num(planet.y)}`],
    ["Size", num(planet.size)], ["Population", num(planet.population)],
    ["Industry", num(planet.industry)], ["Resources", num(planet.resources)],
    ["Producing", planet.production ?? "—"],
    ["CAP / MAT / COL", planet.cap === undefined ? "—" : `${num(planet.cap)} / ${num(planet.mat)} / ${num(planet.col)}`],
    planet.routes && Object.keys(planet.routes).length
      ? ["Routes", Object.entries(planet.routes).map(([k, v]) => `${k} → #${v}`).join(", ")] : null,
    ["Your groups here", mine.length ? mine.map((g) => `${g.ships} ${g.type} (#${g.number})`).join(", ") : "none"],
    alien.length ? ["Others' groups", alien.map((g) => `${g.race}: ${g.ships} ${g.type}`).join(", ")] : null,
  ].filter(Boolean);
  return h("div", null, h("h3", null, `${planet.name} (#${planet.number})`),
    h("dl", { class: "facts" }, rows.flatMap(([t, v]) => [h("dt", null, t), h("dd", null, v)])));
}

export async function renderPlay(ctx) {
  const [id] = ctx.params;
  let game = null;
  let report = null;
  let selected = null;
  let format = "tables";
  const title = h("h1", null, "Game");
  const turn = h("span", { testid: "current-turn" }, "—");
  const status = h("span", { testid: "game-status" }, "");
  const message = h("p", { class: "form-message", role: "alert", testid: "play-message" });
  const panel = h("div", { class: "planet-details", testid: "planet-details", "aria-live": "polite" },
    h("p", { class: "muted" }, "Pick a planet on the map."));
  const finder = h("select", { testid: "map-find", id: "map-find" });
  const map = new GalaxyMap({ onSelect: (n) => select(n) });
  const editor = new OrdersEditor({ gameId: id, playerId: ctx.session.user.id });
  const turnSelect = h("select", { testid: "report-turn", id: "report-turn" });
  const view = h("div", { class: "report-view", testid: "report-view", "aria-live": "polite" });
  const asTables = h("button", { type: "button", class: "secondary", testid: "report-format-tables",
    "aria-pressed": "true" }, "Tables");
  const asText = h("button", { type: "button", class: "secondary", testid: "report-format-text",
    "aria-pressed": "false" }, "Text report");

  function select(number) {
    selected = number;
    finder.value = String(number);
    map.mark(number);
    replace(panel, details(report, number));
  }

  function drawMap() {
    const planets = map.draw(report);
    replace(finder, h("option", { value: "" }, "Find a planet…"),
      planets.map((p) => h("option", { value: p.number }, `${p.name} (#${p.number}, ${p.status})`)));
    if (selected !== null) select(selected);
  }

  async function showReport(number) {
    view.setAttribute("aria-busy", "true");
    try {
      if (format === "text") {
        replace(view, reportText(await getText(`/user/games/${id}/reports/${number}`, { format: "text" })));
      } else {
        const shown = number === report.turn ? report : await get(`/user/games/${id}/reports/${number}`);
        replace(view, reportTables(shown));
      }
      view.dataset.turn = String(number);
    } catch (error) {
      replace(view, h("p", { class: "form-message" }, errorText(error)));
    } finally {
      view.setAttribute("aria-busy", "false");
    }
  }

  let loading = null;
  let again = false;

  // One load at a time; a push during a load asks for one more after it.
  function load() {
    if (loading) {
      again = true;
      return loading;
    }
    loading = loadOnce().finally(() => {
      loading = null;
      if (again) {
        again = false;
        load();
      }
    });
    return loading;
  }

  async function loadOnce() {
    try {
      game = await get(`/user/games/${id}`);
      title.textContent = game.name;
      status.textContent = game.status.replaceAll("_", " ");
      status.dataset.status = game.status;
      report = await get(`/user/games/${id}/reports/${game.current_turn}`);
      turn.textContent = String(report.turn);
      message.textContent = "";
    } catch (error) {
      message.textContent = errorText(error);
      // Nothing to play here (not a player of it, no such game): no empty map and editor.
      if (report === null) board.hidden = reports.hidden = true;
      return;
    }
    board.hidden = reports.hidden = false;
    // A finished game takes no more orders: no editor to type them into. Its last report
    // says so before the game's status may (and its engine, stopped, answers no more).
    const finished = game.status === "finished" || Boolean(report.finished);
    editor.element.hidden = finished;
    over.hidden = !finished;
    drawMap();
    replace(turnSelect, Array.from({ length: report.turn + 1 }, (_, n) => report.turn - n)
      .map((n) => h("option", { value: n }, `Turn ${n}`)));
    turnSelect.value = String(report.turn);
    await Promise.all([showReport(report.turn),
      finished ? Promise.resolve() : editor.load()]);
  }

  finder.addEventListener("change", () => finder.value && select(Number(finder.value)));
  turnSelect.addEventListener("change", () => showReport(Number(turnSelect.value)));
  const setFormat = (chosen) => {
    format = chosen;
    asTables.setAttribute("aria-pressed", String(chosen === "tables"));
    asText.setAttribute("aria-pressed", String(chosen === "text"));
    showReport(Number(turnSelect.value));
  };
  asTables.addEventListener("click", () => setFormat("tables"));
  asText.addEventListener("click", () => setFormat("text"));

  const over = h("section", { class: "card", testid: "game-over", hidden: true },
    h("h2", null, "Orders"), h("p", null, "The game is over: no more orders."));
  const board = h("div", { class: "play" },
    h("section", { class: "card map-card", "aria-labelledby": "map-title" },
      h("h2", { id: "map-title" }, "Galaxy"), map.element,
      h("div", { class: "field" }, h("label", { for: "map-find" }, "Planet"), finder), panel),
    editor.element, over);
  const reports = h("section", { class: "card", "aria-labelledby": "reports-title" },
    h("div", { class: "page-head" }, h("h2", { id: "reports-title" }, "Reports"),
      h("div", { class: "actions" }, h("label", { for: "report-turn" }, "Turn "), turnSelect,
        asTables, asText)),
    view);
  ctx.main.append(
    h("div", { class: "page-head" }, title,
      h("p", { class: "muted" }, "Turn ", turn, " · ", status, " · ",
        h("a", { href: `#/games/${id}` }, "the game's page"))),
    message, board, reports);
  await load();

  return {
    refresh: load,
    cleanup: () => editor.stop(),
    onEvent: (kind, payload) => {
      const inner = payload.payload || {};
      if (kind === "notification" && payload.kind === "runtime.turn.ready" && inner.game_id === id) {
        load();
      } else if (kind === "lobby.game.updated" && payload.game_id === id
        && report && payload.current_turn !== report.turn) {
        load();
      }
    },
  };
}
