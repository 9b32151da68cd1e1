/* Customer pool: the list (/api/v1/customers) and one customer (/api/v1/customers/<id>). */
"use strict";
(function () {
  const { T, api, h, clear, failed, table, params, fillForm, pager, status, when, memberNames } = window.WH;
  const ALERT_REASONS = ["member_deleted", "customer_deleted"];

  async function showList(box) {
    const form = document.getElementById("filters");
    fillForm(form);
    const p = params();
    const query = new URLSearchParams();
    for (const key of ["q", "status", "owner", "department", "page"]) if (p.get(key)) query.set(key, p.get(key));
    try {
      const [data, names] = await Promise.all([api("/api/v1/customers?" + query), memberNames()]);
      const list = document.getElementById("member-list");
      if (list) clear(list, Object.entries(names).map(([id, name]) => h("option", { value: id }, name)));
      if (!data.items.length) { clear(box, h("p", { class: "muted" }, T.empty)); return; }
      const who = (ids) => ids.map((id) => names[id] || id).join("、");
      clear(box, table([
        { label: "客户", value: (c) => h("a", { href: "/console/customers/" + encodeURIComponent(c.external_userid) }, c.name || c.external_userid) },
        { label: "企业", value: (c) => c.corp_name || "—" },
        { label: "状态", value: (c) => status("customer_status", c.status) },
        { label: "跟进人", value: (c) => who(c.owners) || "—" },
        { label: "添加时间", value: (c) => when(c.created_at) },
      ], data.items), pager(data.page, data.per_page, data.total));
    } catch (err) { failed(box, err); }
  }

  const MEMBER_KEYS = ["userid", "new_userid", "first_owner"];
  const tagName = (t) => (t && typeof t === "object" ? t.tag_name || t.name || t.tag_id : t);
  const tagList = (tags) => (tags || []).map(tagName).join("、") || "—";

  /* What changed, in words: only fields people know by name; "old → new" for edits. Members by name
   * (the API's member_names), tags by tag_name. */
  function changeText(changes, names) {
    const show = (v) => (v === null || v === undefined || v === "" ? "—" : Array.isArray(v) ? v.length + " 项"
      : typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v) ? when(v) : String(v));
    const member = (v) => (v ? names[v] || v : "—");
    return Object.entries(changes || {}).map(([key, value]) => {
      if (key === "reason") return (T.end_reason[value] || value);
      const label = T.field[key];
      if (!label) return null;
      if (key === "tags") {
        const pair = Array.isArray(value) && value.length === 2 && value.every(Array.isArray);
        return `${label}：` + (pair ? `${tagList(value[0])} → ${tagList(value[1])}` : tagList(value));
      }
      if (MEMBER_KEYS.includes(key)) {
        return `${label}：` + (Array.isArray(value) ? value.map(member).join(" → ") : member(value));
      }
      if (Array.isArray(value) && value.length === 2 && key !== "remark_mobiles" && key !== "tags") {
        return `${label}：${show(value[0])} → ${show(value[1])}`;
      }
      return `${label}：${show(value)}`;
    }).filter(Boolean).join("；");
  }

  function relations(title, rows, past) {
    if (!rows.length) return null;
    const cols = [
      { label: "成员", value: (r) => r.member_name },
      { label: "备注", value: (r) => r.remark || "—" },
      { label: "标签", value: (r) => tagList(r.tags) },
      { label: "开始", value: (r) => when(r.createtime || r.opened_at) },
    ];
    if (past) {
      cols.push({ label: "结束", value: (r) => when(r.ended_at) });
      cols.push({ label: "原因", value: (r) => h("span", { class: "status " + (ALERT_REASONS.includes(r.end_reason) ? "churned" : "") },
        T.end_reason[r.end_reason] || r.end_reason || "—") });
    }
    return [h("h2", null, title), table(cols, rows)];
  }

  async function showDetail(box) {
    try {
      const data = await api("/api/v1/customers/" + encodeURIComponent(box.dataset.id));
      const names = data.member_names || {};
      const c = data.customer;
      const facts = [["企业", c.corp_full_name || c.corp_name], ["职位", c.position],
        ["类型", c.type === 2 ? "企业微信用户" : "微信用户"], ["首个跟进人", c.first_owner_name || names[c.first_owner] || c.first_owner],
        ["添加时间", when(c.created_at)], ["备注", c.note]];
      const history = data.history.map((e) => {
        const alert = e.kind === "relation_ended" && ALERT_REASONS.includes((e.changes || {}).reason);
        return h("li", { class: alert ? "alert" : null },
          h("strong", null, T.history_kind[e.kind] || e.kind), " ",
          h("small", null, when(e.occurred_at || e.at), e.userid ? " · " + (e.member_name || names[e.userid] || e.userid) : ""),
          h("div", null, changeText(e.changes, names)));
      });
      clear(box,
        h("h1", null, c.name || c.external_userid, " ", status("customer_status", c.status)),
        h("div", { class: "card" }, facts.filter(([, v]) => v).map(([k, v]) => h("div", null, h("small", null, k + "："), v))),
        relations("当前跟进", data.relations.current, false),
        relations("历史跟进（删除与流失）", data.relations.past, true),
        h("h2", null, "变更记录"),
        history.length ? h("ul", { class: "timeline" }, history) : h("p", { class: "muted" }, T.empty));
    } catch (err) { failed(box, err); }
  }

  const list = document.getElementById("customer-list");
  if (list) showList(list);
  const detail = document.getElementById("customer-detail");
  if (detail) showDetail(detail);
})();
