// The admin API on the same origin, with the operator's token in a header (never the URL).

import { getSession } from "./session.js";

export const ADMIN = "/api/v1/admin";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }

  // The API's own message, with the fields it names.
  get text() {
    const fields = Array.isArray(this.details.fields) ? this.details.fields : [];
    const named = fields.map((f) => `${f.field}: ${f.message}`);
    if (this.details.field && !fields.length) named.push(`field: ${this.details.field}`);
    return named.length ? `${this.message} (${named.join("; ")})` : this.message;
  }
}

let onSignedOut = () => {};

export function whenSignedOut(handler) {
  onSignedOut = handler;
}

export async function api(method, path, options) {
  const { query, body } = options || {};
  const url = new URL(ADMIN + path, window.location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, item);
  }
  const headers = { Accept: "application/json" };
  const session = getSession();
  if (session) headers.Authorization = `Bearer ${session.token}`;
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
    throw new ApiError(0, "network_error", `The backend did not answer (${error.message}).`);
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    const failure = new ApiError(
      response.status,
      error.code || "error",
      error.message || `${response.status} ${response.statusText}`,
      error.details,
    );
    if (response.status === 401 && path !== "/auth/login") onSignedOut(failure);
    throw failure;
  }
  return data;
}

export const get = (path, query) => api("GET", path, { query });
export const post = (path, body) => api("POST", path, { body });
export const put = (path, body) => api("PUT", path, { body });
