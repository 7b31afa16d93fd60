// Signing in by a code sent by mail: ask for it, then type it.

import { post } from "../api.js";
import { field, h, replace } from "../dom.js";
import { saveSession } from "../session.js";
import { busy } from "../ui.js";

// A refusal with the wait the server gave (too many codes, too many wrong ones): when to
// try again, not only that it failed.
function refusal(error) {
  const wait = Number(error.details && error.details.retry_after_seconds);
  if (!(wait > 0)) return error.message;
  const after = wait < 90 ? `${Math.ceil(wait)} s` : `${Math.ceil(wait / 60)} min`;
  return `${error.message}: try again in ${after}.`;
}

export function renderSignIn(root, { note, signedIn }) {
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "email",
    testid: "signin-email" });
  const send = h("button", { type: "submit", testid: "signin-send" }, "Send me a code");
  const code = h("input", { type: "text", name: "code", inputmode: "numeric", pattern: "[0-9]{6}",
    maxlength: 6, autocomplete: "one-time-code", required: true, testid: "signin-code" });
  const confirm = h("button", { type: "submit", testid: "signin-confirm" }, "Sign in");
  const message = h("p", { class: "form-message", role: "alert", testid: "signin-message",
    dataset: { kind: "note" } }, note || "");
  let challenge = null;
  // News (a code sent, signed out) reads as news; only a refusal is shown as an error.
  const say = (text, kind) => {
    message.textContent = text;
    message.dataset.kind = kind;
  };

  const codeForm = h("form", { class: "stack", hidden: true },
    field("The 6-digit code from the mail", code), confirm);
  const emailForm = h("form", { class: "stack" }, field("Email", email), send);

  emailForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    say("", "note");
    await busy(send, (async () => {
      try {
        const answer = await post("/public/auth/email-code", { email: email.value.trim() });
        challenge = answer.challenge_id;
        codeForm.hidden = false;
        say(`A code is on its way to ${email.value.trim()}.`, "note");
        code.focus();
      } catch (error) {
        say(refusal(error), "error");
      }
    })());
  });
  codeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(confirm, (async () => {
      try {
        const answer = await post("/public/auth/email-code/confirm",
          { challenge_id: challenge, code: code.value.trim() });
        saveSession({ token: answer.token, session_id: answer.session_id,
          expires_at: answer.expires_at, user: answer.user }, { announce: true });
        signedIn();
      } catch (error) {
        say(refusal(error), "error");
        code.select();
      }
    })());
  });

  document.title = "Sign in · Galaxy";
  replace(root, h("main", { class: "signin", id: "main" },
    h("h1", null, "Galaxy"),
    h("p", { class: "muted" }, "Turn-based space strategy by mail, in your browser."),
    h("section", { class: "card", "aria-label": "Sign in" },
      h("h2", null, "Sign in"), emailForm, codeForm, message)));
  email.focus();
}
