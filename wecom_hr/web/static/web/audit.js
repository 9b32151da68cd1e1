/* The audit log (/api/v1/audit): who searched, exported, approved or changed what, newest first. */
"use strict";
(function () {
  const { T, api, h, clear, failed, table, params, fillForm, when, memberNames } = window.WH;
  const box = document.getElementById("audit-list");
  const PER_PAGE = 50;

  function detail(d) {
    return Object.entries(d || {}).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join("  ");
  }

  async function show() {
    fillForm(document.getElementById("filters"));
    const p = params();
    const page = Math.max(1, parseInt(p.get("page") || "1", 10) || 1);
    const query = new URLSearchParams({ page: String(page), per_page: String(PER_PAGE) });
    for (const key of ["action", "actor"]) if (p.get(key)) query.set(key, p.get(key));
    try {
      const [data, names] = await Promise.all([api("/api/v1/audit?" + query), memberNames()]);
      const nav = h("nav", { class: "pager" });
      const link = (n, label) => { const q = params(); q.set("page", String(n)); return h("a", { href: "?" + q }, label); };
      if (page > 1) nav.append(link(page - 1, T.prev));
      if (data.entries.length === PER_PAGE) nav.append(link(page + 1, T.next));
      clear(box, data.entries.length ? table([
        { label: "时间", nowrap: true, value: (e) => when(e.at) },
        { label: "操作人", nowrap: true, value: (e) => names[e.actor] || e.actor },
        { label: "操作", value: (e) => [T.audit_action[e.action] || e.action, " ", h("small", null, e.action)] },
        { label: "详情", value: (e) => detail(e.detail) },
      ], data.entries) : h("p", { class: "muted" }, T.empty), nav);
    } catch (err) { failed(box, err); }
  }

  show();
})();
