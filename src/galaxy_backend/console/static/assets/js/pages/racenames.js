// Who holds a race name; releasing it.

import { get, post } from "../api.js";
import { field, h, replace, statusBadge, when } from "../dom.js";
import { actionButton, confirmAction, failure, flash, loading, section, table } from "../ui.js";

function releaseForm(entry, after) {
  const reason = h("textarea", { testid: "release-reason", rows: 2, maxlength: 500, required: true });
  const submit = h("button", { type: "submit", class: "danger", testid: "release-submit" }, "Release…");
  const form = h("form", { class: "inline-form" }, field("Reason", reason), h("div", { class: "buttons" }, submit));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    confirmAction({
      title: `Release “${entry.name}”?`,
      message: "The name is free for anyone at once; a pending application holding it is closed.",
      label: "Release it",
      run: () => post(`/race-names/${entry.id}/release`, { reason: reason.value }),
      done: () => { flash(`“${entry.name}” released.`, "done"); after(); },
    });
  });
  return form;
}

export async function renderRaceNames(ctx) {
  const name = ctx.query.name || "";
  const input = h("input", { type: "search", value: name, testid: "race-name-search",
    placeholder: "A race name", "aria-label": "Race name", autocomplete: "off" });
  const form = h("form", { class: "search", role: "search" }, input,
    h("button", { type: "submit", testid: "race-name-search-submit" }, "Find"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate("/race-names", { name: input.value.trim() });
  });
  const results = h("div");
  const forms = h("div", { class: "forms" });
  replace(ctx.main, h("h1", null, "Race names"), form, forms, results);
  input.focus();
  if (!name) {
    replace(results, h("p", { class: "muted" },
      "Names are unique by their canonical form: “Zorgon”, “zorgon” and “Z0rgon” are one name."));
    return;
  }
  replace(results, loading());
  try {
    const found = await get("/race-names", { name });
    replace(results, section(`Holders of “${name}”`, found.items.length ? table(
      ["Name", "Status", "Player", "Game", "Claimed", "Released", ""],
      found.items.map((e) => h("tr", { testid: "race-name-row", dataset: { entryId: e.id } },
        h("td", null, e.name), h("td", null, statusBadge(e.status)),
        h("td", null, h("a", { href: `#/players/${e.user_id}` }, e.user_id)),
        h("td", null, h("a", { href: `#/games/${e.game_id}` }, "game")),
        h("td", null, when(e.created_at)), h("td", null, when(e.released_at)),
        h("td", null, e.status === "released" ? null : actionButton(ctx, {
          label: "Release…", testid: "release-race-name", danger: true,
          onclick: () => replace(forms, releaseForm(e, () => renderRaceNames(ctx))),
        })))), "race-name-list")
      : h("p", { class: "muted", testid: "race-name-free" }, "Nobody holds this name.")));
  } catch (error) {
    replace(results, failure(error));
  }
}
