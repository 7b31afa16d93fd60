// The player API on the same origin, with the session token in a header (never the URL).

import { getSession } from "./session.js";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }

  // Each field the API named, with its message: {"settings.galaxy_size": "..."}.
  get fields() {
    const found = {};
    for (const f of Array.isArray(this.details.fields) ? this.details.fields : []) {
      if (f && f.field && !(f.field in found)) found[f.field] = f.message;
    }
    if (this.details.field && !(this.details.field in found)) {
      found[this.details.field] = this.message;
    }
    return found;
  }
}

let onSignedOut = () => {};

export function whenSignedOut(handler) {
  onSignedOut = handler;
}

// A read that finds the server briefly away (a restart: the push stream can be back, and
// a resync sent, before the API listens) is asked again, with jittered backoff.
const RETRY_MS = [300, 700, 1500, 3000];
const PASSING = new Set([0, 502, 503]);

function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function api(method, path, options) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await once(method, path, options);
    } catch (error) {
      if (method !== "GET" || !PASSING.has(error.status) || attempt >= RETRY_MS.length) throw error;
      const told = Number(error.details.retry_after_seconds) * 1000 || 0;
      await pause(Math.max(told, RETRY_MS[attempt] * (0.5 + Math.random())));
    }
  }
}

async function once(method, path, options) {
  const { query, body, text } = options || {};
  const url = new URL(`/api/v1${path}`, window.location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "" || value === false) continue;
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, item);
  }
  const headers = { Accept: text ? "text/plain" : "application/json" };
  const session = getSession();
  if (session && path.startsWith("/user/")) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      redirect: "error",
    });
  } catch (error) {
    throw new ApiError(0, "network_error", `The server did not answer (${error.message}).`);
  }
  if (response.status === 204) return null;
  if (response.ok && text) return response.text();
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    const failure = new ApiError(response.status, error.code || "error",
      error.message || `${response.status} ${response.statusText}`, error.details);
    if (response.status === 401 && path.startsWith("/user/")) onSignedOut(failure);
    throw failure;
  }
  return data;
}

export const get = (path, query) => api("GET", path, { query });
export const getText = (path, query) => api("GET", path, { query, text: true });
export const post = (path, body) => api("POST", path, { body });
export const put = (path, body) => api("PUT", path, { body });
export const patch = (path, body) => api("PATCH", path, { body });
export const del = (path) => api("DELETE", path);
