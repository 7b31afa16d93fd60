// The console's shell: sign-in, the navigation, and the page the fragment names.

import { get, post, whenSignedOut } from "./api.js";
import { clear, h, replace } from "./dom.js";
import { renderAudit } from "./pages/audit.js";
import { renderGame } from "./pages/game.js";
import { renderGames } from "./pages/games.js";
import { renderDelivery, renderMail } from "./pages/mail.js";
import { renderNotifications } from "./pages/notifications.js";
import { renderOperators } from "./pages/operators.js";
import { renderPlayer } from "./pages/player.js";
import { renderPlayers } from "./pages/players.js";
import { renderRaceNames } from "./pages/racenames.js";
import { renderSignIn } from "./pages/signin.js";
import { renderStatus } from "./pages/status.js";
import { canWrite, clearSession, getSession, saveSession } from "./session.js";
import { clearFlash, closeConfirm, mountRegions } from "./ui.js";

const UUID = "([0-9a-fA-F-]{36})";
const ROUTES = [
  [/^\/status$/, renderStatus, "status"],
  [/^\/players$/, renderPlayers, "players"],
  [new RegExp(`^/players/${UUID}$`), renderPlayer, "players"],
  [/^\/games$/, renderGames, "games"],
  [new RegExp(`^/games/${UUID}$`), renderGame, "games"],
  [/^\/mail$/, renderMail, "mail"],
  [new RegExp(`^/mail/${UUID}$`), renderDelivery, "mail"],
  [/^\/notifications$/, renderNotifications, "notifications"],
  [/^\/race-names$/, renderRaceNames, "race-names"],
  [/^\/audit$/, renderAudit, "audit"],
  [/^\/operators$/, renderOperators, "operators"],
];
const NAV = [
  ["status", "Status"],
  ["players", "Players"],
  ["games", "Games"],
  ["mail", "Mail"],
  ["notifications", "Notifications"],
  ["race-names", "Race names"],
  ["audit", "Audit trail"],
  ["operators", "Operators"],
];

const root = document.getElementById("app");
let cleanups = [];
let signedOutNote = "";

function stopPage() {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
  closeConfirm();
}

export function navigate(path, query) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  const target = `#${path}${text ? `?${text}` : ""}`;
  if (window.location.hash === target) route();
  else window.location.hash = target;
}

function parseHash() {
  const raw = window.location.hash.replace(/^#/, "") || "/status";
  const [path, search] = raw.split("?", 2);
  return { path, query: Object.fromEntries(new URLSearchParams(search || "")) };
}

function signOut(note) {
  stopPage();
  clearSession();
  signedOutNote = note || "";
  route();
}

function shell(session) {
  const nav = h("nav", { class: "nav", "aria-label": "Console" },
    NAV.map(([key, label]) => h("a", { href: `#/${key}`, testid: `nav-${key}`, dataset: { key } },
      label)));
  const logout = h("button", { type: "button", class: "link", testid: "console-logout" },
    "Sign out");
  logout.addEventListener("click", async () => {
    logout.disabled = true;
    try {
      await post("/auth/logout");
    } catch {
      // The session may be gone already; this tab forgets it either way.
    }
    signOut("Signed out.");
  });
  const main = h("main", { class: "main", id: "main", tabindex: "-1" });
  const flashRegion = h("div", { class: "flash-region", "aria-live": "polite" });
  const confirmRegion = h("div", { class: "confirm-region", hidden: true });
  mountRegions(flashRegion, confirmRegion);
  replace(root,
    h("header", { class: "top" },
      h("a", { class: "brand", href: "#/status" }, "Galaxy console"),
      h("span", { class: "who", testid: "console-operator" },
        `${session.username} · ${session.role}`),
      logout),
    h("div", { class: "body" }, nav, h("div", { class: "content" }, flashRegion, main)),
    confirmRegion);
  return { nav, main };
}

let layout = null;

async function route() {
  stopPage();
  let session = getSession();
  if (!session) {
    layout = null;
    renderSignIn(root, { note: signedOutNote, signedIn: () => { signedOutNote = ""; route(); } });
    return;
  }
  if (!layout || !root.contains(layout.main)) {
    // The role may have changed since this tab signed in: asked once per shell.
    try {
      const me = await get("/me");
      session = { ...session, role: me.role, username: me.username, id: me.id };
      saveSession(session);
    } catch {
      // A 401 has signed this tab out already; anything else, the pages will show.
      if (!getSession()) return;
    }
    layout = shell(session);
  }
  const { path, query } = parseHash();
  const found = ROUTES.map(([pattern, render, key]) => [path.match(pattern), render, key])
    .find(([match]) => match);
  if (!found) {
    navigate("/status");
    return;
  }
  const [match, render, key] = found;
  for (const a of layout.nav.querySelectorAll("a")) {
    a.classList.toggle("current", a.dataset.key === key);
    if (a.dataset.key === key) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  clearFlash();
  clear(layout.main);
  const ctx = {
    main: layout.main,
    params: match.slice(1),
    query,
    session,
    canWrite: canWrite(session),
    navigate,
    onCleanup: (fn) => cleanups.push(fn),
  };
  await render(ctx);
}

whenSignedOut(() => signOut("Your session has ended: sign in again."));
window.addEventListener("hashchange", route);
route();
