/* The customer pool's own note (客户池备注), edited on the customer page: PATCH /api/v1/customers/<id>
 * {note}. A block of its own beside customers.js, which draws the rest of the page. */
"use strict";
(function () {
  const { T, api, h, clear, message } = window.WH;
  const box = document.getElementById("pool-note");
  if (!box) return;
  const path = "/api/v1/customers/" + encodeURIComponent(box.dataset.id);

  function editor(note) {
    const msg = h("div", { role: "status" });
    const area = h("textarea", { id: "pool-note-text", name: "note", maxlength: 2000, rows: 3 });
    area.value = note || "";
    const form = h("form", { class: "stack" }, h("label", { for: "pool-note-text" }, T.field.note), area,
      h("div", { class: "actions" }, h("button", { type: "submit" }, T.save), msg));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await api(path, { method: "PATCH", json: { note: area.value } });
        message(msg, T.saved);
      } catch (err) { message(msg, err.message, true); }
    });
    clear(box, h("h2", null, T.field.note), form);
    box.hidden = false;
  }

  api(path).then((d) => editor(d.customer.note)).catch(() => {});  /* customers.js already says why the customer is missing */
})();
