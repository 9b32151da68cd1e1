/* Archive search: hits with highlighted snippets (/api/v1/archive/search), the conversation around a
 * hit (/messages/<msgid>/context) and the CSV export link with the same query. The 发送人 / 客户 / 群聊
 * inputs suggest names as one types (/suggestions); the API turns the names back into ids. */
"use strict";
(function () {
  const { T, api, h, clear, message, failed, fillForm, params, pager, when, marked, highlight } = window.WH;
  const FIELDS = ["q", "sender", "customer", "room", "msgtype", "from", "to"];
  const box = document.getElementById("hit-list");
  const form = document.getElementById("filters");
  const SUGGEST_DELAY_MS = 200;
  let roomNames = {};

  function terms(q) {
    const out = [];
    for (const m of (q || "").matchAll(/(-?)"([^"]*)"|(\S+)/g)) {
      const word = m[2] !== undefined ? m[2] : m[3];
      if (m[1] || !word || ["OR", "AND", "NOT", "|"].includes(word) || word.startsWith("-")) continue;
      out.push(word);
    }
    return out;
  }

  /* Suggestions for a filter input, as the person types: the datalist offers names (with the kind). */
  function suggest(input) {
    const list = document.getElementById(input.getAttribute("list"));
    let timer = null, asked = "";
    input.addEventListener("input", () => {
      clearTimeout(timer);
      const text = input.value.trim();
      if (!text || text === asked) return;
      timer = setTimeout(async () => {
        asked = text;
        try {
          const data = await api("/api/v1/archive/suggestions?field=" + input.dataset.suggest + "&q=" + encodeURIComponent(text));
          if (input.value.trim() === text) clear(list, data.suggestions.map((s) => h("option", { value: s.value }, s.kind_label)));
        } catch (err) { /* no suggestions: the field still takes a name or an id */ }
      }, SUGGEST_DELAY_MS);
    });
  }

  function roomText(m) { return m.room ? "群聊 " + (roomNames[m.room] || m.room_name || m.room) : "单聊"; }

  /* Group chats the server had no name for yet: it asks WeCom (groupchat/get) and the page fills them in. */
  async function loadRoomNames(items) {
    const missing = [...new Set(items.filter((m) => m.room && !roomNames[m.room] && (!m.room_name || m.room_name === m.room)).map((m) => m.room))];
    if (!missing.length) return;
    const found = await api("/api/v1/archive/room-names?ids=" + encodeURIComponent(missing.join(","))).catch(() => ({}));
    roomNames = Object.assign({}, roomNames, found);
    for (const el of box.querySelectorAll("[data-room]")) if (found[el.dataset.room]) el.textContent = "群聊 " + found[el.dataset.room];
  }

  function meta(m) {
    return h("div", { class: "meta" },
      h("span", null, when(m.time)),
      h("span", null, m.sender_name + (m.customer && m.customer !== m.sender ? " ↔ " + m.customer_name : "")),
      h("span", { dataset: m.room ? { room: m.room } : null }, roomText(m)),
      h("span", null, (T.msgtype[m.msgtype] || m.msgtype) + (m.revoked_by ? " · 已撤回" : "")));
  }

  function bubble(m, focus, words) {
    const external = m.sender && (m.sender.startsWith("wm") || m.sender.startsWith("wo"));
    return h("div", { class: "bubble" + (external ? " external" : "") + (focus ? " focus" : ""), dataset: { msgid: m.msgid } },
      h("div", { class: "meta" }, m.sender_name, " · ", when(m.time)),
      h("div", null, highlight(m.text || "[" + (T.msgtype[m.msgtype] || m.msgtype) + "]", words)));
  }

  async function showContext(msgid, panel, words) {
    panel.hidden = false;
    message(panel, T.loading);
    try {
      const data = await api("/api/v1/archive/messages/" + encodeURIComponent(msgid) + "/context");
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
      const words = terms(p.get("q"));
      clear(box, data.total ? h("p", { class: "muted", id: "hit-total" }, `共 ${data.total} 条`) : null,
        data.hits.length ? h("ul", { class: "hits" }, data.hits.map((m) => hit(m, words))) : h("p", { class: "muted" }, T.empty),
        pager(data.page, data.per_page, data.total));
      loadRoomNames(data.hits);
    } catch (err) { failed(box, err); }
  }

  fillForm(form);
  for (const input of form.querySelectorAll("input[data-suggest]")) suggest(input);
  const direct = params().get("context");
  if (direct) {
    const panel = h("div", { class: "conversation" });
    clear(box, panel);
    showContext(direct, panel, terms(params().get("q")));
  } else {
    search();
  }
})();
