// One game: players, applications, schedule, engine, turns; the operator's controls.

import { ApiError, get, post } from "../api.js";
import { badge, definitions, field, h, replace, statusBadge, when } from "../dom.js";
import {
  actionButton, confirmAction, failure, flash, loading, pagedTable, runAction, section, table,
} from "../ui.js";

const REFRESH_MS = 3000;

function summary(game) {
  return definitions([
    ["Status", h("span", { testid: "game-status" }, statusBadge(game.status))],
    ["Turn", h("span", { testid: "game-turn" }, String(game.current_turn))],
    ["Owner", h("a", { href: `#/players/${game.owner_id}` }, "the owner")],
    ["Visibility", game.visibility],
    ["Players", `${game.approved_count} of ${game.min_players}–${game.max_players}`],
    ["Engine version", game.engine_version],
    ["Created", when(game.created_at)],
    ["Started", when(game.started_at)],
    game.finished_at ? ["Finished", when(game.finished_at)] : null,
    ["Runtime", h("span", null, game.runtime.status ? statusBadge(game.runtime.status) : "—",
      game.runtime.message ? ` ${game.runtime.message}` : "")],
    game.runtime.detail ? ["Runtime detail", h("code", null, game.runtime.detail)] : null,
  ]);
}

// The preview counts from now: once the game has started, its next turn is the engine
// card's "Next scheduled turn" (an @every schedule counts from the start, not from now).
function schedule(game) {
  return definitions([
    ["Schedule", h("code", null, game.turn_schedule)],
    ["Time zone", game.turn_time_zone],
    ["Enrollment until", when(game.enrollment_deadline)],
    ["Turn when all orders are in", game.run_when_all_orders_in ? "yes" : "no"],
    game.started_at ? null : ["Next turns", game.schedule_preview.length
      ? h("ul", { class: "plain" }, game.schedule_preview.map((t) => h("li", null, when(t))))
      : "—"],
  ]);
}

function engineView(engine) {
  if (!engine) return h("p", { class: "muted" }, "No engine yet: the game has not started.");
  const r = engine.record;
  const st = engine.standing;
  return h("div", null, definitions([
    ["State", h("span", { testid: "engine-status" }, statusBadge(r.status))],
    ["Driver", r.driver],
    ["Address", r.address || "—"],
    ["Image", h("code", null, r.image)],
    ["Turn", String(r.current_turn)],
    ["Next scheduled turn", when(r.next_tick_at)],
    ["Turn requested", r.turn_requested || "—"],
    ["Skip next tick", r.skip_next_tick ? "yes" : "no"],
    ["Failed health checks", String(r.health_failures)],
    ["Restarts", String(r.restarts)],
    ["Last error", r.last_error ? h("code", null, r.last_error) : "—"],
    r.waiting_since ? ["Waiting for a slot since", when(r.waiting_since)] : null,
    ["Engine answered", st.engine_answered ? badge("yes", "good") : badge("no", "warn")],
  ]), st.players.length ? table(["Race", "Alive", "Orders in"], st.players.map((p) => h("tr", null,
    h("td", null, h("a", { href: `#/players/${p.player_id}` }, p.race_name || p.player_id)),
    h("td", null, p.alive === null ? "—" : (p.alive ? "yes" : "no")),
    h("td", null, p.orders_submitted === null ? "—" : (p.orders_submitted ? "yes" : "no")))),
  "engine-players") : null);
}

function cancelForm(game, reload) {
  const reason = h("textarea", { testid: "cancel-reason", rows: 2, maxlength: 500, required: true });
  const submit = h("button", { type: "submit", class: "danger", testid: "cancel-submit" }, "Cancel the game…");
  const close = h("button", { type: "button" }, "Close");
  const form = h("form", { class: "inline-form" }, field("Reason (players are told)", reason),
    h("div", { class: "buttons" }, submit, close));
  close.addEventListener("click", () => form.remove());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    confirmAction({
      title: "Cancel this game?",
      message: `“${game.name}” ends for every player and its engine is stopped. This cannot be undone.`,
      label: "Cancel the game",
      run: () => post(`/games/${game.id}/cancel`, { reason: reason.value }),
      done: () => { flash("Game cancelled.", "done"); reload(); },
    });
  });
  return form;
}

async function loadEngine(gameId) {
  try {
    return await get(`/games/${gameId}/engine`);
  } catch (error) {
    if (error instanceof ApiError && error.code === "runtime_not_found") return null;
    throw error;
  }
}

export async function renderGame(ctx) {
  const [gameId] = ctx.params;
  replace(ctx.main, loading());
  let game;
  let engine;
  try {
    [game, engine] = await Promise.all([get(`/games/${gameId}`), loadEngine(gameId)]);
  } catch (error) {
    replace(ctx.main, h("h1", null, "Game"), failure(error));
    return;
  }
  const reload = () => renderGame(ctx);
  const forms = h("div", { class: "forms" });
  const controls = (verb, path, message) => confirmAction({
    title: `${verb}?`, message, label: verb,
    run: () => post(`/games/${gameId}/${path}`),
    done: () => { flash(`${verb}: done.`, "done"); refresh(); },
  });
  const actions = h("div", { class: "actions" },
    actionButton(ctx, {
      label: "Force a turn", testid: "force-turn",
      onclick: () => controls("Force a turn", "force-next-turn",
        "The next turn runs now for every player; the next scheduled turn is skipped."),
    }),
    actionButton(ctx, {
      label: "Pause", testid: "pause-game",
      onclick: (event) => runAction(event.currentTarget, () => post(`/games/${gameId}/pause`),
        refresh, "Paused: no turn runs until it is resumed."),
    }),
    actionButton(ctx, {
      label: "Resume", testid: "resume-game",
      onclick: (event) => runAction(event.currentTarget, () => post(`/games/${gameId}/resume`),
        refresh, "Resumed."),
    }),
    actionButton(ctx, {
      label: "Stop the engine", testid: "stop-engine", danger: true,
      onclick: () => controls("Stop the engine", "stop",
        "The engine stops; players cannot send orders until it is restarted."),
    }),
    actionButton(ctx, {
      label: "Restart the engine", testid: "restart-engine",
      onclick: () => controls("Restart the engine", "restart",
        "The engine is stopped and started again from its saved state."),
    }),
    actionButton(ctx, {
      label: "Cancel the game…", testid: "cancel-game", danger: true,
      onclick: () => replace(forms, cancelForm(game, reload)),
    }));
  const summaryBox = h("div", null, summary(game));
  const engineBox = h("div", null, engineView(engine));
  const players = game.players && game.players.length
    ? table(["Race name", "Player", "Approved"], game.players.map((p) => h("tr", null,
      h("td", null, p.race_name), h("td", null, h("a", { href: `#/players/${p.user_id}` }, p.user_id)),
      h("td", null, when(p.approved_at)))), "game-players")
    : h("p", { class: "muted" }, "No player yet.");
  const applications = pagedTable({
    columns: ["Race name", "Player", "Status", "Applied", "Decided"],
    testid: "game-applications",
    empty: "No application.",
    load: (cursor) => get(`/games/${gameId}/applications`, { cursor }),
    row: (a) => h("tr", null, h("td", null, a.race_name),
      h("td", null, h("a", { href: `#/players/${a.user_id}` }, a.user_id)),
      h("td", null, statusBadge(a.status)), h("td", null, when(a.created_at)),
      h("td", null, when(a.decided_at))),
  });
  const turns = pagedTable({
    columns: ["Turn", "Trigger", "Scheduled", "Started", "Finished"],
    testid: "game-turns",
    empty: "No turn has run yet.",
    load: (cursor) => (engine ? get(`/games/${gameId}/turns`, { cursor }) : { items: [], next_cursor: null }),
    row: (t) => h("tr", { testid: "turn-row" }, h("td", { class: "num" }, t.turn), h("td", null, t.trigger),
      h("td", null, when(t.scheduled_at)), h("td", null, when(t.started_at)),
      h("td", null, when(t.finished_at))),
  });

  let timer = null;
  let stopped = false;
  ctx.onCleanup(() => { stopped = true; clearTimeout(timer); });
  async function refresh() {
    clearTimeout(timer);
    try {
      const [fresh, freshEngine] = await Promise.all([get(`/games/${gameId}`), loadEngine(gameId)]);
      if (stopped) return;
      const moved = fresh.current_turn !== game.current_turn || Boolean(freshEngine) !== Boolean(engine);
      game = fresh;
      engine = freshEngine;
      replace(summaryBox, summary(game));
      replace(engineBox, engineView(engine));
      if (moved) turns.reload();
    } catch (error) {
      if (stopped) return;
      if (!(error instanceof ApiError) || error.status !== 401) flash(error.text || String(error), "error");
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }
  timer = setTimeout(refresh, REFRESH_MS);

  replace(ctx.main,
    h("p", { class: "crumbs" }, h("a", { href: "#/games" }, "Games"), " / ", game.name),
    h("h1", { testid: "game-name" }, game.name),
    actions, forms,
    h("div", { class: "grid" },
      section("Game", summaryBox),
      section("Schedule", schedule(game)),
      section("Engine", engineBox)),
    section("Players", players),
    section("Applications", applications.element),
    section("Turns", turns.element));
}
