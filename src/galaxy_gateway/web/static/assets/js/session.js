// The player's session lives in this tab only (sessionStorage): gone when the tab closes,
// never in a URL, a cookie or storage shared with other sites.

const KEY = "galaxy.session";

export function getSession() {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}
