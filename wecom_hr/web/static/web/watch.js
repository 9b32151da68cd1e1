/* Watch-lists: recent hits (/api/v1/archive/watch-hits), the rules, adding and deleting API rules. */
"use strict";
(function () {
  const { T, api, h, clear, message, failed, table, when, memberNames } = window.WH;
  const hitsBox = document.getElementById("watch-hits");
  const rulesBox = document.getElementById("watch-rules");
  const form = document.getElementById("new-rule");
  const formMessage = document.getElementById("new-rule-message");
  const severity = (s) => h("span", { class: "status " + s }, T.severity[s] || s);

  async function showHits() {
    try {
      const [data, names] = await Promise.all([api("/api/v1/archive/watch-hits?days=7"), memberNames()]);
      if (!data.hits.length) { clear(hitsBox, h("p", { class: "muted" }, T.empty)); return; }
      clear(hitsBox, table([
        { label: "时间", nowrap: true, value: (x) => when(x.time) },
        { label: "规则", value: (x) => x.rule.replace(/^(default|config|api):/, "") },
        { label: "级别", nowrap: true, value: (x) => severity(x.severity) },
        { label: "发送人", value: (x) => names[x.sender] || x.sender },
        { label: "内容", value: (x) => x.snippet },
        { label: T.context, value: (x) => h("a", { href: "/console/archive?context=" + encodeURIComponent(x.msgid) }, T.context) },
      ], data.hits));
    } catch (err) { failed(hitsBox, err); }
  }

  async function remove(rule) {
    if (!window.confirm(`删除规则「${rule.name}」？`)) return;
    try {
      await api(`/api/v1/archive/watch-rules/${rule.id}`, { method: "DELETE" });
      showRules();
    } catch (err) { failed(rulesBox, err); }
  }

  async function showRules() {
    try {
      const data = await api("/api/v1/archive/watch-rules");
      clear(rulesBox, table([
        { label: "名称", value: (r) => r.name },
        { label: "关键词", value: (r) => [...r.keywords, ...r.regexes.map((x) => "/" + x + "/")].join("、") },
        { label: "范围", nowrap: true, value: (r) => (r.members.length || r.departments.length)
          ? [...r.members, ...r.departments.map((d) => "部门 " + d)].join("、") : "全员" },
        { label: "级别", nowrap: true, value: (r) => severity(r.severity) },
        { label: "来源", nowrap: true, value: (r) => ({ default: "内置", config: "配置文件", api: "页面/接口" }[r.source] || r.source)
          + (r.enabled ? "" : "（停用）") },
        { label: "", nowrap: true, value: (r) => r.source === "api"
          ? h("button", { type: "button", class: "link", on: { click: () => remove(r) } }, "删除") : "" },
      ], data.rules));
    } catch (err) { failed(rulesBox, err); }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const keywords = form.keywords.value.split(/\n/).map((k) => k.trim()).filter(Boolean);
    try {
      await api("/api/v1/archive/watch-rules", { method: "POST",
        json: { name: form.name.value.trim(), keywords, severity: form.severity.value } });
      form.reset();
      message(formMessage, T.saved);
      showRules();
    } catch (err) { message(formMessage, err.message, true); }
  });

  showHits();
  showRules();
})();
