// app.js — the LeadOps live operations page: reads snapshots from the
// reporting API and draws them as plain SVG (no library, no network but
// this service).
//
// Live data: GET /v1/stream, Server-Sent Events read through fetch() so
// that a bearer token can travel as a header (EventSource cannot send
// one); one "snapshot" event a second. When the stream fails the page polls
// GET /v1/snapshot every second and tries the stream again every 10 s.
// Slower figures: GET /v1/ops (services up or down, hop lag) every 5 s,
// GET /v1/kpi/reps (leaderboard) every 30 s and GET /v1/plan (forecast
// against capacity) every 60 s; a 404 from any (an older server) leaves a
// note in place of the chart.
//
// Token: /dashboard?token=T sends "Authorization: Bearer T" on every call;
// the token is kept in sessionStorage for the tab and removed from the
// address bar. Figures carry stable ids (stat-assigned, ...) and data-value
// attributes with the raw numbers, for tests and scrapers.
'use strict';

(function () {
  const STREAM_RETRY_MS = 10000;
  const STALL_MS = 5000; // no event for this long: the stream is dead
  const POLL_MS = 1000;
  const HISTORY_MS = 10 * 60 * 1000; // the time series keeps ten minutes
  const RATE_WINDOW_MS = 10000; // rates are taken over the last ten seconds
  const OPS_EVERY_MS = 5000;
  const KPI_EVERY_MS = 30000;
  const PLAN_EVERY_MS = 60000;
  const SVG = 'http://www.w3.org/2000/svg';
  const PALETTE = ['#f59e0b', '#ef4444', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16',
    '#6366f1', '#14b8a6', '#f97316', '#64748b'];

  // ---- token and API -------------------------------------------------------

  const params = new URLSearchParams(location.search);
  let token = '';
  try {
    token = params.get('token') || sessionStorage.getItem('leadops-token') || '';
    if (params.has('token')) {
      sessionStorage.setItem('leadops-token', token);
      params.delete('token');
      const rest = params.toString();
      history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
    }
  } catch (e) {
    token = params.get('token') || '';
  }

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    if (token) h.Authorization = 'Bearer ' + token;
    return h;
  }

  // Resolves to {status, body} (body: parsed JSON or null); never rejects.
  async function api(path) {
    try {
      const res = await fetch(path, {headers: headers({Accept: 'application/json'}), cache: 'no-store'});
      let body = null;
      try { body = await res.json(); } catch (e) { body = null; }
      if (res.status === 401) unauthorized();
      return {status: res.status, body: body};
    } catch (e) {
      return {status: 0, body: null};
    }
  }

  // ---- small DOM and SVG helpers ---------------------------------------------

  const $ = (id) => document.getElementById(id);

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function html(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function replace(container, ...nodes) {
    container.replaceChildren(...nodes);
  }

  function note(text) {
    return html('div', {class: 'note'}, text);
  }

  function width(container) {
    return Math.max(260, container.clientWidth || 400);
  }

  const num = (n) => (n === null || n === undefined || Number.isNaN(n)) ? '–'
    : Number(n).toLocaleString('en-US', {maximumFractionDigits: 0});

  function money(v) {
    if (v === null || v === undefined) return '–';
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (Math.abs(v) >= 1e4) return Math.round(v / 1e3) + 'k';
    return num(v);
  }

  function duration(ms) {
    if (ms === null || ms === undefined || Number.isNaN(ms)) return '–';
    if (ms < 10) return (Math.round(ms * 10) / 10) + ' ms';
    if (ms < 1000) return Math.round(ms) + ' ms';
    const s = ms / 1000;
    if (s < 60) return (s < 10 ? s.toFixed(1) : Math.round(s)) + ' s';
    const m = s / 60;
    if (m < 60) return Math.floor(m) + 'm ' + Math.round(s % 60) + 's';
    const h = m / 60;
    if (h < 48) return Math.floor(h) + 'h ' + Math.round(m % 60) + 'm';
    return (h / 24).toFixed(1) + ' d';
  }

  function setFigure(id, value, text) {
    const node = $(id);
    if (!node) return;
    node.textContent = text !== undefined ? text : num(value);
    node.dataset.value = value === null || value === undefined ? '' : String(value);
  }

  // A "nice" upper bound for an axis from the data's maximum.
  function niceMax(max) {
    if (!(max > 0)) return 1;
    const step = Math.pow(10, Math.floor(Math.log10(max)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= max) return m * step;
    return 10 * step;
  }

  const colorOf = (() => {
    const given = new Map();
    return (key) => {
      if (!given.has(key)) given.set(key, PALETTE[given.size % PALETTE.length]);
      return given.get(key);
    };
  })();

  // ---- connection state ----------------------------------------------------

  let updates = 0;
  let last = null; // the last snapshot
  const history_ = []; // [{t, ingested, activities, qualified, assigned, waiting}]

  function setState(state, text) {
    const badge = $('conn-state');
    badge.dataset.state = state;
    badge.textContent = text || state;
  }

  function banner(text) {
    const node = $('banner');
    node.hidden = !text;
    node.textContent = text || '';
  }

  function unauthorized() {
    setState('unauthorized', 'token needed');
    banner(token
      ? 'The API refused this token (401). Open the page as /dashboard?token=A_VALID_TOKEN.'
      : 'This LeadOps API needs a bearer token (security.http_tokens). ' +
        'Open the page as /dashboard?token=YOUR_TOKEN.');
  }

  // ---- snapshots -------------------------------------------------------------

  function onSnapshot(snap) {
    if (!snap || !snap.summary) return;
    last = snap;
    updates++;
    const s = snap.summary;
    history_.push({t: snap.at_ms, ingested: s.ingested_leads, activities: s.ingested_activities,
      qualified: s.qualified, assigned: s.assigned, waiting: s.waiting});
    while (history_.length > 2 && history_[0].t < snap.at_ms - HISTORY_MS) history_.shift();
    const counter = $('live-updates');
    counter.dataset.count = String(updates);
    counter.textContent = updates + (updates === 1 ? ' update' : ' updates');
    $('updated-at').textContent = 'updated ' + new Date(snap.at_ms).toLocaleTimeString('en-GB');
    banner('');
    redraw();
  }

  function redraw() {
    const snap = last;
    if (!snap) return;
    const s = snap.summary;
    drawTiles(snap);
    drawFlow();
    drawStl(s.speed_to_lead_ms || {});
    drawQueues(snap.queues || []);
    drawReps(snap.reps || []);
    drawCounters(s);
    if (!leadersFromKpi) drawLeaders(null);
  }

  // The rate per minute of FIELD over the last RATE_WINDOW_MS of history.
  function ratePerMinute(field) {
    if (history_.length < 2) return null;
    const end = history_[history_.length - 1];
    let start = history_[0];
    for (const p of history_) if (p.t >= end.t - RATE_WINDOW_MS) { start = p; break; }
    if (start === end) start = history_[history_.length - 2];
    const dt = end.t - start.t;
    return dt > 0 ? (end[field] - start[field]) * 60000 / dt : null;
  }

  function drawTiles(snap) {
    const s = snap.summary;
    setFigure('stat-ingested', s.ingested_leads);
    setFigure('stat-activities', s.ingested_activities);
    setFigure('stat-qualified', s.qualified);
    setFigure('stat-assigned', s.assigned);
    setFigure('stat-waiting', s.waiting);
    setFigure('stat-rejected', s.rejected);
    for (const [id, field] of [['rate-ingested', 'ingested'], ['rate-activities', 'activities'],
      ['rate-qualified', 'qualified'], ['rate-assigned', 'assigned']]) {
      const r = ratePerMinute(field);
      $(id).textContent = r === null ? '\u00a0' : num(r) + ' / min over 10 s';
    }
    const oldest = Math.max(0, ...(snap.queues || []).map((q) => q.oldest_wait_ms || 0));
    $('stat-oldest').textContent = oldest > 0 ? 'oldest waits ' + duration(oldest) : 'nobody waits';
    $('stat-duplicates').textContent = num(s.duplicates) + ' duplicates';
    const stl = s.speed_to_lead_ms || {};
    setFigure('stat-stl-p50', stl.p50, duration(stl.p50));
    setFigure('stat-stl-p90', stl.p90, duration(stl.p90));
    $('stat-stl-count').textContent = num(stl.count) + ' first assignments';
    $('stat-stl-p99').textContent = 'p99 ' + duration(stl.p99);
  }

  // ---- intake and assignments over time ------------------------------------

  const FLOW_SERIES = [
    {field: 'ingested', name: 'leads in', color: 'var(--intake)'},
    {field: 'qualified', name: 'qualified', color: 'var(--qualified)'},
    {field: 'assigned', name: 'assigned', color: 'var(--assigned)'},
  ];

  // Per-minute rates between consecutive snapshots, smoothed over 3 points.
  function flowPoints(field) {
    const out = [];
    for (let i = 1; i < history_.length; i++) {
      const a = history_[i - 1], b = history_[i];
      const dt = b.t - a.t;
      if (dt <= 0) continue;
      out.push({t: b.t, v: Math.max(0, (b[field] - a[field]) * 60000 / dt)});
    }
    return out.map((p, i) => {
      const around = out.slice(Math.max(0, i - 1), i + 2);
      return {t: p.t, v: around.reduce((sum, q) => sum + q.v, 0) / around.length};
    });
  }

  function drawFlow() {
    const box = $('chart-flow');
    const W = width(box), H = 196, L = 46, R = 12, T = 10, B = 24;
    const root = svg('svg', {viewBox: `0 0 ${W} ${H}`, height: H, role: 'img',
      'aria-label': 'leads in, qualified and assigned per minute'});
    const series = FLOW_SERIES.map((s) => Object.assign({points: flowPoints(s.field)}, s));
    const now = history_.length ? history_[history_.length - 1].t : Date.now();
    const first = history_.length ? history_[0].t : now;
    const span = Math.max(60000, now - first);
    const ymax = niceMax(Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.v))));
    const x = (t) => L + (W - L - R) * (1 - (now - t) / span);
    const y = (v) => T + (H - T - B) * (1 - v / ymax);
    for (let i = 0; i <= 4; i++) {
      const v = ymax * i / 4;
      root.append(svg('line', {x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: 'var(--grid)'}));
      root.append(svg('text', {x: L - 6, y: y(v) + 4, 'text-anchor': 'end'}, num(v)));
    }
    for (let i = 0; i <= 4; i++) {
      const t = now - span * i / 4;
      const ago = (now - t) / 1000;
      const label = i === 0 ? 'now' : ago >= 60 ? '-' + Math.round(ago / 60) + ' min' : '-' + Math.round(ago) + ' s';
      root.append(svg('text', {x: x(t), y: H - 6, 'text-anchor': i === 0 ? 'end' : 'middle'}, label));
    }
    for (const s of series) {
      if (!s.points.length) continue;
      const pts = s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
      if (s.field === 'ingested') {
        const area = `${x(s.points[0].t).toFixed(1)},${y(0)} ${pts.join(' ')} ${x(s.points[s.points.length - 1].t).toFixed(1)},${y(0)}`;
        root.append(svg('polygon', {points: area, fill: s.color, opacity: 0.12}));
      }
      root.append(svg('polyline', {points: pts.join(' '), fill: 'none', stroke: s.color,
        'stroke-width': 2.2, 'stroke-linejoin': 'round', 'data-series': s.field,
        'data-points': s.points.length}));
    }
    if (series.every((s) => !s.points.length))
      root.append(svg('text', {x: W / 2, y: H / 2, 'text-anchor': 'middle'}, 'waiting for the second snapshot…'));
    const legend = html('div', {class: 'legend'});
    for (const s of series) {
      const item = html('span');
      const swatch = html('i');
      swatch.style.background = s.color;
      item.append(swatch, `${s.name} ${num(ratePerMinute(s.field))}/min`);
      legend.append(item);
    }
    $('flow-window').textContent = 'per minute, last ' + (span >= 120000 ? Math.round(span / 60000) + ' minutes' : Math.round(span / 1000) + ' seconds');
    replace(box, root, legend);
  }

  // ---- speed to lead ---------------------------------------------------------

  function drawStl(stl) {
    const box = $('chart-stl');
    if (!stl.count) {
      replace(box, note('No lead assigned yet.'));
      return;
    }
    const rows = [['p50', stl.p50], ['p90', stl.p90], ['p99', stl.p99], ['mean', stl.mean]];
    const W = width(box), row = 40, H = rows.length * row + 8, L = 44, R = 70;
    const max = Math.max(...rows.map((r) => r[1] || 0), 1);
    const root = svg('svg', {viewBox: `0 0 ${W} ${H}`, height: H, role: 'img', 'aria-label': 'speed to lead percentiles'});
    rows.forEach(([name, ms], i) => {
      const y = 6 + i * row;
      const w = Math.max(2, (W - L - R) * (ms || 0) / max);
      root.append(svg('text', {x: 0, y: y + 20, class: 'label'}, name));
      root.append(svg('rect', {x: L, y: y + 6, width: W - L - R, height: 20, rx: 4, fill: 'var(--grid)'}));
      root.append(svg('rect', {class: 'bar', x: L, y: y + 6, width: w, height: 20, rx: 4,
        fill: name === 'p99' ? '#f59e0b' : name === 'mean' ? '#94a3b8' : 'var(--assigned)',
        'data-value': ms}));
      root.append(svg('text', {x: W - R + 8, y: y + 21, class: 'value'}, duration(ms)));
    });
    const caption = html('div', {class: 'legend'}, `${num(stl.count)} first assignments; percentiles from the routing histogram`);
    replace(box, root, caption);
  }

  // ---- queues --------------------------------------------------------------

  function drawQueues(queues) {
    const box = $('chart-queues');
    if (!queues.length) {
      replace(box, note('No queue configured.'));
      return;
    }
    const W = width(box) - 8, row = 50, H = queues.length * row + 4, L = 92, R = 44;
    const max = niceMax(Math.max(10, ...queues.map((q) => q.waiting || 0)));
    const root = svg('svg', {viewBox: `0 0 ${W} ${H}`, height: H, role: 'img', 'aria-label': 'queue depth by waiting reason'});
    const reasons = new Set();
    queues.forEach((q, i) => {
      const y = 2 + i * row;
      root.append(svg('text', {x: 0, y: y + 17, class: 'label'}, q.name));
      root.append(svg('rect', {x: L, y: y + 4, width: W - L - R, height: 18, rx: 4, fill: 'var(--grid)'}));
      let at = L;
      const sampled = q.reasons_sampled || 0;
      for (const r of q.waiting_reasons || []) {
        // Reasons are counted over the first leads only: scale to the depth.
        const leads = sampled ? r.leads * (q.waiting || 0) / sampled : 0;
        const w = (W - L - R) * leads / max;
        if (w <= 0) continue;
        reasons.add(r.reason);
        const rect = svg('rect', {class: 'bar', x: at, y: y + 4, width: w, height: 18,
          fill: colorOf(r.reason), 'data-queue': q.name, 'data-reason': r.reason, 'data-value': r.leads});
        rect.append(svg('title', {}, `${q.name}: ${r.reason} (${r.leads} of the first ${sampled})`));
        root.append(rect);
        at += w;
      }
      root.append(svg('text', {x: W - R + 6, y: y + 18, class: 'value', id: 'queue-depth-' + q.name,
        'data-value': q.waiting}, num(q.waiting)));
      const sub = `${q.reps_online}/${q.reps} reps online · ${num(q.free_capacity)} free` +
        (q.oldest_wait_ms > 0 ? ` · oldest ${duration(q.oldest_wait_ms)}` : '');
      root.append(svg('text', {x: L, y: y + 38}, q.waiting ? sub : 'nobody waiting · ' + sub));
    });
    const legend = html('div', {class: 'legend'});
    for (const reason of reasons) {
      const item = html('span');
      const swatch = html('i');
      swatch.style.background = colorOf(reason);
      item.append(swatch, reason);
      legend.append(item);
    }
    replace(box, root, legend);
  }

  // ---- reps ------------------------------------------------------------------

  function drawReps(reps) {
    const box = $('chart-reps');
    if (!reps.length) {
      replace(box, note('No rep configured.'));
      return;
    }
    const sorted = reps.slice().sort((a, b) => (b.utilization || 0) - (a.utilization || 0) || a.id.localeCompare(b.id));
    const W = width(box) - 8, row = 30, H = sorted.length * row + 4, L = 118, R = 56;
    const root = svg('svg', {viewBox: `0 0 ${W} ${H}`, height: H, role: 'img', 'aria-label': 'rep utilization'});
    sorted.forEach((rep, i) => {
      const y = 2 + i * row;
      const u = Math.min(1, rep.utilization || 0);
      const dot = rep.status === 'online' ? 'var(--assigned)' : rep.status === 'away' ? 'var(--waiting)' : '#9aa3b5';
      root.append(svg('circle', {cx: 5, cy: y + 13, r: 4, fill: dot}, undefined));
      const name = svg('text', {x: 14, y: y + 17, class: 'label'}, (rep.name || rep.id).slice(0, 16));
      name.append(svg('title', {}, `${rep.id} (${rep.status})`));
      root.append(name);
      root.append(svg('rect', {x: L, y: y + 5, width: W - L - R, height: 16, rx: 4, fill: 'var(--grid)'}));
      root.append(svg('rect', {class: 'fill', x: L, y: y + 5, width: Math.max(rep.open ? 2 : 0, (W - L - R) * u), height: 16, rx: 4,
        fill: u >= 0.9 ? 'var(--danger)' : u >= 0.7 ? 'var(--waiting)' : 'var(--intake)',
        'data-rep': rep.id, 'data-value': rep.open}));
      root.append(svg('text', {x: W - R + 6, y: y + 17, class: 'value'}, `${rep.open}/${rep.capacity}`));
    });
    const legend = html('div', {class: 'legend'});
    for (const [color, text] of [['var(--assigned)', 'online'], ['var(--waiting)', 'away'], ['#9aa3b5', 'offline']]) {
      const item = html('span');
      const swatch = html('i');
      swatch.style.background = color;
      swatch.style.borderRadius = '50%';
      item.append(swatch, text);
      legend.append(item);
    }
    replace(box, root, legend);
  }

  // ---- leaderboard -----------------------------------------------------------

  let leadersFromKpi = false;
  let kpiNote = '';
  let leadersNote = '';

  async function refreshLeaders() {
    const {status, body} = await api('/v1/kpi/reps?period=30d');
    const board = status === 200 && body && Array.isArray(body.leaderboard) ? body.leaderboard : [];
    if (board.length) {
      leadersFromKpi = true;
      drawLeaders(board);
      return;
    }
    leadersFromKpi = false;
    kpiNote = status === 200 ? 'no deal closed in the last 30 days'
      : status === 404 ? 'rep KPIs not served here (GET /v1/kpi/reps: 404)'
      : status ? `GET /v1/kpi/reps: ${status}` : 'GET /v1/kpi/reps failed';
    drawLeaders(null);
  }

  // BOARD: the KPI leaderboard, or null for live assignments instead.
  function drawLeaders(board) {
    const box = $('chart-leaders');
    let rows, caption;
    if (board) {
      rows = board.slice(0, 10).map((r) => ({id: r.rep, name: r.name || r.rep, value: r.won_value || 0,
        text: money(r.won_value), sub: `${num(r.won)} won` + (r.win_rate !== null && r.win_rate !== undefined ? ` · ${Math.round(r.win_rate * 100)}%` : '')}));
      caption = 'won revenue, last 30 days';
      leadersNote = '';
    } else {
      if (!last) return;
      rows = (last.reps || []).slice().sort((a, b) => (b.assigned_total || 0) - (a.assigned_total || 0))
        .slice(0, 10).map((r) => ({id: r.id, name: r.name || r.id, value: r.assigned_total || 0,
          text: num(r.assigned_total), sub: `${r.open} open`}));
      caption = 'leads assigned, live';
      leadersNote = 'Won revenue when deals close: ' + kpiNote + '.';
    }
    $('leaders-caption').textContent = caption;
    if (!rows.length) {
      replace(box, note('Nothing to rank yet.'));
      return;
    }
    const W = width(box) - 8, row = 30, H = rows.length * row + 4, L = 136, R = 60;
    const max = Math.max(...rows.map((r) => r.value), 1);
    const root = svg('svg', {viewBox: `0 0 ${W} ${H}`, height: H, role: 'img', 'aria-label': 'leaderboard'});
    rows.forEach((r, i) => {
      const y = 2 + i * row;
      root.append(svg('text', {x: 0, y: y + 17, class: 'value'}, String(i + 1)));
      const name = svg('text', {x: 18, y: y + 17, class: 'label'}, r.name.slice(0, 17));
      name.append(svg('title', {}, `${r.id}: ${r.sub}`));
      root.append(name);
      root.append(svg('rect', {class: 'bar', x: L, y: y + 5, width: Math.max(2, (W - L - R) * r.value / max), height: 16, rx: 4,
        fill: i === 0 ? '#eab308' : 'var(--qualified)', opacity: i === 0 ? 1 : 0.75, 'data-rep': r.id, 'data-value': r.value}));
      root.append(svg('text', {x: W - R + 6, y: y + 17, class: 'value'}, r.text));
    });
    replace(box, root, ...(leadersNote ? [html('div', {class: 'legend'}, leadersNote)] : []));
  }

  // ---- forecast against capacity --------------------------------------------

  let plan = null;
  let planQueue = 'all';

  async function refreshPlan() {
    const {status, body} = await api('/v1/plan');
    if (status === 200 && body && Array.isArray(body.queues)) {
      plan = body;
    } else {
      plan = null;
      const why = status === 404 ? 'Planning is not served here (GET /v1/plan: 404).'
        : status ? `GET /v1/plan answered ${status}${body && body.error ? ': ' + body.error : ''}.`
        : 'GET /v1/plan failed.';
      replace($('plan-queues'));
      replace($('chart-plan'), note(why));
      return;
    }
    drawPlan();
  }

  // Weekly {week, forecast, capacity} of the chosen queue, or summed.
  function planWeeks() {
    const queues = plan.queues.filter((q) => planQueue === 'all' || q.queue === planQueue);
    const weeks = new Map();
    for (const q of queues) {
      for (const w of q.weekly || []) {
        const acc = weeks.get(w.week) || {week: w.week, forecast: 0, capacity: 0, unbounded: false, fitted: false};
        if (w.forecast !== null && w.forecast !== undefined) { acc.forecast += w.forecast; acc.fitted = true; }
        if (w.capacity === null || w.capacity === undefined) acc.unbounded = true; else acc.capacity += w.capacity;
        weeks.set(w.week, acc);
      }
    }
    return Array.from(weeks.values()).sort((a, b) => String(a.week).localeCompare(String(b.week)));
  }

  function drawPlan() {
    const chips = $('plan-queues');
    const names = ['all'].concat(plan.queues.map((q) => q.queue));
    replace(chips, ...names.map((name) => {
      const b = html('button', {type: 'button', 'aria-pressed': String(name === planQueue)}, name === 'all' ? 'all queues' : name);
      b.addEventListener('click', () => { planQueue = name; drawPlan(); });
      return b;
    }));
    const box = $('chart-plan');
    const weeks = planWeeks();
    const fitted = weeks.some((w) => w.fitted);
    const bounded = weeks.some((w) => !w.unbounded);
    const shown = plan.queues.filter((q) => planQueue === 'all' || q.queue === planQueue);
    const why = (shown.find((q) => q.model_note) || {}).model_note;
    if (!weeks.length || (!fitted && !bounded)) {
      replace(box, note('No forecast yet' + (why ? ': ' + why : '') +
        (bounded ? '' : '; capacity is unbounded (no daily or weekly caps).')));
      return;
    }
    const W = width(box), H = 180, L = 46, R = 12, T = 12, B = 26;
    const ymax = niceMax(Math.max(1, ...weeks.map((w) => Math.max(w.forecast, w.unbounded ? 0 : w.capacity))));
    const slot = (W - L - R) / weeks.length;
    const y = (v) => T + (H - T - B) * (1 - v / ymax);
    const root = svg('svg', {viewBox: `0 0 ${W} ${H}`, height: H, role: 'img', 'aria-label': 'forecast demand against capacity per week'});
    for (let i = 0; i <= 4; i++) {
      const v = ymax * i / 4;
      root.append(svg('line', {x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: 'var(--grid)'}));
      root.append(svg('text', {x: L - 6, y: y(v) + 4, 'text-anchor': 'end'}, num(v)));
    }
    const capacity = [];
    weeks.forEach((w, i) => {
      const x0 = L + i * slot;
      const over = !w.unbounded && w.forecast > w.capacity;
      root.append(svg('rect', {class: 'bar', x: x0 + slot * 0.2, y: y(w.forecast), width: slot * 0.6,
        height: Math.max(0, y(0) - y(w.forecast)), rx: 3, fill: over ? 'var(--danger)' : 'var(--intake)',
        opacity: 0.85, 'data-week': w.week, 'data-value': w.forecast.toFixed(1)}));
      root.append(svg('text', {x: x0 + slot / 2, y: H - 8, 'text-anchor': 'middle'}, String(w.week).slice(5)));
      if (!w.unbounded) capacity.push(`${(x0 + slot / 2).toFixed(1)},${y(w.capacity).toFixed(1)}`);
    });
    if (capacity.length)
      root.append(svg('polyline', {points: capacity.join(' '), fill: 'none', stroke: 'var(--ink)',
        'stroke-width': 2, 'stroke-dasharray': '6 4', 'data-series': 'capacity'}));
    const legend = html('div', {class: 'legend'});
    for (const [color, text] of [['var(--intake)', 'forecast demand'], ['var(--danger)', 'demand above capacity'], ['var(--ink)', 'capacity']]) {
      const item = html('span');
      const swatch = html('i');
      swatch.style.background = color;
      item.append(swatch, text);
      legend.append(item);
    }
    const mapes = plan.queues.filter((q) => q.backtest && q.backtest.mape !== null && q.backtest.mape !== undefined)
      .map((q) => `${q.queue} ${(q.backtest.mape * 100).toFixed(0)}%`);
    if (mapes.length) legend.append(html('span', {}, 'back-tested MAPE: ' + mapes.join(', ')));
    if (!fitted) legend.append(html('span', {}, 'no forecast yet' + (why ? ': ' + why : '')));
    replace(box, root, legend);
  }

  // ---- services ----------------------------------------------------------------

  async function refreshServices() {
    const {status, body} = await api('/v1/ops');
    const box = $('services');
    if (status !== 200 || !body || !Array.isArray(body.services)) {
      replace(box);
      return;
    }
    const items = body.services.map((s) => html('span', {class: 'svc', 'data-up': String(!!s.up),
      title: `${s.name} ${s.version || ''} on ${s.host || '?'}, pid ${s.pid || '?'}` +
        (s.up ? '' : ' (no heartbeat)')}, s.name));
    for (const [hop, lag] of Object.entries(body.lag || {})) {
      if (lag && lag.in_flight > 0)
        items.push(html('span', {title: `messages sent to ${hop}, not yet applied`},
          `${hop}: ${num(lag.in_flight)} in flight, oldest ${duration(lag.oldest_ms)}`));
    }
    replace(box, ...items);
  }

  // ---- counters --------------------------------------------------------------

  function drawCounters(s) {
    const cells = [['Leads', s.ingested_leads], ['Activities', s.ingested_activities],
      ['Duplicates', s.duplicates], ['Rejected', s.rejected], ['Scored', s.scored],
      ['Qualified', s.qualified], ['Assigned', s.assigned], ['Queued', s.queued],
      ['Closed', s.closed], ['Capped', s.capped], ['Stage up', s.stage_up], ['Stage down', s.stage_down]];
    const rows = [];
    for (let i = 0; i < cells.length; i += 2) {
      const tr = html('tr');
      for (const [name, value] of cells.slice(i, i + 2))
        tr.append(html('td', {}, name), html('td', {class: 'n'}, num(value)));
      rows.push(tr);
    }
    replace($('counters'), ...rows);
  }

  // ---- transport ---------------------------------------------------------------

  let pollTimer = null;

  function startPolling() {
    if (pollTimer) return;
    const poll = async () => {
      const {status, body} = await api('/v1/snapshot');
      if (status === 200) {
        setState('polling');
        onSnapshot(body);
      } else if (status !== 401) {
        setState('offline', status ? 'error ' + status : 'offline');
        if (body && body.error) banner(body.error);
      }
    };
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  // One Server-Sent Events block: {event, data}.
  function parseEvent(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    return {event: event, data: data.join('\n')};
  }

  async function stream() {
    const abort = new AbortController();
    let heard = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - heard > STALL_MS) abort.abort();
    }, 1000);
    try {
      const res = await fetch('/v1/stream', {headers: headers({Accept: 'text/event-stream'}),
        cache: 'no-store', signal: abort.signal});
      if (res.status === 401) {
        unauthorized();
        return;
      }
      if (!res.ok || !res.body) throw new Error('stream: ' + res.status);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        heard = Date.now();
        buffer += decoder.decode(value, {stream: true});
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const {event, data} = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (event === 'snapshot') {
            stopPolling();
            setState('live');
            onSnapshot(JSON.parse(data));
          } else if (event === 'error') {
            setState('offline', 'Redis down');
            banner(JSON.parse(data).error || 'the reporting service cannot read Redis');
          }
        }
      }
    } catch (e) {
      // Fall through to polling.
    } finally {
      clearInterval(watchdog);
    }
    if ($('conn-state').dataset.state === 'unauthorized') return;
    startPolling();
    setTimeout(stream, STREAM_RETRY_MS);
  }

  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      redraw();
      if (plan) drawPlan();
    }, 150);
  });

  stream();
  refreshServices();
  refreshLeaders();
  refreshPlan();
  setInterval(refreshServices, OPS_EVERY_MS);
  setInterval(refreshLeaders, KPI_EVERY_MS);
  setInterval(refreshPlan, PLAN_EVERY_MS);
})();
