/* wecom-hr console: shared helpers for the page scripts. Plain browser JavaScript, no build step.
 * Text always goes into the page through textContent (never innerHTML), so archived messages and
 * customer names cannot inject markup. Every non-GET request carries the session's CSRF token. */
"use strict";
(function () {
  const textsNode = document.getElementById("ui-texts");
  const T = textsNode ? JSON.parse(textsNode.textContent) : {};
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  /* code: the API's stable English code; message: its Chinese explanation (wecom_hr/api/messages.py). */
  class ApiError extends Error {
    constructor(status, message, code) { super(message); this.status = status; this.code = code || ""; }
  }

  async function api(path, options) {
    const opts = Object.assign({ method: "GET", credentials: "same-origin" }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    if (opts.method !== "GET") opts.headers["X-CSRF-Token"] = csrf;
    if (opts.json !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    const res = await fetch(path, opts);
    if (res.status === 401) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      throw new ApiError(401, T.error);
    }
    const type = res.headers.get("Content-Type") || "";
    const body = type.includes("json") ? await res.json() : await res.text();
    if (!res.ok) {
      const said = body && typeof body === "object" ? body : {};
      throw new ApiError(res.status, said.message || said.error || T.error, said.code);
    }
    return body;
  }

  /* h("td", {class: "num", dataset: {label: "金额"}}, "¥1.00", child) */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "dataset") Object.assign(el.dataset, value);
      else if (key === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
      else if (key === "class") el.className = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function clear(el, ...children) { el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined)); }

  function message(el, text, isError) { clear(el, h("p", { class: isError ? "message error" : "message" }, text)); }

  function failed(el, err) {
    const generic = err.status === 403 ? T.forbidden : err.status === 404 ? T.not_found : T.error;
    const text = (err.code && err.message) || generic;
    message(el, text, true);
  }

  /* A list table: columns [{label, value(row) -> text|Node, num, nowrap}] */
  function table(columns, rows) {
    const cls = (c) => [c.num ? "num" : "", c.nowrap ? "nowrap" : ""].join(" ").trim() || null;
    const head = h("tr", null, columns.map((c) => h("th", { class: cls(c) }, c.label)));
    const body = rows.map((row) => h("tr", null, columns.map((c) =>
      h("td", { class: cls(c), dataset: { label: c.label } }, c.value(row)))));
    return h("table", { class: "list" }, h("thead", null, head), h("tbody", null, body));
  }

  function params() { return new URLSearchParams(location.search); }

  /* Fill a GET filter form from the address bar, so a reload or a shared link shows the same list. */
  function fillForm(form) {
    const p = params();
    for (const el of form.elements) if (el.name && p.has(el.name)) el.value = p.get(el.name);
  }

  /* Nothing when the list is empty (the list says 没有记录 itself); a page past the last one is
   * replaced by the last page, so an old link or a shrunken list never shows "第 99 / 1 页". */
  function pager(page, perPage, total) {
    if (!total) return null;
    const pages = Math.max(1, Math.ceil(total / perPage));
    const href = (n) => { const p = params(); p.set("page", String(n)); return "?" + p.toString(); };
    if (page > pages) { location.replace(href(pages)); page = pages; }
    const link = (n, label) => h("a", { href: href(n) }, label);
    const info = T.page.replace("{page}", page).replace("{pages}", pages).replace("{total}", total);
    return h("nav", { class: "pager" }, page > 1 ? link(page - 1, T.prev) : null, h("span", null, info),
      page < pages ? link(page + 1, T.next) : null);
  }

  function status(kind, value) {
    return h("span", { class: "status " + value }, (T[kind] && T[kind][value]) || value);
  }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function money(amount, currency) {
    const n = Number(amount || 0).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return (!currency || currency === "CNY") ? "¥" + n : currency + " " + n;
  }

  /* The archive API sends snippets as escaped HTML with <mark> around hits. Only those two tags are
   * honoured; everything else becomes text, so a broken snippet can never become markup. */
  const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };
  function unescapeHtml(s) { return s.replace(/&(amp|lt|gt|quot|#x27|#39);/g, (m) => ENTITIES[m]); }
  function marked(snippet) {
    const out = [];
    const parts = String(snippet || "").split(/(<mark>|<\/mark>)/);
    let inMark = false;
    for (const part of parts) {
      if (part === "<mark>") { inMark = true; continue; }
      if (part === "</mark>") { inMark = false; continue; }
      if (!part) continue;
      const text = unescapeHtml(part);
      out.push(inMark ? h("mark", null, text) : document.createTextNode(text));
    }
    return out;
  }

  /* Highlight terms in plain text (conversation context), again only through text nodes. */
  function highlight(text, terms) {
    const wanted = (terms || []).filter(Boolean).map((t) => t.toLowerCase());
    if (!wanted.length) return [document.createTextNode(text || "")];
    const lower = (text || "").toLowerCase();
    const out = [];
    let pos = 0;
    while (pos < lower.length) {
      let best = -1, len = 0;
      for (const t of wanted) {
        const at = lower.indexOf(t, pos);
        if (at >= 0 && (best < 0 || at < best || (at === best && t.length > len))) { best = at; len = t.length; }
      }
      if (best < 0) break;
      if (best > pos) out.push(document.createTextNode(text.slice(pos, best)));
      out.push(h("mark", null, text.slice(best, best + len)));
      pos = best + len;
    }
    if (pos < (text || "").length) out.push(document.createTextNode(text.slice(pos)));
    return out;
  }

  let namesPromise = null;
  function memberNames() {
    if (!namesPromise) namesPromise = api("/console/api/members").catch(() => ({}));
    return namesPromise;
  }

  window.WH = { T, api, ApiError, h, clear, message, failed, table, params, fillForm, pager, status, when, money,
    marked, highlight, memberNames };
})();
