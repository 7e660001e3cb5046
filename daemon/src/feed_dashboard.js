/* vigil dashboard: tiles per indicator, live over EventSource.
 * Plain script, no dependencies; every value from the server is written
 * with textContent, never parsed as HTML. */
(function () {
  "use strict";

  var SPARK_POINTS = 240;
  var state = {
    order: [],          // indicator ids in server order
    indicators: {},     // id -> indicator object
    history: {},        // id -> [{t, value, state}]
    breaches: [],
    open: [],
    findings: [],
    es: null,
    adminToken: null,
    connected: false,
    lastEvent: null
  };

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function fmtValue(v) {
    if (v === null || v === undefined) return "—";
    var a = Math.abs(v);
    if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
    if (Number.isInteger(v)) return String(v);
    return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  }

  function ago(iso) {
    if (!iso) return "";
    var s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 90) return Math.round(s) + "s";
    if (s < 5400) return Math.round(s / 60) + "m";
    if (s < 172800) return Math.round(s / 3600) + "h";
    return Math.round(s / 86400) + "d";
  }

  function localTime(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return d.toLocaleString([], { month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function api(path, opts) {
    opts = opts || {};
    opts.credentials = "same-origin";
    opts.cache = "no-store";
    return fetch(path, opts).then(function (r) {
      if (r.status === 401) {
        var e = new Error("unauthorized"); e.status = 401; throw e;
      }
      return r.json().then(function (j) {
        if (!r.ok) {
          var e = new Error(j && j.error ? j.error : "HTTP " + r.status);
          e.status = r.status; throw e;
        }
        return j;
      });
    });
  }

  /* ---- connection state ---- */

  function setConn(mode, text) {
    var c = $("conn");
    c.className = "conn conn-" + mode;
    c.textContent = text;
    $("banner").hidden = mode !== "down";
    document.body.setAttribute("data-connection", mode);
  }

  /* ---- tiles ---- */

  function sparkline(id, ind) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("viewBox", "0 0 100 30");
    svg.setAttribute("preserveAspectRatio", "none");
    var h = (state.history[id] || []).filter(function (p) {
      return typeof p.value === "number";
    });
    if (h.length < 2) return svg;
    var lo = Infinity, hi = -Infinity, t0 = h[0].t, t1 = h[h.length - 1].t;
    h.forEach(function (p) { lo = Math.min(lo, p.value); hi = Math.max(hi, p.value); });
    var tv = parseFloat(String(ind.target || "").replace(/^[^0-9.-]+/, ""));
    if (!isNaN(tv)) { lo = Math.min(lo, tv); hi = Math.max(hi, tv); }
    if (hi === lo) { hi += 1; lo -= 1; }
    var sx = function (t) { return t1 === t0 ? 100 : (t - t0) / (t1 - t0) * 100; };
    var sy = function (v) { return 28 - (v - lo) / (hi - lo) * 26; };
    if (!isNaN(tv)) {
      var line = document.createElementNS(ns, "line");
      line.setAttribute("class", "target");
      line.setAttribute("x1", "0"); line.setAttribute("x2", "100");
      line.setAttribute("y1", sy(tv).toFixed(2)); line.setAttribute("y2", sy(tv).toFixed(2));
      svg.appendChild(line);
    }
    var pl = document.createElementNS(ns, "polyline");
    pl.setAttribute("points", h.map(function (p) {
      return sx(p.t).toFixed(2) + "," + sy(p.value).toFixed(2);
    }).join(" "));
    svg.appendChild(pl);
    return svg;
  }

  function tile(ind) {
    var st = ind.state || "unknown";
    var t = el("article", "tile state-" + st);
    t.setAttribute("data-indicator", ind.id);
    t.setAttribute("data-state", st);
    var head = el("div", "head");
    head.appendChild(el("span", "id", ind.id));
    head.appendChild(el("span", "state", st === "no_data" ? "no data" : st));
    t.appendChild(head);
    t.appendChild(el("div", "name", ind.name));
    var v = el("div", "value", fmtValue(ind.value));
    v.appendChild(el("span", "unit", ind.unit));
    t.appendChild(v);
    t.appendChild(el("div", "meta", "target " + ind.target + " · owner " + ind.owner));
    if (ind.since)
      t.appendChild(el("div", "meta", st + " for " + ago(ind.since) +
                       " (since " + localTime(ind.since) + ")"));
    if (ind.pending)
      t.appendChild(el("div", "note", "pending " + ind.pending.state +
                       " since " + localTime(ind.pending.since)));
    if (ind.recovering)
      t.appendChild(el("div", "note", "recovering to " + ind.recovering.state +
                       " since " + localTime(ind.recovering.since)));
    t.appendChild(sparkline(ind.id, ind));
    if (ind.top && ind.top.length) {
      var ul = el("ul", "top");
      ind.top.slice(0, 5).forEach(function (o) {
        var li = el("li");
        li.appendChild(el("span", "key", o.key));
        li.appendChild(el("span", "count", fmtValue(o.count)));
        ul.appendChild(li);
      });
      t.appendChild(ul);
    }
    return t;
  }

  function groupKey(ind) { return ind.kind + " · " + ind.entity; }

  function renderTiles() {
    var groups = {}, keys = [];
    state.order.forEach(function (id) {
      var ind = state.indicators[id], k = groupKey(ind);
      if (!groups[k]) { groups[k] = []; keys.push(k); }
      groups[k].push(ind);
    });
    keys.sort();
    var root = $("groups");
    var frag = document.createDocumentFragment();
    keys.forEach(function (k) {
      var g = el("section", "group");
      g.appendChild(el("h2", null, k));
      var tiles = el("div", "tiles");
      groups[k].forEach(function (ind) { tiles.appendChild(tile(ind)); });
      g.appendChild(tiles);
      frag.appendChild(g);
    });
    root.replaceChildren(frag);
    renderSummary();
  }

  function updateTile(id) {
    var old = document.querySelector('.tile[data-indicator="' + CSS.escape(id) + '"]');
    if (!old) { renderTiles(); return; }
    old.replaceWith(tile(state.indicators[id]));
    renderSummary();
  }

  function renderSummary() {
    var counts = { breach: 0, warn: 0, ok: 0, no_data: 0 };
    state.order.forEach(function (id) {
      var s = state.indicators[id].state;
      if (counts[s] !== undefined) counts[s]++;
    });
    var root = $("summary");
    root.replaceChildren();
    [["breach", "breach"], ["warn", "warn"], ["ok", "ok"], ["no_data", "no data"]]
      .forEach(function (p) {
        var c = el("span", "count tile state-" + p[0], counts[p[0]] + " " + p[1]);
        c.className = "count";
        c.classList.add("count-" + p[0]);
        root.appendChild(c);
      });
  }

  /* ---- breaches and findings ---- */

  function breachText(b) {
    return (b.indicator || "?") + (b.name ? " " + b.name : "") + ": " +
      (b.previous || "?") + " → " + (b.state || "?") +
      (b.value !== null && b.value !== undefined ? " (" + fmtValue(b.value) + ")" : "");
  }

  function renderBreaches() {
    var open = $("open-breaches");
    open.replaceChildren();
    if (!state.open.length) open.appendChild(el("li", "empty", "No open breaches"));
    state.open.forEach(function (b) {
      var li = el("li");
      li.setAttribute("data-breach", b.indicator);
      var txt = el("span", null, b.indicator + " " + (b.name || "") +
                   " · since " + localTime(b.since));
      li.appendChild(txt);
      var ackId = b.dedup || b.id;
      if (ackId) {
        var btn = el("button", "ack", "Ack");
        btn.addEventListener("click", function () { askAck(ackId, b.indicator); });
        li.appendChild(btn);
      }
      open.appendChild(li);
    });
    var list = $("breaches");
    list.replaceChildren();
    if (!state.breaches.length) list.appendChild(el("li", "empty", "None yet"));
    state.breaches.slice(0, 25).forEach(function (b) {
      var li = el("li", "ev-" + (b.event || "changed"));
      li.appendChild(el("div", null, breachText(b)));
      li.appendChild(el("div", "when", (b.event || "") + " · " + localTime(b.at || b.since)));
      list.appendChild(li);
    });
  }

  /* Fields every finding has; the rest (captures, counted fields,
   * host.name) say who and what. */
  var FINDING_FIXED = ["id", "at", "recorded", "rule", "title", "severity",
                       "tags", "topic", "partition", "offset", "file", "line"];

  function renderFindings() {
    var list = $("findings");
    list.replaceChildren();
    if (!state.findings.length) list.appendChild(el("li", "empty", "None recorded"));
    state.findings.slice(0, 20).forEach(function (f) {
      var li = el("li", "sev-" + (f.severity || "info"));
      li.setAttribute("data-rule", f.rule || "");
      var parts = [];
      Object.keys(f).forEach(function (k) {
        if (FINDING_FIXED.indexOf(k) < 0 && parts.length < 4) parts.push(k + "=" + f[k]);
      });
      li.appendChild(el("div", null, (f.severity ? f.severity + " · " : "") +
                        (f.title || f.rule || "?")));
      if (parts.length) li.appendChild(el("div", "when", parts.join(" ")));
      li.appendChild(el("div", "when", (f.rule || "") + " · " + localTime(f.at)));
      list.appendChild(li);
    });
  }

  function loadBreaches() {
    return api("/api/v1/breaches?limit=50").then(function (j) {
      state.breaches = j.breaches || [];
      state.open = j.open || [];
      renderBreaches();
    }).catch(function () {});
  }

  function loadFindings() {
    return api("/api/v1/findings?limit=20").then(function (j) {
      state.findings = j.findings || [];
      renderFindings();
    }).catch(function () {});
  }

  /* ---- acks ---- */

  function askAck(id, indicator) {
    var d = $("ack-dialog");
    d.setAttribute("data-id", id);
    $("ack-what").textContent = indicator;
    $("ack-error").textContent = "";
    $("ack-token").value = state.adminToken || "";
    if (typeof d.showModal === "function") d.showModal(); else d.setAttribute("open", "");
  }

  function sendAck(ev) {
    ev.preventDefault();
    var d = $("ack-dialog"), id = d.getAttribute("data-id");
    var token = $("ack-token").value.trim();
    if (!token) { $("ack-error").textContent = "The admin token is needed."; return; }
    api("/api/v1/breaches/" + encodeURIComponent(id) + "/ack", {
      method: "POST",
      headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
      body: JSON.stringify({ author: $("ack-author").value || "dashboard",
                             comment: $("ack-comment").value || "" })
    }).then(function () {
      state.adminToken = token;
      d.close();
      loadBreaches();
    }).catch(function (e) {
      if (e.status === 401) state.adminToken = null;
      $("ack-error").textContent = e.status === 401 ? "Wrong admin token." : e.message;
    });
  }

  /* ---- live stream ---- */

  function onIndicator(m) {
    var u = JSON.parse(m.data);
    var cur = state.indicators[u.id];
    if (!cur) { state.indicators[u.id] = u; state.order.push(u.id); }
    else {
      if (u.replayed && u.since === null) {
        // Replayed from a history entry of an older vigil: it knows value
        // and state only.
        if (u.state !== cur.state) u.since = u.evaluated_at; else u.since = cur.since;
        u.top = cur.top; u.pending = cur.pending; u.recovering = cur.recovering;
      }
      state.indicators[u.id] = u;
    }
    var h = state.history[u.id] || (state.history[u.id] = []);
    var t = Date.parse(u.evaluated_at);
    if (!isNaN(t) && (!h.length || h[h.length - 1].t < t)) {
      h.push({ t: t, value: u.value, state: u.state });
      if (h.length > SPARK_POINTS) h.splice(0, h.length - SPARK_POINTS);
    }
    updateTile(u.id);
    state.lastEvent = Date.now();
  }

  function onBreach(m) {
    var b = JSON.parse(m.data);
    if (!state.breaches.some(function (x) { return x.id && x.id === b.id && x.indicator === b.indicator; }))
      state.breaches.unshift(b);
    renderBreaches();
    loadBreaches();
  }

  function connect() {
    if (state.es) state.es.close();
    setConn("wait", "connecting");
    var es = new EventSource("/api/v1/stream");
    state.es = es;
    es.addEventListener("open", function () { setConn("live", "live"); });
    es.addEventListener("indicator", onIndicator);
    es.addEventListener("breach", onBreach);
    es.addEventListener("reset", function () { loadAll(false); });
    es.addEventListener("error", function () {
      setConn("down", "disconnected");
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. 401 after the session expired).
        setTimeout(function () { loadAll(true); }, 5000);
      }
    });
  }

  /* ---- loading and login ---- */

  function loadHistory(id) {
    return api("/api/v1/indicators/" + encodeURIComponent(id) +
               "/history?from=-6h&limit=" + SPARK_POINTS).then(function (j) {
      state.history[id] = j.samples || [];
      updateTile(id);
    }).catch(function () {});
  }

  function loadAll(reconnect) {
    return api("/api/v1/indicators").then(function (j) {
      $("login").hidden = true;
      $("main").hidden = false;
      state.order = [];
      state.indicators = {};
      (j.indicators || []).forEach(function (ind) {
        state.order.push(ind.id);
        state.indicators[ind.id] = ind;
      });
      renderTiles();
      if (reconnect) connect();
      state.order.forEach(loadHistory);
      loadBreaches();
      loadFindings();
    }).catch(function (e) {
      if (e.status === 401) {
        if (state.es) state.es.close();
        state.es = null;
        setConn("down", "signed out");
        $("banner").hidden = true;
        $("main").hidden = true;
        $("login").hidden = false;
        $("login-token").focus();
      } else {
        setConn("down", "disconnected");
        setTimeout(function () { loadAll(reconnect); }, 5000);
      }
    });
  }

  function login(ev) {
    ev.preventDefault();
    var token = $("login-token").value.trim();
    $("login-error").textContent = "";
    api("/api/v1/session", { method: "POST",
      headers: { "Authorization": "Bearer " + token } })
      .then(function () { $("login-token").value = ""; loadAll(true); })
      .catch(function (e) {
        $("login-error").textContent = e.status === 401 ? "That token is not valid." : e.message;
      });
  }

  function tick() {
    $("clock").textContent = new Date().toLocaleTimeString();
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("login").addEventListener("submit", login);
    $("ack-form").addEventListener("submit", sendAck);
    $("ack-cancel").addEventListener("click", function () { $("ack-dialog").close(); });
    tick();
    setInterval(tick, 1000);
    setInterval(loadFindings, 30000);
    // Relative times ("breach for 5m") age even without events.
    setInterval(function () { if (state.order.length) renderTiles(); }, 30000);
    loadAll(true);
  });
})();
