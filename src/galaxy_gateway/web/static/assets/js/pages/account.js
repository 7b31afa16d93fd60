// The player's profile and sessions (each can be ended here).

import { del, get, patch } from "../api.js";
import { field, h, replace, showFieldErrors, when } from "../dom.js";
import { getSession, saveSession } from "../session.js";
import { busy, errorText, showFlash } from "../ui.js";

// The profile's fields; saved, the header shows the new name at once.
function profileForm(ctx, me) {
  const name = h("input", { type: "text", name: "display_name", maxlength: 64,
    value: me.display_name || "", testid: "profile-name", autocomplete: "nickname" });
  const zone = h("input", { type: "text", name: "time_zone", maxlength: 64,
    value: me.time_zone || "", testid: "profile-time-zone", list: "time-zones" });
  const language = h("input", { type: "text", name: "language", maxlength: 35,
    value: me.language || "", testid: "profile-language", autocomplete: "language" });
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const save = h("button", { type: "submit", testid: "profile-save" }, "Save");
  const message = h("p", { class: "form-message", role: "alert" });
  const form = h("form", { class: "stack", testid: "profile", novalidate: true },
    h("dl", { class: "facts" }, h("dt", null, "Email"), h("dd", null, me.email),
      h("dt", null, "Country"), h("dd", null, me.country || "—")),
    field("Display name", name, { name: "display_name" }),
    field("Time zone", zone, { name: "time_zone", hint: "As Europe/Berlin: times in mails use it." }),
    h("datalist", { id: "time-zones" }, zones.map((z) => h("option", { value: z }))),
    field("Language", language, { name: "language", hint: "As en or pt-BR." }),
    message, save);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy(save, (async () => {
      try {
        const updated = await patch("/user/me", { display_name: name.value.trim(),
          time_zone: zone.value.trim(), language: language.value.trim() });
        showFieldErrors(form, {}, message);
        const session = getSession();
        if (session) saveSession({ ...session, user: { ...session.user, ...updated } });
        ctx.setUserName(updated.display_name || updated.email);
        showFlash("Saved.", "good");
      } catch (error) {
        if (!showFieldErrors(form, error.fields || {}, message)) message.textContent = errorText(error);
      }
    })());
  });
  return form;
}

// "Chrome on Linux" rather than the whole user agent string (kept in the row's tooltip).
const BROWSERS = [[/Edg\//, "Edge"], [/OPR\//, "Opera"], [/Firefox\//, "Firefox"],
  [/Chrom(e|ium)\//, "Chrome"], [/Safari\//, "Safari"]];
const SYSTEMS = [[/Android/, "Android"], [/iPhone|iPad|iPod/, "iOS"], [/Windows/, "Windows"],
  [/Mac OS X|Macintosh/, "macOS"], [/CrOS/, "ChromeOS"], [/Linux/, "Linux"]];

function deviceName(session) {
  if (session.device_name) return session.device_name;
  const agent = session.user_agent || "";
  const browser = (BROWSERS.find(([pattern]) => pattern.test(agent)) || [])[1];
  const system = (SYSTEMS.find(([pattern]) => pattern.test(agent)) || [])[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser || system || agent || "A browser";
}

export async function renderAccount(ctx) {
  const profile = h("div", null);
  const sessions = h("div", { testid: "sessions" });

  async function loadProfile() {
    try {
      replace(profile, profileForm(ctx, await get("/user/me")));
    } catch (error) {
      replace(profile, h("p", { class: "form-message" }, errorText(error)));
    }
  }

  async function loadSessions() {
    try {
      const found = await get("/user/me/sessions");
      replace(sessions, h("ul", { class: "plain sessions" }, found.items.map((s) => {
        const end = h("button", { type: "button", class: "secondary", testid: "session-end" },
          s.current ? "Sign out here" : "End this session");
        end.addEventListener("click", async () => {
          try {
            await del(`/user/me/sessions/${s.id}`);
            await loadSessions();
          } catch (error) {
            showFlash(errorText(error), "bad");
          }
        });
        return h("li", { class: "session", testid: "session-row",
          dataset: { sessionId: s.id, current: String(Boolean(s.current)) } },
          h("strong", { title: s.user_agent || null, testid: "session-device" }, deviceName(s)),
          s.current ? h("span", { class: "badge badge-note" }, "this tab") : null,
          h("span", { class: "muted small meta" },
            `Signed in ${when(s.created_at)}, last seen ${when(s.last_seen_at)}, from ${s.client_ip || "?"}`),
          end);
      })));
    } catch (error) {
      replace(sessions, h("p", { class: "form-message" }, errorText(error)));
    }
  }

  ctx.main.append(h("h1", null, "Account"),
    h("section", { class: "card", "aria-labelledby": "profile-title" },
      h("h2", { id: "profile-title" }, "Profile"), profile),
    h("section", { class: "card", "aria-labelledby": "sessions-title" },
      h("h2", { id: "sessions-title" }, "Sessions"), sessions));
  await Promise.all([loadProfile(), loadSessions()]);
  return { refresh: () => Promise.all([loadProfile(), loadSessions()]) };
}
