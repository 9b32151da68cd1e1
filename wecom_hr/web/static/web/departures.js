/* Departures: start one (POST /api/v1/departures), the list (HR/admin: /api/v1/departures; a
 * manager: their team's, /console/api/team-departures) and one departure's report — progress per
 * customer and group chat, receivables handed over, the approval (GET /api/v1/departures/<id>); the
 * handover checklist (GET/POST .../signoffs), a new successor for customers who were not moved, cancel. */
"use strict";
(function () {
  const { T, api, h, clear, message, failed, table, when, money, status, memberNames } = window.WH;
  const FINAL = ["done", "refused", "at_limit", "no_record", "failed", "skipped"];
  const UNMOVED = ["refused", "at_limit", "no_record", "failed"];  // may get another successor
  const CANCELLABLE = ["draft", "pending_approval", "rejected", "approved"];
  let names = {};
  const who = (id) => (id ? names[id] || id : "—");

  async function showList(box) {
    try {
      const [data, members] = await Promise.all([api(box.dataset.source), memberNames()]);
      names = members;
      if (!data.items.length) { clear(box, h("p", { class: "muted" }, T.empty)); return; }
      const outstanding = (d) => (d.summary && d.summary.outstanding ? money(d.summary.outstanding) : "—");
      clear(box, table([
        { label: "成员", value: (d) => h("a", { href: "/console/departures/" + d.id }, d.member_name || who(d.userid)) },
        { label: "最后工作日", nowrap: true, value: (d) => d.last_day },
        { label: "状态", nowrap: true, value: (d) => status("departure_state", d.state) },
        { label: "客户", num: true, value: (d) => String((d.summary || {}).customers ?? "—") },
        { label: "未结账款", num: true, value: outstanding },
        { label: "接替人", value: (d) => d.successor_name || who(d.successor) },
        { label: "发起", nowrap: true, value: (d) => when(d.created_at) },
      ], data.items));
    } catch (err) { failed(box, err); }
  }

  function startForm(form, listBox) {
    const msg = document.getElementById("start-message");
    memberNames().then((members) => {
      clear(document.getElementById("member-list"),
        Object.entries(members).map(([id, name]) => h("option", { value: id }, name)));
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { userid: form.userid.value.trim(), last_day: form.last_day.value, note: form.note.value };
      if (form.successor.value.trim()) body.successor = form.successor.value.trim();
      try {
        const made = await api("/api/v1/departures", { method: "POST", json: body });
        clear(msg, h("p", { class: "message" }, T.started, " ", h("a", { href: "/console/departures/" + made.id }, "查看进度")));
        form.reset();
        showList(listBox);
      } catch (err) { message(msg, err.message, true); }
    });
  }

  function progress(d) {
    const counts = {};
    for (const part of [d.customers.counts, d.group_chats.counts]) {
      for (const [s, n] of Object.entries(part || {})) counts[s] = (counts[s] || 0) + n;
    }
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const done = FINAL.reduce((a, s) => a + (counts[s] || 0), 0);
    return h("div", { class: "card", id: "departure-progress" },
      h("div", null, `转接进度：${done} / ${total}`),
      h("progress", { max: total || 1, value: done }),
      h("div", { class: "muted" }, Object.entries(counts).map(([s, n]) => `${T.item_status[s] || s} ${n}`).join(" · ")));
  }

  function heir(i, d) { return who(i.takeover || i.successor || d.successor); }

  /* A customer who was not moved gets another successor (PUT .../customers/<ext>); the job sends it again. */
  function reassign(box, d, i) {
    if (!UNMOVED.includes(i.status) || box.dataset.manages !== "1" || d.state === "cancelled") return null;
    const input = h("input", { name: "successor", list: "successor-list", maxlength: 64, placeholder: "新接替人" });
    const msg = h("span", { class: "muted" });
    const send = async () => {
      try {
        await api(`/api/v1/departures/${d.id}/customers/${encodeURIComponent(i.ref)}`,
          { method: "PUT", json: { successor: input.value.trim() } });
        showDetail(box);
      } catch (err) { msg.textContent = err.message; }
    };
    return h("span", { class: "reassign", dataset: { ref: i.ref } }, input,
      h("button", { type: "button", class: "small", on: { click: send } }, "重新指定"), msg);
  }

  function customers(box, d) {
    const c = d.customers;
    if (!c.items.length) return null;
    const unmoved = c.items.filter((i) => UNMOVED.includes(i.status)).length;
    return [h("h2", null, `客户（${c.total}）`),
      unmoved ? h("p", { class: "message error" }, `${unmoved} 位客户未能转接，请重新指定接替人`) : null,
      h("datalist", { id: "successor-list" }, Object.entries(names).map(([id, name]) => h("option", { value: id }, name))),
      table([
        { label: "客户", value: (i) => [i.name || i.ref, i.corp_name ? h("small", null, " " + i.corp_name) : null] },
        { label: "最近联系", nowrap: true, value: (i) => (i.last_contact ? when(i.last_contact) : "—") },
        { label: "接替人", value: (i) => [heir(i, d), reassign(box, d, i)] },
        { label: "状态", value: (i) => h("span", { class: "status " + i.status }, i.status_text || T.item_status[i.status] || i.status) },
      ], c.items)];
  }

  function chats(d) {
    const rows = d.group_chats.items;
    if (!rows.length) return null;
    return [h("h2", null, `客户群（${rows.length}）`), table([
      { label: "群", value: (i) => i.name || i.ref },
      { label: "接替人", value: (i) => heir(i, d) },
      { label: "状态", value: (i) => h("span", { class: "status " + i.status }, i.status_text || i.status) },
    ], rows)];
  }

  function receivables(d) {
    const r = d.receivables;
    if (!r.items.length) return null;
    return [h("h2", null, `未结账款（${money(r.total_outstanding)}，逾期 ${r.overdue} 笔）`), table([
      { label: "单号", value: (x) => x.order_no },
      { label: "客户", value: (x) => x.customer_name || x.external_userid },
      { label: "到期日", nowrap: true, value: (x) => x.due_on + (x.overdue ? "（逾期）" : "") },
      { label: "未收金额", num: true, value: (x) => money(x.outstanding, x.currency) },
      { label: "接手人", value: (x) => who(x.successor) },
    ], r.items)];
  }

  function approval(d) {
    const card = d.cards[d.cards.length - 1];
    if (!card) return null;
    const decided = card.decision ? `${card.decision === "approve" ? "已同意" : "已驳回"}：${who(card.decided_by)} ${when(card.decided_at)}`
      : `待 ${card.approvers.map(who).join("、")} 审批`;
    return h("div", null, h("small", null, "审批："), decided);
  }

  /* The approver decides here as on the WeCom card: a successor (unless fixed), then 同意 or 驳回 (with a reason). */
  async function approvalForm(box, id) {
    const a = await api(`/console/api/departures/${id}/approval`).catch(() => ({ may_decide: false }));
    if (!a.may_decide) return;
    const msg = h("div");
    const select = h("select", { name: "successor" }, a.options.map((o) => h("option", { value: o.userid }, o.name)));
    const reason = h("textarea", { name: "reason", maxlength: 500, placeholder: "驳回时请说明原因（将发给人事）" });
    const send = async (verdict) => {
      const body = { decision: verdict, successor: select.value };
      if (verdict === "reject") body.reason = reason.value.trim();
      try {
        await api(`/console/api/departures/${id}/decision`, { method: "POST", json: body });
        showDetail(box);
      } catch (err) { message(msg, err.message, true); }
    };
    const form = h("form", { class: "card", id: "approval" }, h("h2", null, "审批"),
      h("label", null, "接替人", select), h("label", { class: "wide" }, "驳回原因", reason),
      h("div", { class: "actions" },
        h("button", { type: "button", dataset: { decision: "approve" }, on: { click: () => send("approve") } }, "同意"),
        h("button", { type: "button", class: "ghost", dataset: { decision: "reject" }, on: { click: () => send("reject") } }, "驳回")),
      msg);
    box.querySelector("#departure-progress").before(form);
  }

  /* The handover checklist: each step, who signs it, its items to tick; the viewer acts where they may. */
  function step(box, id, st) {
    const base = `/api/v1/departures/${id}/signoffs/${encodeURIComponent(st.step)}`;
    const msg = h("span", { class: "muted" });
    const call = async (path, options) => {
      try { await api(path, options); showChecklist(box, id); } catch (err) { msg.textContent = err.message; }
    };
    const state = st.status === "signed" ? `已签署：${who(st.signed_by)} ${when(st.signed_at)}`
      : `待 ${st.signers.map((u) => u.name || u.userid).join("、") || "—"} ${st.by_approval ? "审批" : "签署"}`;
    const items = st.items.map((it, n) => h("label", { class: "tick" },
      h("input", { type: "checkbox", checked: Boolean(it.done), disabled: !st.may_sign,
        dataset: { item: it.name }, on: { change: (ev) => call(`${base}/items/${n}`, { method: "PUT", json: { done: ev.target.checked } }) } }),
      " ", it.name, it.done && it.by ? h("small", null, ` ${who(it.by)}`) : null));
    const extra = h("input", { name: "item", maxlength: 64, placeholder: "其他物品" });
    const adder = st.may_sign && st.checklist ? h("span", null, extra,
      h("button", { type: "button", class: "small ghost", on: { click: () => call(`${base}/items`, { method: "POST", json: { name: extra.value.trim() } }) } }, "添加")) : null;
    const sign = st.may_sign && !st.by_approval ? h("button", { type: "button", class: "small", dataset: { sign: st.step },
      on: { click: () => call(base, { method: "POST", json: {} }) } }, "签署") : null;
    return h("li", { class: "signoff " + st.status, dataset: { step: st.step } },
      h("strong", null, st.title), " ", h("span", { class: "status " + (st.status === "signed" ? "done" : "pending") },
        st.status === "signed" ? "已完成" : "待完成"), h("div", { class: "muted" }, state),
      items.length ? h("div", { class: "items" }, items) : null, adder, sign, msg);
  }

  async function showChecklist(box, id) {
    let c;
    try { c = await api(`/api/v1/departures/${id}/signoffs`); } catch (err) { return; }
    if (!c.steps.length) return;
    const waiting = c.waiting_for.map((u) => u.name || u.userid).join("、");
    const card = h("div", { class: "card", id: "checklist" }, h("h2", null, "交接清单"),
      h("p", null, c.all_done ? "全部签署完成" : `待办：${waiting}`),
      h("ul", { class: "signoffs" }, c.steps.map((st) => step(box, id, st))));
    const old = box.querySelector("#checklist"), anchor = box.querySelector("#departure-progress");
    if (old) old.replaceWith(card);
    else if (anchor) anchor.before(card);
    else box.append(card);
  }

  function cancelButton(box, d) {
    if (box.dataset.mayCancel !== "1" || !CANCELLABLE.includes(d.state)) return null;
    const msg = h("span", { class: "muted" });
    const go = async () => {
      if (!window.confirm("确定撤销该离职交接？")) return;
      try { await api(`/api/v1/departures/${d.id}/cancel`, { method: "POST", json: {} }); showDetail(box); }
      catch (err) { msg.textContent = err.message; }
    };
    return h("div", { class: "actions" }, h("button", { type: "button", class: "ghost", id: "cancel-departure", on: { click: go } }, "撤销交接"), msg);
  }

  function rejection(d) {
    const r = (d.summary || {}).rejection;
    if (!r || d.state !== "rejected") return null;
    return h("div", null, h("small", null, "驳回原因："), r.reason || "（未填写）");
  }

  async function showDetail(box) {
    try {
      const [d, members] = await Promise.all([api("/api/v1/departures/" + encodeURIComponent(box.dataset.id)), memberNames()]);
      names = members;
      clear(box,
        h("h1", null, (d.member_name || who(d.userid)) + " 离职交接 ", status("departure_state", d.state)),
        h("div", { class: "card" },
          h("div", null, h("small", null, "最后工作日："), d.last_day),
          h("div", null, h("small", null, "默认接替人："), d.successor_name || who(d.successor)),
          h("div", null, h("small", null, "发起："), who(d.started_by), " ", when(d.created_at)),
          approval(d), rejection(d),
          d.completed_at ? h("div", null, h("small", null, "完成："), when(d.completed_at)) : null,
          d.note ? h("div", null, h("small", null, "备注："), d.note) : null, cancelButton(box, d)),
        progress(d), customers(box, d), chats(d), receivables(d));
      await showChecklist(box, box.dataset.id);
      if (d.state === "pending_approval") await approvalForm(box, box.dataset.id);
    } catch (err) {
      if (err.status !== 404 && err.status !== 403) { failed(box, err); return; }
      clear(box);  // a signer (finance) sees only the checklist
      names = await memberNames().catch(() => ({}));
      await showChecklist(box, box.dataset.id);
      if (!box.childElementCount) failed(box, err);
    }
  }

  const listBox = document.getElementById("departure-list");
  if (listBox) showList(listBox);
  const form = document.getElementById("start-departure");
  if (form && listBox) startForm(form, listBox);
  const detail = document.getElementById("departure-detail");
  if (detail) showDetail(detail);
})();
