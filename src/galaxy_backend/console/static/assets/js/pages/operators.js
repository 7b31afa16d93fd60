// Operators: list; for admins also create, change role, disable or enable, reset password.

import { get, post, put } from "../api.js";
import { badge, field, h, replace, when } from "../dom.js";
import { actionButton, confirmAction, flash, pagedTable, runAction } from "../ui.js";

function createForm(after) {
  const username = h("input", { testid: "operator-username", maxlength: 64, required: true,
    autocomplete: "off" });
  const password = h("input", { type: "password", testid: "operator-password", required: true,
    autocomplete: "new-password" });
  const role = h("select", { testid: "operator-role" },
    h("option", { value: "viewer" }, "viewer (reads only)"), h("option", { value: "admin" }, "admin"));
  const submit = h("button", { type: "submit", class: "primary", testid: "operator-submit" }, "Create");
  const close = h("button", { type: "button" }, "Close");
  const form = h("form", { class: "inline-form" }, field("Username", username),
    field("Password", password, "at least 12 characters"), field("Role", role),
    h("div", { class: "buttons" }, submit, close));
  close.addEventListener("click", () => form.remove());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    runAction(submit, () => post("/operators", {
      username: username.value.trim(), password: password.value, role: role.value,
    }), () => { form.remove(); after(); }, "Operator created.");
  });
  return form;
}

function passwordForm(account, after) {
  const password = h("input", { type: "password", testid: "operator-new-password", required: true,
    autocomplete: "new-password" });
  const submit = h("button", { type: "submit", class: "danger", testid: "operator-password-submit" },
    "Set password…");
  const form = h("form", { class: "inline-form" }, field(`New password for ${account.username}`, password,
    "their sessions end"), h("div", { class: "buttons" }, submit));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    confirmAction({
      title: `Reset ${account.username}'s password?`,
      message: "Every session of theirs ends at once.",
      label: "Reset it",
      run: () => post(`/operators/${account.id}/password`, { password: password.value }),
      done: () => { form.remove(); flash("Password set.", "done"); after(); },
    });
  });
  return form;
}

export async function renderOperators(ctx) {
  const forms = h("div", { class: "forms" });
  const reload = () => list.reload();
  const list = pagedTable({
    columns: ["Username", "Role", "Created", "Last login", "State", ""],
    testid: "operator-list",
    empty: "No operator.",
    load: (cursor) => get("/operators", { cursor }),
    row: (a) => {
      const self = a.id === ctx.session.id;
      let roleCell = a.role;
      if (ctx.canWrite) {
        const select = h("select", { testid: "operator-role-select", "aria-label": `Role of ${a.username}` },
          ["admin", "viewer"].map((r) => h("option", { value: r, selected: r === a.role }, r)));
        const save = actionButton(ctx, {
          label: "Save role", testid: "operator-role-save",
          onclick: (event) => runAction(event.currentTarget,
            () => put(`/operators/${a.id}/role`, { role: select.value }), reload, "Role changed."),
        });
        roleCell = h("span", { class: "inline" }, select, save);
      }
      const toggle = a.disabled_at
        ? actionButton(ctx, {
          label: "Enable", testid: "operator-enable",
          onclick: (event) => runAction(event.currentTarget,
            () => post(`/operators/${a.id}/enable`), reload, "Operator enabled."),
        })
        : actionButton(ctx, {
          label: "Disable", testid: "operator-disable", danger: true,
          onclick: () => confirmAction({
            title: `Disable ${a.username}?`,
            message: self ? "This is you: your session ends at once."
              : "Every session of theirs ends at once.",
            label: "Disable",
            run: () => post(`/operators/${a.id}/disable`),
            done: () => { flash("Operator disabled.", "done"); reload(); },
          }),
        });
      const reset = actionButton(ctx, {
        label: "Reset password…", testid: "operator-password-reset",
        onclick: () => replace(forms, passwordForm(a, reload)),
      });
      return h("tr", { testid: "operator-row", dataset: { operatorId: a.id } },
        h("td", null, a.username, self ? " (you)" : ""), h("td", null, roleCell),
        h("td", null, when(a.created_at)), h("td", null, when(a.last_login_at)),
        h("td", null, a.disabled_at ? badge(`disabled ${when(a.disabled_at)}`, "bad") : badge("active", "good")),
        h("td", null, h("span", { class: "inline" }, toggle, reset)));
    },
  });
  const create = actionButton(ctx, {
    label: "New operator…", testid: "operator-create",
    onclick: () => replace(forms, createForm(reload)),
  });
  replace(ctx.main, h("h1", null, "Operators"), h("div", { class: "actions" }, create), forms,
    list.element);
  await list.ready;
}
