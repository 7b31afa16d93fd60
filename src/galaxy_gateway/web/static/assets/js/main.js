// The client's shell: sign-in, the header, the page the fragment names, and the live
// socket that keeps every page current.

import { get, post, whenSignedOut } from "./api.js";
import { clear, h, replace } from "./dom.js";
import { Live } from "./live.js";
import { renderAccount } from "./pages/account.js";
import { renderCreate } from "./pages/create.js";
import { renderGame } from "./pages/game.js";
import { renderInbox } from "./pages/inbox.js";
import { renderLobby } from "./pages/lobby.js";
import { renderPlay } from "./pages/play.js";
import { renderSignIn } from "./pages/signin.js";
import { askOtherTabs, clearSession, getSession, saveSession, whenShared } from "./session.js";
import { clearFlash, mountRegions, toast } from "./ui.js";

const UUID = "([0-9a-fA-F-]{36})";
const ROUTES = [
  [/^\/$/, renderLobby, "lobby"],
  [/^\/games\/new$/, renderCreate, "lobby"],
  [new RegExp(`^/games/${UUID}$`), renderGame, "lobby"],
  [new RegExp(`^/games/${UUID}/play$`), renderPlay, "lobby"],
  [/^\/inbox$/, renderInbox, "inbox"],
  [/^\/account$/, renderAccount, "account"],
];

const root = document.getElementById("app");
let layout = null;
let live = null;
let page = null;
let signedOutNote = "";
let unread = 0;
let generation = 0;
let askedOtherTabs = false;

export function navigate(path) {
  const target = `#${path}`;
  if (window.location.hash === target) route();
  else window.location.hash = target;
}

function currentPath() {
  return window.location.hash.replace(/^#/, "") || "/";
}

function stopPage() {
  if (page && page.cleanup) page.cleanup();
  page = null;
}

function signOut(note) {
  stopPage();
  if (live) live.stop();
  live = null;
  layout = null;
  clearSession();
  signedOutNote = note || "";
  unread = 0;
  if (currentPath() !== "/") navigate("/");
  else route();
}

export function setUnread(count) {
  unread = Math.max(0, count);
  if (!layout) return;
  layout.badge.textContent = String(unread);
  layout.badge.hidden = unread === 0;
  layout.inboxLink.setAttribute("aria-label", `Inbox, ${unread} unread`);
}

async function loadUnread() {
  try {
    const inbox = await get("/user/notifications", { limit: 1 });
    setUnread(inbox.unread_count);
  } catch {
    // The inbox page says what failed; the badge keeps its count.
  }
}

function onEvent(kind, payload) {
  if (kind === "notification") {
    setUnread(unread + 1);
    const gameId = payload.payload && payload.payload.game_id;
    toast(payload.title || "Something happened", {
      href: gameId ? `#/games/${gameId}${payload.kind === "runtime.turn.ready" ? "/play" : ""}` : "#/inbox",
      kind: payload.kind === "runtime.turn.ready" ? "good" : "info",
    });
  }
  if (page && page.onEvent) page.onEvent(kind, payload);
}

function onReload() {
  loadUnread();
  if (page && page.refresh) page.refresh();
}

function startLive(session) {
  live = new Live({
    token: session.token,
    onEvent,
    onReload,
    onSignedOut: () => signOut("Your session has ended: sign in again."),
    onState: (state) => {
      if (layout) {
        layout.liveState.textContent = state === "live" ? "live" : state;
        layout.liveState.dataset.state = state;
      }
    },
  });
  live.start();
}

function shell(session) {
  const signout = h("button", { type: "button", class: "link", testid: "signout" }, "Sign out");
  signout.addEventListener("click", async () => {
    signout.disabled = true;
    try {
      await post("/user/auth/logout");
    } catch {
      // The session may be gone already; this tab forgets it either way.
    }
    signOut("Signed out.");
  });
  const badge = h("span", { class: "badge", testid: "inbox-unread", hidden: true }, "0");
  const inboxLink = h("a", { href: "#/inbox", dataset: { key: "inbox" } }, "Inbox ", badge);
  const nav = h("nav", { class: "nav", "aria-label": "Main" },
    h("a", { href: "#/", dataset: { key: "lobby" } }, "Lobby"),
    inboxLink,
    h("a", { href: "#/account", dataset: { key: "account" } }, "Account"));
  const liveState = h("span", { class: "live-state", title: "Live updates", "aria-live": "polite" }, "…");
  const who = h("span", { class: "who", testid: "who" }, session.user.display_name || session.user.email);
  const main = h("main", { class: "main", id: "main", tabindex: "-1" });
  const flash = h("div", { class: "flash-region", "aria-live": "polite" });
  const toasts = h("div", { class: "toasts", "aria-live": "polite" });
  mountRegions(toasts, flash);
  replace(root,
    h("header", { class: "top" },
      h("a", { class: "brand", href: "#/" }, "Galaxy"),
      nav,
      who,
      liveState,
      signout),
    h("div", { class: "content" }, flash, main),
    toasts);
  return { main, nav, badge, inboxLink, liveState, who };
}

async function route(event) {
  stopPage();
  generation += 1;
  const mine = generation;
  let session = getSession();
  if (!session && !askedOtherTabs) {
    // Opened beside a signed-in tab: take its session rather than ask for a new code.
    askedOtherTabs = true;
    session = await askOtherTabs();
    if (mine !== generation) return;
    if (session) saveSession(session);
  }
  if (!session) {
    layout = null;
    whenShared(() => {
      signedOutNote = "";
      route();
    });
    renderSignIn(root, {
      note: signedOutNote,
      signedIn: () => {
        signedOutNote = "";
        route();
      },
    });
    return;
  }
  whenShared(null);
  if (!layout || !root.contains(layout.main)) {
    layout = shell(session);
    setUnread(unread);
    loadUnread();
    if (!live) startLive(session);
  }
  const path = currentPath();
  const found = ROUTES.map(([pattern, render, key]) => [path.match(pattern), render, key])
    .find(([match]) => match);
  if (!found) {
    navigate("/");
    return;
  }
  const [match, render, key] = found;
  for (const a of layout.nav.querySelectorAll("a")) {
    if (a.dataset.key === key) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  clearFlash();
  clear(layout.main);
  const setUserName = (name) => {
    if (layout) layout.who.textContent = name;
  };
  const ctx = { main: layout.main, params: match.slice(1), session, navigate, setUnread, setUserName };
  const rendered = (await render(ctx)) || {};
  if (mine !== generation) {
    // Another page was asked for meanwhile: this one never shows.
    if (rendered.cleanup) rendered.cleanup();
    return;
  }
  page = rendered;
  // Each page's own title, for the tab, the history's back and forward lists and bookmarks.
  const heading = layout.main.querySelector("h1");
  document.title = heading && heading.textContent ? `${heading.textContent} · Galaxy` : "Galaxy";
  if (event) layout.main.focus({ preventScroll: true });
}

whenSignedOut(() => signOut("Your session has ended: sign in again."));
window.addEventListener("hashchange", route);
route();
