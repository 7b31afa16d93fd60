// A game's page: status, players, schedule, current turn; applying with a race name; the
// owner's applications, start and forced turn; the way to the map, orders and reports.

import { get, post } from "../api.js";
import { debounce, field, h, label, num, replace, table, when } from "../dom.js";
import { busy, clearFlash, errorText, showFlash } from "../ui.js";

// Invite codes stay in memory: never in a URL, where logs and history would keep them.
const invites = new Map();

export function rememberInvite(gameId, code) {
  invites.set(gameId, code);
}

const PLAYING = ["running", "paused", "finished"];
// Before the start: seats may still change, and the owner may call the game off.
const OPEN = ["enrollment_open", "enrollment_closed"];
// The Race Name Directory's rule (README "Race Name Directory"), told before a refusal.
export const RACE_NAME_RULE = "2 to 24 letters, digits, spaces, - or _.";

// The game as the player sees it (an applicant is told so); a private game they have no
// part in yet, by the invite code they typed.
async function loadGame(id) {
  const code = invites.get(id);
  try {
    return await get(`/user/games/${id}`);
  } catch (error) {
    if (!code || error.status !== 404) throw error;
  }
  return post("/user/invites/resolve", { invite_code: code });
}

function applyForm(ctx, game, reload) {
  const name = h("input", { type: "text", name: "race_name", maxlength: 64, required: true,
    autocomplete: "off", testid: "apply-race-name", "aria-describedby": "race-name-rule" });
  const availability = h("span", { class: "field-hint", testid: "race-name-availability",
    "aria-live": "polite" });
  const submit = h("button", { type: "submit", testid: "apply-submit" }, "Apply");
  const message = h("p", { class: "form-message", role: "alert", testid: "apply-message" });
  let asked = 0;
  const check = debounce(async () => {
    const text = name.value.trim();
    asked += 1;
    const mine = asked;
    if (!text) {
      availability.textContent = "";
      return;
    }
    try {
      const found = await get(`/public/race-names/${encodeURIComponent(text)}`);
      if (mine !== asked) return;
      availability.textContent = found.available ? `“${found.name}” is free.` : `“${found.name}” is taken.`;
      availability.dataset.available = String(found.available);
    } catch (error) {
      if (mine !== asked) return;
      availability.textContent = errorText(error);
      availability.dataset.available = "false";
    }
  }, 300);
  name.addEventListener("input", check);
  const form = h("form", { class: "inline" },
    h("div", { class: "field" }, h("label", { for: "race-name" }, "Your race name"),
      Object.assign(name, { id: "race-name" }),
      h("span", { class: "field-hint", id: "race-name-rule" }, RACE_NAME_RULE), availability),
    submit, message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(submit, (async () => {
      try {
        const body = { race_name: name.value.trim() };
        if (invites.has(game.id)) body.invite_code = invites.get(game.id);
        await post(`/user/games/${game.id}/applications`, body);
        const now = await reload();
        if (now && now.viewer_role === "applicant") showFlash("Applied: the owner decides.", "good");
      } catch (error) {
        message.textContent = errorText(error);
      }
    })());
  });
  return h("section", { class: "card", "aria-labelledby": "apply-title" },
    h("h2", { id: "apply-title" }, "Join this game"), form);
}

function applicationsSection(game, applications, reload) {
  const act = (verdict, application) => async (event) => {
    await busy(event.currentTarget, (async () => {
      try {
        await post(`/user/games/${game.id}/applications/${application.id}/${verdict}`);
        await reload();
      } catch (error) {
        showFlash(errorText(error), "bad");
      }
    })());
  };
  const rows = applications.filter((a) => a.status === "pending");
  return h("section", { class: "card", "aria-labelledby": "applications-title" },
    h("h2", { id: "applications-title" }, "Applications"),
    table([
      ["Race name", (a) => a.race_name],
      ["Applied", (a) => when(a.created_at)],
      ["Decision", (a) => h("span", { class: "actions" },
        h("button", { type: "button", testid: "approve", onclick: act("approve", a),
          "aria-label": `Approve ${a.race_name}` }, "Approve"),
        h("button", { type: "button", class: "secondary", testid: "reject",
          onclick: act("reject", a), "aria-label": `Reject ${a.race_name}` }, "Reject"))],
    ], rows, { rowProps: (a) => ({ testid: "application-row", dataset: { applicationId: a.id } }) }));
}

// What cannot be taken back asks for a second press of the same button (no dialog: the
// focus stays where it was); leaving the button disarms it.
function twice(button, again, run) {
  const first = button.textContent;
  let armed = false;
  const disarm = () => {
    armed = false;
    button.textContent = first;
    button.classList.remove("danger");
  };
  button.addEventListener("click", () => {
    if (!armed) {
      armed = true;
      button.textContent = again;
      button.classList.add("danger");
      return undefined;
    }
    disarm();
    return busy(button, run());
  });
  button.addEventListener("blur", disarm);
  return button;
}

// A request about the game, then the page again; `done` said once the page shows it.
async function ask(game, path, reload, done) {
  try {
    await post(`/user/games/${game.id}/${path}`);
    await reload();
    showFlash(done, "good");
  } catch (error) {
    showFlash(errorText(error), "bad");
  }
}

// A player or applicant who changed their mind, before the game starts.
function changeOfMind(game, reload) {
  if (game.viewer_role === "applicant") {
    const withdraw = h("button", { type: "button", class: "secondary",
      testid: "withdraw-application" }, "Withdraw my application");
    withdraw.addEventListener("click", () => busy(withdraw, (async () => {
      try {
        const mine = (await get(`/user/games/${game.id}/applications`)).items
          .find((a) => a.status === "pending");
        if (mine) {
          await ask(game, `applications/${mine.id}/withdraw`, reload, "Application withdrawn.");
        } else await reload();
      } catch (error) {
        showFlash(errorText(error), "bad");
      }
    })()));
    return h("div", { class: "card actions", testid: "application-pending" },
      h("span", null, "Your application waits for the owner."), withdraw);
  }
  if (game.viewer_role === "player" && OPEN.includes(game.status)) {
    const leave = h("button", { type: "button", class: "secondary", testid: "leave-game" },
      "Leave this game");
    return h("div", { class: "card actions" },
      h("span", null, "You have a seat in this game."),
      twice(leave, "Press again to leave it", () => ask(game, "leave", reload, "You left the game.")));
  }
  return null;
}

function ownerControls(game, reload) {
  const buttons = [];
  // `done` is said only while it is still true (`still`): the game may have moved on
  // already, told by push while the request was answered.
  const action = (text, testid, path, done, still) => {
    const button = h("button", { type: "button", testid }, text);
    button.addEventListener("click", async () => {
      await busy(button, (async () => {
        try {
          await post(`/user/games/${game.id}/${path}`);
          const now = await reload();
          if (now && still(now)) showFlash(done, "good");
        } catch (error) {
          showFlash(errorText(error), "bad");
        }
      })());
    });
    buttons.push(button);
  };
  if (OPEN.includes(game.status)) {
    action("Start the game", "start-game", "start", "Starting: the engine is on its way.",
      (now) => now.status === "starting");
  }
  if (game.status === "running") {
    action("Run the next turn now", "force-turn", "force-next-turn", "The next turn runs now.",
      (now) => now.current_turn === game.current_turn);
    action("Pause the turns", "pause-game", "pause", "Paused: no turn runs until you resume.",
      (now) => now.status === "paused");
  }
  if (game.status === "paused") {
    action("Resume the turns", "resume-game", "resume", "Resumed: turns run on schedule again.",
      (now) => now.status === "running");
  }
  if (OPEN.includes(game.status)) {
    const cancel = h("button", { type: "button", class: "secondary", testid: "cancel-game" },
      "Cancel the game");
    buttons.push(twice(cancel, "Press again to cancel it for good",
      () => ask(game, "cancel", reload, "The game is cancelled.")));
  }
  if (!buttons.length) return null;
  return h("div", { class: "actions" }, buttons);
}

// Once the game runs, its next turn is the scheduler's (an `@every` schedule counts from the
// game's start, not from now, and a forced turn moves it): the schedule's preview only
// before that.
function turnTimes(game, standing) {
  if (PLAYING.includes(game.status)) {
    return standing && standing.next_turn_at ? [["Next turn", when(standing.next_turn_at)]] : [];
  }
  if (!["enrollment_open", "enrollment_closed", "starting"].includes(game.status)) return [];
  return [["Next turns", game.schedule_preview.length
    ? h("ul", { class: "plain" }, game.schedule_preview.map((t) => h("li", null, when(t))))
    : "—"]];
}

// The status names the winner by player id; the page by race name.
function winnerOf(standing) {
  if (!standing.winner) return "nobody";
  const found = (standing.players || []).find((p) => p.player_id === standing.winner);
  return found ? found.race_name : "—";
}

function facts(game, standing) {
  const pairs = [
    ["Status", h("span", { testid: "game-status", class: `status status-${game.status}` },
      label(game.status))],
    ["Turn", h("span", { testid: "current-turn" }, String(game.current_turn))],
    ["Seats", `${game.approved_count} of ${game.max_players} (at least ${game.min_players})`],
    ["Schedule", `${game.turn_schedule} (${game.turn_time_zone})`],
    ...turnTimes(game, standing),
    game.status === "finished" && standing
      ? ["Winner", h("span", { testid: "game-winner" }, winnerOf(standing))] : null,
    game.status === "enrollment_open" ? ["Enrolment closes", when(game.enrollment_deadline)] : null,
    game.runtime && game.runtime.message ? ["Engine", game.runtime.message] : null,
    game.invite_code ? ["Invite code", h("code", { testid: "invite-code-value" }, game.invite_code)] : null,
    ["Your part", game.viewer_role || "—"],
  ].filter(Boolean);
  return h("dl", { class: "facts" }, pairs.flatMap(([t, v]) => [h("dt", null, t), h("dd", null, v)]));
}

function playersSection(game, standing) {
  const sent = new Map(((standing && standing.players) || []).map((p) => [p.player_id, p]));
  return h("section", { class: "card", "aria-labelledby": "players-title" },
    h("h2", { id: "players-title" }, "Players"),
    table([
      ["Race", (p) => p.race_name],
      ["Joined", (p) => when(p.approved_at)],
      ["Orders for the next turn", (p) => {
        const s = sent.get(p.user_id);
        if (!s || s.orders_submitted === null || s.orders_submitted === undefined) return "—";
        return s.orders_submitted ? "sent" : "not yet";
      }],
    ], game.players || []),
    standing && standing.ranking && standing.ranking.length ? table([
      ["#", (r) => r.rank], ["Race", (r) => r.race_name], ["Production", (r) => num(r.production)],
      ["", (r) => (r.alive === false ? "eliminated" : "")],
    ], standing.ranking, { caption: "Standing" }) : null);
}

export async function renderGame(ctx) {
  const [id] = ctx.params;
  const body = h("div", { class: "game-page" });
  // The owner's decision on this player's application, told by push while the page is open.
  let verdict = null;
  let lastShown = null;
  ctx.main.append(body);

  async function reload() {
    let game;
    try {
      game = await loadGame(id);
    } catch (error) {
      replace(body, h("h1", null, "Game"), h("p", { class: "form-message", role: "alert" },
        errorText(error)));
      return;
    }
    // A message about the game as it was ("Starting…", "The next turn runs now.", "Applied")
    // goes once its status, turn or the player's part in it has moved on.
    const shown = `${game.status}/${game.current_turn}/${game.viewer_role}`;
    if (lastShown !== null && shown !== lastShown) clearFlash();
    lastShown = shown;
    const member = game.viewer_role === "owner" && (game.players || []).some(
      (p) => p.user_id === ctx.session.user.id) || game.viewer_role === "player";
    const playing = member && PLAYING.includes(game.status);
    const [applications, standing] = await Promise.all([
      game.viewer_role === "owner" && game.status === "enrollment_open"
        ? get(`/user/games/${id}/applications`).then((r) => r.items).catch(() => [])
        : Promise.resolve([]),
      playing ? get(`/user/games/${id}/status`).catch(() => null) : Promise.resolve(null),
    ]);
    replace(body,
      h("div", { class: "page-head" },
        h("h1", null, game.name),
        playing ? h("a", { href: `#/games/${id}/play`, class: "button", testid: "game-play" },
          "Open the map, orders and reports") : null),
      game.description ? h("p", { class: "muted" }, game.description) : null,
      h("section", { class: "card" }, facts(game, standing),
        game.viewer_role === "owner" ? ownerControls(game, reload) : null),
      verdict && !game.viewer_role
        ? h("p", { class: "card flash-bad", role: "status", testid: "application-rejected" }, verdict)
        : null,
      !game.viewer_role && game.status === "enrollment_open" ? applyForm(ctx, game, reload) : null,
      changeOfMind(game, reload),
      game.viewer_role === "owner" && game.status === "enrollment_open"
        ? applicationsSection(game, applications, reload) : null,
      game.players ? playersSection(game, standing) : null);
    return game;
  }

  await reload();
  return {
    refresh: reload,
    onEvent: (kind, payload) => {
      const gameId = payload.game_id || (payload.payload && payload.payload.game_id);
      if (gameId !== id) return;
      if (kind === "notification" && payload.kind === "lobby.application.rejected") {
        verdict = payload.body || payload.title || "Your application was not accepted.";
      }
      reload();
    },
  };
}
