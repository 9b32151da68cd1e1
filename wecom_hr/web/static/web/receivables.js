/* Receivables: the overdue list with follow-up notes (/api/v1/receivables, ?note_overdue= filter),
 * payments recorded by finance, collection tasks with their dunning letters and closing
 * (/api/v1/collections). The aging charts and the CSV import are the server's. */
"use strict";
(function () {
  const { T, api, h, clear, message, failed, table, params, fillForm, pager, status, when, money, memberNames } = window.WH;

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

  /* Finance records a payment against one item: POST /api/v1/receivables/<order_no>/payments. */
  function paymentForm(r, cell, reload) {
    const msg = h("div");
    const form = h("form", { class: "payment-form" },
      h("label", null, T.payment_amount, h("input", { name: "amount", inputmode: "decimal", required: true, value: r.outstanding })),
      h("label", null, T.paid_on, h("input", { name: "paid_on", type: "date" })),
      h("label", null, T.payment_reference, h("input", { name: "reference", maxlength: 128 })),
      h("div", { class: "actions" }, h("button", { type: "submit" }, T.record_payment),
        h("button", { type: "button", class: "ghost", on: { click: reload } }, T.cancel), msg));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { amount: form.amount.value.trim(), paid_on: form.paid_on.value || null,
        reference: form.reference.value.trim() || null };
      try {
        await api("/api/v1/receivables/" + encodeURIComponent(r.order_no) + "/payments", { method: "POST", json: body });
        reload();
      } catch (err) { message(msg, err.message, true); }
    });
    clear(cell, form);
  }

  function overdueQuery() {
    const p = params();
    const q = new URLSearchParams({ overdue: "true", page: p.get("page") || "1" });
    if (p.get("note_overdue")) q.set("note_overdue", p.get("note_overdue"));
    return q;
  }

  async function showOverdue(box) {
    const filters = document.getElementById("overdue-filters");
    if (filters) fillForm(filters);
    const payments = box.dataset.payments === "1";
    try {
      const [data, names] = await Promise.all([api("/api/v1/receivables?" + overdueQuery()), memberNames()]);
      if (!data.items.length) { clear(box, h("p", { class: "muted" }, T.empty)); return; }
      const reload = () => showOverdue(box);
      clear(box, table([
        { label: "单号", value: (r) => r.order_no },
        { label: "客户", value: (r) => r.customer_name || r.external_userid },
        { label: "销售", value: (r) => names[r.salesperson] || r.salesperson },
        { label: "到期日", value: (r) => r.due_on },
        { label: "逾期天数", num: true, value: (r) => String(r.days_overdue) },
        { label: "未收金额", num: true, value: (r) => money(r.outstanding, r.currency) },
        { label: "状态", value: (r) => r.note_overdue
          ? h("span", null, status("receivable_status", r.status), " ", h("span", { class: "status note_overdue" }, T.note_overdue))
          : status("receivable_status", r.status) },
        { label: "跟进说明", value: (r) => {
          const cell = h("div", { class: "note" }, noteOf(r), " ");
          cell.append(h("button", { type: "button", class: "link", on: { click: () => noteForm(r, cell, reload) } }, T.add_note));
          if (payments) {
            cell.append(" · ", h("button", { type: "button", class: "link record-payment",
              on: { click: () => paymentForm(r, cell, reload) } }, T.record_payment));
          }
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

  async function closeTask(task, cell, reload) {
    if (!window.confirm(T.close_task_confirm)) return;
    try {
      await api(`/api/v1/collections/${task.id}/close`, { method: "POST", json: {} });
      reload();
    } catch (err) { message(cell, err.message, true); }
  }

  async function showCollections(box, panel) {
    const reload = () => showCollections(box, panel);
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
        { label: "操作", value: (t) => {
          const cell = h("div");
          cell.append(h("button", { type: "button", class: "ghost small close-task",
            on: { click: () => closeTask(t, cell, reload) } }, T.close_task));
          return cell;
        } },
      ], data.items), data.total > data.items.length ? h("p", { class: "muted" }, `共 ${data.total} 个任务`) : null);
    } catch (err) { failed(box, err); }
  }

  const overdue = document.getElementById("overdue-list");
  if (overdue) showOverdue(overdue);
  const collections = document.getElementById("collection-list");
  if (collections) showCollections(collections, document.getElementById("letter"));
})();
