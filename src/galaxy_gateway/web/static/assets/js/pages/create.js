// Creating a game: the platform's fields and the engine's settings, a form built from the
// engine's settings schema; the API's complaints shown next to their fields.

import { get, post } from "../api.js";
import { field, h, label, showFieldErrors } from "../dom.js";
import { busy, errorText } from "../ui.js";
import { RACE_NAME_RULE } from "./game.js";

function localInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T`
    + `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// One control per setting of the schema: numbers, integers, booleans, lists of numbers.
function settingControl(name, spec) {
  const common = { name: `settings.${name}`, dataset: { setting: name, kind: spec.type } };
  if (spec.type === "boolean") {
    return h("input", { type: "checkbox", ...common, checked: Boolean(spec.default) });
  }
  if (spec.type === "array") {
    return h("input", { type: "text", ...common, value: (spec.default || []).join(", "),
      inputmode: "decimal" });
  }
  return h("input", { type: "number", ...common, value: spec.default, min: spec.minimum,
    max: spec.maximum, step: spec.type === "integer" ? 1 : "any" });
}

function settingValue(input) {
  const kind = input.dataset.kind;
  if (kind === "boolean") return input.checked;
  if (kind === "array") {
    return input.value.split(/[\s,]+/).filter(Boolean).map((v) => Number(v));
  }
  if (input.value === "") return undefined;
  return kind === "integer" ? Number.parseInt(input.value, 10) : Number(input.value);
}

export async function renderCreate(ctx) {
  let engines = [];
  const message = h("p", { class: "form-message", role: "alert", testid: "create-message" });
  try {
    engines = (await get("/public/engines")).items;
  } catch (error) {
    message.textContent = errorText(error);
  }
  const engine = engines.find((e) => e.default) || engines[0];
  const version = h("select", { name: "engine_version" },
    engines.map((e) => h("option", { value: e.version, selected: e === engine }, e.version)));
  const name = h("input", { type: "text", name: "name", maxlength: 64, required: true,
    testid: "game-name" });
  const description = h("textarea", { name: "description", rows: 2, maxlength: 2000 });
  const capacity = engine ? engine.max_players_default_map : 30;
  const min = h("input", { type: "number", name: "min_players", min: 2, max: 100, value: 2,
    required: true, testid: "game-min-players" });
  const max = h("input", { type: "number", name: "max_players", min: 2, max: 100, value: 4,
    required: true, testid: "game-max-players" });
  const schedule = h("input", { type: "text", name: "turn_schedule", value: "0 18 * * *",
    required: true, maxlength: 100, testid: "game-schedule" });
  const zone = h("input", { type: "text", name: "turn_time_zone", maxlength: 64,
    value: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" });
  const deadline = h("input", { type: "datetime-local", name: "enrollment_deadline", required: true,
    value: localInput(new Date(Date.now() + 7 * 86400_000)) });
  const visibility = h("select", { name: "visibility" },
    h("option", { value: "public" }, "Public: listed in the lobby"),
    h("option", { value: "private" }, "Private: by invite code"));
  const allIn = h("input", { type: "checkbox", name: "run_when_all_orders_in" });
  const ownerRace = h("input", { type: "text", name: "owner_race_name", maxlength: 64,
    autocomplete: "off", testid: "game-owner-race" });

  const settings = Object.entries((engine && engine.settings_schema.properties) || {});
  const settingsBox = h("fieldset", { class: "settings" },
    h("legend", null, "The engine's settings"),
    settings.map(([key, spec]) => {
      const control = settingControl(key, spec);
      const text = label(key);
      if (spec.type === "boolean") {
        return h("div", { class: "field check", dataset: { field: `settings.${key}` } },
          h("label", null, control, ` ${text}`),
          h("span", { class: "field-hint" }, spec.description || ""),
          h("span", { class: "field-error", role: "alert", dataset: { errorFor: `settings.${key}` } }));
      }
      return field(text, control, { hint: spec.description, name: `settings.${key}` });
    }));

  const submit = h("button", { type: "submit", testid: "game-submit" }, "Create the game");
  const form = h("form", { class: "stack create", novalidate: true },
    field("Name", name, { name: "name" }),
    field("Description", description, { name: "description" }),
    h("div", { class: "row" },
      field("Fewest players", min, { name: "min_players" }),
      field("Most players", max, { name: "max_players",
        hint: `The default map holds ${capacity} races.` })),
    field("Turn schedule", schedule, { name: "turn_schedule",
      hint: "Cron (minute hour day month weekday), or @every 12h" }),
    field("Time zone of the schedule", zone, { name: "turn_time_zone" }),
    field("Enrolment closes", deadline, { name: "enrollment_deadline" }),
    field("Visibility", visibility, { name: "visibility" }),
    h("div", { class: "field check", dataset: { field: "run_when_all_orders_in" } },
      h("label", null, allIn, " Run the turn as soon as every race has sent orders")),
    field("Your race name (to play in it yourself)", ownerRace, { name: "owner_race_name",
      hint: `${RACE_NAME_RULE} Leave empty to run the game without playing.` }),
    engines.length > 1 ? field("Engine version", version, { name: "engine_version" }) : null,
    settingsBox, message, submit);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = {};
    for (const input of settingsBox.querySelectorAll("[data-setting]")) {
      const value = settingValue(input);
      if (value !== undefined) chosen[input.dataset.setting] = value;
    }
    const when = new Date(deadline.value);
    const body = {
      name: name.value.trim(), description: description.value,
      min_players: Number.parseInt(min.value, 10), max_players: Number.parseInt(max.value, 10),
      turn_schedule: schedule.value.trim(), turn_time_zone: zone.value.trim() || "UTC",
      enrollment_deadline: Number.isNaN(when.getTime()) ? deadline.value : when.toISOString(),
      visibility: visibility.value, run_when_all_orders_in: allIn.checked, settings: chosen,
    };
    if (engines.length > 1) body.engine_version = version.value;
    if (ownerRace.value.trim()) body.owner_race_name = ownerRace.value.trim();
    message.textContent = "";
    await busy(submit, (async () => {
      try {
        const game = await post("/user/games", body);
        ctx.navigate(`/games/${game.id}`);
      } catch (error) {
        const fields = { ...(error.fields || {}) };
        // The race name's refusal names no field (it is the Directory's, not the form's).
        if (error.code === "race_name_taken") fields.owner_race_name = error.message;
        const placed = showFieldErrors(form, fields, message);
        if (!placed || message.textContent === "") {
          message.textContent = placed ? "" : errorText(error);
        }
      }
    })());
  });

  ctx.main.append(h("h1", null, "Create a game"), h("section", { class: "card" }, form));
  name.focus();
  return {};
}
