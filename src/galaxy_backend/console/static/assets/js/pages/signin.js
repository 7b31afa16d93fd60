// Signing in with an operator account; the token stays in this tab.

import { get, post } from "../api.js";
import { h, replace } from "../dom.js";
import { saveSession } from "../session.js";
import { errorText } from "../ui.js";

export function renderSignIn(root, { note, signedIn }) {
  const username = h("input", {
    id: "username", name: "username", autocomplete: "username", required: true,
    testid: "console-username",
  });
  const password = h("input", {
    id: "password", name: "password", type: "password", autocomplete: "current-password",
    required: true, testid: "console-password",
  });
  const submit = h("button", { type: "submit", class: "primary", testid: "console-login" },
    "Sign in");
  const message = h("p", { class: note ? "muted" : "error", role: "alert", testid: "signin-error" },
    note || "");
  const form = h("form", { class: "signin card", novalidate: true },
    h("h1", null, "Galaxy operator console"),
    h("label", { class: "field", for: "username" }, h("span", { class: "field-label" }, "Username"),
      username),
    h("label", { class: "field", for: "password" }, h("span", { class: "field-label" }, "Password"),
      password),
    message, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.className = "error";
    message.textContent = "";
    try {
      const login = await post("/auth/login", {
        username: username.value.trim(), password: password.value,
      });
      saveSession({ token: login.token, role: login.role, expires_at: login.expires_at,
        username: username.value.trim() });
      const me = await get("/me");
      saveSession({ token: login.token, role: me.role, expires_at: login.expires_at,
        username: me.username, id: me.id });
      password.value = "";
      signedIn();
    } catch (error) {
      message.textContent = errorText(error);
    } finally {
      submit.disabled = false;
    }
  });
  replace(root, h("div", { class: "signin-page" }, form));
  username.focus();
}
