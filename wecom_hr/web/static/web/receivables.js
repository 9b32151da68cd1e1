/* Receivables: the overdue list with follow-up notes (/api/v1/receivables), collection tasks and
 * their dunning letters (/api/v1/collections). The aging charts are drawn by the server. */
"use strict";
(function () {
  const { T, api, h, clear, message, failed, table, params, pager, status, when, money, memberNames } = window.WH;

  function noteOf(r) {
    if (!r.followup) return "—";
    const f = r.followup;
    return f.note + (f.promised_on ? `（承诺 ${f.promised_on} 付款）` : "");
  }

  function noteForm(r, cell, reload) {
    const msg = h("div");
    const form = h("form", { class: "note-form" },
      h("textarea", { name: "note", maxlength: 1000, required: true, placeholder: T.note_placeholder }),
      h("label", null, T.promised_on, h("input", { name: "promised_on", type: "date" })),
      h("div", { class: "actions" }, h("button", { type: "submit" }), msg));
    form.querySelector("button").textContent = T.submit;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { note: form.note.value, promised_on: form.promised_on.value || null };
      try {
        await api("/api/v1/receivables/" + encodeURIComponent(r.order_no) + "/followups", { method: "POST", json: body });
        reload();
      } catch (err) { message(msg, err.message, true); }
    });
    clear(cell, form);
  }

  async function showOverdue(box) {
    const page = params().get("page") || "1";
    try {
      const [data, names] = await Promise.all([api(`/api/v1/receivables?overdue=true&page=${encodeURIComponent(page)}`),
        memberNames()]);
      if (!data.items.length) { clear(box, h("p", { class: "muted" }, T.empty)); return; }
      const reload = () => showOverdue(box);
      clear(box, table([
        { label: "单号", value: (r) => r.order_no },
        { label: "客户", value: (r) => r.customer_name || r.external_userid },
        { label: "销售", value: (r) => names[r.salesperson] || r.salesperson },
        { label: "到期日", value: (r) => r.due_on },
        { label: "逾期天数", num: true, value: (r) => String(r.days_overdue) },
        { label: "未收金额", num: true, value: (r) => money(r.outstanding, r.currency) },
        { label: "状态", value: (r) => status("receivable_status", r.status) },
        { label: "跟进说明", value: (r) => {
          const cell = h("div", { class: "note" }, noteOf(r), " ");
          cell.append(h("button", { type: "button", class: "link", on: { click: () => noteForm(r, cell, reload) } }, T.add_note));
          return cell;
        } },
      ], data.items), pager(data.page, data.per_page, data.total));
    } catch (err) { failed(box, err); }
  }

  async function showLetter(task, panel) {
    panel.hidden = false;
    message(panel, T.loading);
    try {
      const text = await api(`/api/v1/collections/${task.id}/letter?format=text`, { headers: { Accept: "text/plain" } });
      clear(panel, h("h2", null, `${T.letter} · ${task.customer_name}`), h("pre", { class: "letter" }, text),
        h("button", { type: "button", class: "ghost", on: { click: () => { panel.hidden = true; } } }, T.close));
      panel.scrollIntoView({ block: "start" });
    } catch (err) { failed(panel, err); }
  }

  async function showCollections(box, panel) {
    try {
      const data = await api("/api/v1/collections?status=open");
      if (!data.items.length) { clear(box, h("p", { class: "muted" }, T.empty)); return; }
      const owed = (t) => Object.entries(t.outstanding).map(([cur, amount]) => money(amount, cur)).join(" + ") || "—";
      clear(box, table([
        { label: "客户", value: (t) => t.customer_name },
        { label: "状态", value: (t) => status("collection_status", t.status) },
        { label: "开始于", value: (t) => when(t.opened_at) },
        { label: "未结笔数", num: true, value: (t) => String(t.open_items) },
        { label: "未收金额", num: true, value: owed },
        { label: T.letter, value: (t) => t.letter_version
          ? h("button", { type: "button", class: "link", on: { click: () => showLetter(t, panel) } }, `${T.letter} v${t.letter_version}`)
          : "—" },
      ], data.items), data.total > data.items.length ? h("p", { class: "muted" }, `共 ${data.total} 个任务`) : null);
    } catch (err) { failed(box, err); }
  }

  const overdue = document.getElementById("overdue-list");
  if (overdue) showOverdue(overdue);
  const collections = document.getElementById("collection-list");
  if (collections) showCollections(collections, document.getElementById("letter"));
})();
