/* Archive search: hits with highlighted snippets (/api/v1/archive/search), the conversation around a
 * hit (/messages/<msgid>/context) and the CSV export link with the same query. */
"use strict";
(function () {
  const { T, api, h, clear, message, failed, fillForm, params, pager, when, marked, highlight, memberNames } = window.WH;
  const FIELDS = ["q", "sender", "customer", "room", "msgtype", "from", "to"];
  const box = document.getElementById("hit-list");
  const form = document.getElementById("filters");
  let names = {};

  function terms(q) {
    const out = [];
    for (const m of (q || "").matchAll(/(-?)"([^"]*)"|(\S+)/g)) {
      const word = m[2] !== undefined ? m[2] : m[3];
      if (m[1] || !word || ["OR", "AND", "NOT", "|"].includes(word) || word.startsWith("-")) continue;
      out.push(word);
    }
    return out;
  }

  function nameOf(id) { return names[id] || id; }

  async function loadNames(items) {
    const members = await memberNames();
    const external = [...new Set(items.flatMap((m) => [m.sender, m.customer]).filter((id) => id && !members[id] && !names[id]))];
    let customers = {};
    if (external.length) customers = await api("/console/api/customer-names?ids=" + encodeURIComponent(external.join(","))).catch(() => ({}));
    names = Object.assign({}, names, members, customers);
    const list = document.getElementById("member-list");
    if (list && !list.children.length) clear(list, Object.entries(members).map(([id, n]) => h("option", { value: id }, n)));
  }

  function meta(m) {
    return h("div", { class: "meta" },
      h("span", null, when(m.time)),
      h("span", null, nameOf(m.sender) + (m.customer && m.customer !== m.sender ? " ↔ " + nameOf(m.customer) : "")),
      h("span", null, m.room ? "群聊 " + m.room : "单聊"),
      h("span", null, (T.msgtype[m.msgtype] || m.msgtype) + (m.revoked_by ? " · 已撤回" : "")));
  }

  function bubble(m, focus, words) {
    const external = m.sender && (m.sender.startsWith("wm") || m.sender.startsWith("wo"));
    return h("div", { class: "bubble" + (external ? " external" : "") + (focus ? " focus" : ""), dataset: { msgid: m.msgid } },
      h("div", { class: "meta" }, nameOf(m.sender), " · ", when(m.time)),
      h("div", null, highlight(m.text || "[" + (T.msgtype[m.msgtype] || m.msgtype) + "]", words)));
  }

  async function showContext(msgid, panel, words) {
    panel.hidden = false;
    message(panel, T.loading);
    try {
      const data = await api("/api/v1/archive/messages/" + encodeURIComponent(msgid) + "/context");
      await loadNames([data.message, ...data.before, ...data.after]);
      clear(panel, h("div", { class: "meta" }, T.context, "（", data.before.length, " + 1 + ", data.after.length, "）"),
        data.before.map((m) => bubble(m, false, words)), bubble(data.message, true, words),
        data.after.map((m) => bubble(m, false, words)));
    } catch (err) { failed(panel, err); }
  }

  function hit(m, words) {
    const panel = h("div", { class: "conversation", hidden: true });
    const toggle = h("button", { type: "button", class: "link context-toggle", on: { click: () => {
      if (panel.hidden) showContext(m.msgid, panel, words); else panel.hidden = true;
    } } }, T.context);
    return h("li", { class: "hit", dataset: { msgid: m.msgid } }, meta(m), h("p", { class: "snippet" }, marked(m.snippet)),
      toggle, panel);
  }

  async function search() {
    const p = params();
    const query = new URLSearchParams();
    for (const key of FIELDS) if (p.get(key)) query.set(key, p.get(key));
    const exportLink = document.getElementById("export");
    if (![...query.keys()].length) { message(box, "输入关键词或筛选条件开始搜索"); return; }
    exportLink.href = "/api/v1/archive/export.csv?" + query;
    exportLink.hidden = false;
    if (p.get("page")) query.set("page", p.get("page"));
    message(box, T.loading);
    try {
      const data = await api("/api/v1/archive/search?" + query);
      await loadNames(data.hits);
      const words = terms(p.get("q"));
      clear(box, h("p", { class: "muted", id: "hit-total" }, `共 ${data.total} 条`),
        data.hits.length ? h("ul", { class: "hits" }, data.hits.map((m) => hit(m, words))) : h("p", { class: "muted" }, T.empty),
        pager(data.page, data.per_page, data.total));
    } catch (err) { failed(box, err); }
  }

  fillForm(form);
  const direct = params().get("context");
  if (direct) {
    const panel = h("div", { class: "conversation" });
    clear(box, panel);
    showContext(direct, panel, terms(params().get("q")));
  } else {
    search();
  }
})();
