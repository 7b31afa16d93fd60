// The operator's session lives in this tab only (sessionStorage): it is gone when the tab
// closes, never in a URL, a cookie or storage shared across tabs.

const KEY = "galaxy.console.session";

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

export function canWrite(session) {
  return Boolean(session) && session.role === "admin";
}
