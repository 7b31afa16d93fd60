// The player's session lives in the tabs that hold it (sessionStorage): gone when the last
// one closes, never in a URL, a cookie or storage shared with other sites. A tab opened
// later asks the open ones for it over a BroadcastChannel (same origin only), so a second
// tab does not ask the player to sign in again.

const KEY = "galaxy.session";
const CHANNEL = "galaxy.session";
// Open tabs of this browser answer within a few milliseconds; a lone tab waits no longer.
const ASK_WAIT_MS = 150;

const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL) : null;
let adopt = null;

export function getSession() {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

export function saveSession(session, { announce = false } = {}) {
  sessionStorage.setItem(KEY, JSON.stringify(session));
  // A sign-in here also signs in the tabs still showing the sign-in page.
  if (announce && channel) channel.postMessage({ type: "share", session });
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

function isSession(value) {
  return Boolean(value && typeof value.token === "string" && value.user);
}

// While set, `onShared` runs when another tab signs in and this one holds no session.
export function whenShared(onShared) {
  adopt = onShared;
}

if (channel) {
  channel.addEventListener("message", (event) => {
    const message = event.data || {};
    const held = getSession();
    if (message.type === "ask" && held) channel.postMessage({ type: "share", session: held });
    else if (message.type === "share" && adopt && !held && isSession(message.session)) {
      saveSession(message.session);
      if (adopt) adopt();
    }
  });
}

// The session of another open tab, or null when none answers in time.
export function askOtherTabs() {
  if (!channel) return Promise.resolve(null);
  return new Promise((resolve) => {
    const done = (session) => {
      channel.removeEventListener("message", onMessage);
      clearTimeout(timer);
      resolve(session);
    };
    const onMessage = (event) => {
      const message = event.data || {};
      if (message.type === "share" && isSession(message.session)) done(message.session);
    };
    const timer = setTimeout(() => done(null), ASK_WAIT_MS);
    channel.addEventListener("message", onMessage);
    channel.postMessage({ type: "ask" });
  });
}
