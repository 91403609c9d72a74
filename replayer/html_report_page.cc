// The static parts of the HTML report (replayer/html_report.h): its style sheet and its script. The
// script reads the embedded JSON and builds the page with DOM nodes; recorded strings only ever
// become text nodes or attribute values (never markup), so whatever an agent named a file, it is
// shown, not run. No network access: nothing is fetched, and the page's CSP forbids it.
#include "replayer/html_report.h"

namespace agenttrace {

std::string_view HtmlReportStyle() {
  return R"css(
:root { --allow: #2e7d32; --ask: #e69500; --deny: #c62828; --none: #9e9e9e; --bg: #fff; --fg: #1d1d1f; --line: #ddd; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); margin: 0; }
#app { max-width: 1400px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: #f6f8fa; padding: 8px; overflow: auto; white-space: pre-wrap; word-break: break-all; margin: 4px 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #fafafa; font-weight: 600; }
td.num, th.num { text-align: right; }
#findings td.mono { white-space: nowrap; }
td.what { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; word-break: break-all; }
.verdict { display: inline-block; font-weight: 700; padding: 2px 10px; border-radius: 4px; color: #fff; }
.verdict.ok { background: var(--allow); } .verdict.bad { background: var(--deny); }
.dec-allow { color: var(--allow); } .dec-ask { color: var(--ask); } .dec-deny { color: var(--deny); font-weight: 600; }
.ok { color: var(--allow); } .fail { color: var(--deny); font-weight: 600; }
.muted { color: #666; } .note { color: #666; font-size: 12.5px; margin: 4px 0; }
.controls { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; margin: 8px 0; }
.controls label { display: flex; gap: 4px; align-items: center; }
button, select, input { font: inherit; }
select { max-width: 340px; }
button { cursor: pointer; }
a.goto { cursor: pointer; color: #0b57d0; text-decoration: underline; }
#lanes { border: 1px solid var(--line); overflow-x: auto; position: relative; }
.row { display: flex; border-bottom: 1px solid #f0f0f0; min-height: 22px; }
.row-label { flex: 0 0 260px; position: sticky; left: 0; background: #fafafa; z-index: 2; padding: 2px 6px; font-size: 12px;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; border-right: 1px solid var(--line); }
.track { position: relative; flex: 0 0 auto; height: 22px; }
.axis .track { height: 18px; font-size: 11px; color: #666; }
.tick { position: absolute; top: 0; border-left: 1px solid #ccc; padding-left: 2px; height: 100%; white-space: nowrap; }
.mark { position: absolute; top: 4px; width: 6px; height: 14px; margin-left: -3px; border-radius: 2px; cursor: pointer; background: var(--none); }
.mark.d-allow { background: var(--allow); } .mark.d-ask { background: var(--ask); } .mark.d-deny { background: var(--deny); }
.mark.sel { outline: 3px solid #0b57d0; z-index: 3; }
.span { position: absolute; top: 3px; height: 16px; background: #bbdefb; border: 1px solid #64b5f6; border-radius: 3px;
  font-size: 11px; overflow: hidden; white-space: nowrap; padding: 0 3px; min-width: 3px; }
.span.err { background: #ffcdd2; border-color: #e57373; } .span.open { border-style: dashed; }
#findings-scroll { max-height: 300px; overflow-y: auto; border: 1px solid var(--line); }
#findings th { position: sticky; top: 0; z-index: 1; }
#events-scroll { max-height: 480px; overflow-y: auto; border: 1px solid var(--line); margin-top: 6px; }
#events th { position: sticky; top: 0; z-index: 1; }
#events tr { cursor: pointer; } #events tr:hover { background: #f3f7ff; }
tr.hl, #events tr.hl { background: #fff3c4 !important; outline: 2px solid #e6b800; }
#detail { border: 1px solid var(--line); padding: 8px 12px; margin-top: 10px; background: #fcfcfc; }
.pager { display: flex; gap: 8px; align-items: center; margin: 6px 0; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
ul.criteria { margin: 2px 0 8px; padding-left: 20px; } .crit { margin-top: 6px; }
ul.items { margin: 4px 0; padding-left: 20px; } ul.items li { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; word-break: break-all; }
)css";
}

std::string_view HtmlReportScript() {
  return R"js(
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('agenttrace-data').textContent);
  var app = document.getElementById('app');
  var PAGE = 200, FINDINGS_PAGE = 100, BASE_WIDTH = 1000;

  // Builds an element; strings become text nodes, so recorded data is never parsed as markup.
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        var v = attrs[k];
        if (v === undefined || v === null) continue;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = String(v);
        else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, String(v));
      }
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === undefined || c === null) continue;
      e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  function labelName(l) { return l === '' ? '(no label)' : l; }
  function ms(ns) { return (ns / 1e6).toFixed(3) + ' ms'; }
  function decClass(d) { return d ? 'dec-' + d : 'muted'; }
  function decText(d) { return d || 'not evaluated'; }
  // Session ids are time-ordered (their first digits are the same for runs of one day): name a session
  // by its label, its run number within the label and the end of its id.
  var runOf = {};
  D.labels.forEach(function (L) { L.sessions.forEach(function (si, k) { runOf[si] = k + 1; }); });
  function sessionName(i) { var s = D.sessions[i]; return labelName(s.label) + ' #' + runOf[i] + ' (\u2026' + s.id.slice(-8) + ')'; }
  function list(items, dropped) {
    var ul = el('ul', { class: 'items' });
    items.forEach(function (x) { ul.appendChild(el('li', null, x)); });
    if (dropped > 0) ul.appendChild(el('li', { class: 'muted' }, '... ' + dropped + ' more'));
    return ul;
  }

  // ---- verdict, labels and criteria ----
  var totals = { events: 0, deny: 0, ask: 0, irreversible: 0 };
  D.sessions.forEach(function (s) { totals.events += s.events; totals.deny += s.deny; totals.ask += s.ask; totals.irreversible += s.irreversible; });
  app.appendChild(el('h1', null, 'agenttrace replay report'));
  app.appendChild(el('p', null, 'Verdict: ',
    el('span', { id: 'verdict', class: 'verdict ' + (D.promotable ? 'ok' : 'bad') }, D.verdict)));
  app.appendChild(el('p', { class: 'muted' }, 'Policy ', el('code', null, D.policy), ': ' + D.sessions.length +
    ' session(s), ' + totals.events + ' events, ' + totals.deny + ' deny, ' + totals.ask + ' ask, ' +
    totals.irreversible + ' irreversible.'));

  app.appendChild(el('h2', null, 'Labels'));
  var lt = el('table', { id: 'labels' });
  lt.appendChild(el('tr', null, el('th', null, 'Label'), el('th', { class: 'num' }, 'Sessions'), el('th', { class: 'num' }, 'Passed'),
    el('th', null, 'pass^k'), el('th', { class: 'num' }, 'Stability'), el('th', { class: 'num' }, 'Deny'), el('th', { class: 'num' }, 'Ask'),
    el('th', { class: 'num' }, 'Irreversible'), el('th', null, 'Verdict')));
  D.labels.forEach(function (L) {
    lt.appendChild(el('tr', { class: 'label-row' }, el('td', null, labelName(L.label)), el('td', { class: 'num' }, L.sessions.length),
      el('td', { class: 'num' }, L.passed), el('td', null, L.pass_k ? 'yes' : 'no'), el('td', { class: 'num' }, L.stability.toFixed(4)),
      el('td', { class: 'num' }, L.deny), el('td', { class: 'num' }, L.ask), el('td', { class: 'num' }, L.irreversible),
      el('td', { class: L.promotable ? 'ok' : 'fail' }, L.promotable ? 'promotable' : 'NOT promotable')));
  });
  app.appendChild(lt);
  // Criteria per label: the failed ones first, spelled out; the ones met on one line.
  D.labels.forEach(function (L) {
    var ul = el('ul', { class: 'criteria' });
    var met = [];
    L.criteria.forEach(function (c) {
      if (c.ok) { met.push(c); return; }
      ul.appendChild(el('li', null, el('span', { class: 'fail' }, 'FAIL'), ' ', el('code', null, c.name), ': ' + c.detail));
    });
    if (met.length) {
      var li = el('li', { class: 'met' }, el('span', { class: 'ok' }, 'ok'), ' ');
      met.forEach(function (c, k) { li.appendChild(el('code', { title: c.detail }, c.name)); if (k + 1 < met.length) li.appendChild(document.createTextNode(', ')); });
      ul.appendChild(li);
    }
    app.appendChild(el('div', { class: 'crit' }, el('strong', null, labelName(L.label) + ': '), ul));
  });

  // ---- findings ----
  app.appendChild(el('h2', null, 'Findings (' + (D.findings.length + D.findings_dropped) + ')'));
  var findingsBox = el('div');
  app.appendChild(findingsBox);
  var findingsPage = 0;
  function renderFindings() {
    findingsBox.replaceChildren();
    if (D.findings.length === 0) { findingsBox.appendChild(el('p', { class: 'muted' }, 'No deny, ask or irreversible action.')); return; }
    var t = el('table', { id: 'findings' });
    t.appendChild(el('tr', null, el('th', null, 'Session'), el('th', { class: 'num' }, 'Seq'), el('th', null, 'Decision'), el('th', null, 'Rule'),
      el('th', null, 'Class'), el('th', null, 'Event'), el('th', null, '')));
    var start = findingsPage * FINDINGS_PAGE;
    D.findings.slice(start, start + FINDINGS_PAGE).forEach(function (f) {
      var dec = f.decision === 'allow' ? 'irreversible' : f.decision + (f.irreversible ? ' (irreversible)' : '');
      var link = f.in_timeline
        ? el('a', { class: 'goto', onclick: function () { selectEvent(f.session, f.seq); } }, 'show in timeline')
        : el('span', { class: 'muted' }, 'not in the embedded timeline');
      t.appendChild(el('tr', { 'data-session': f.session, 'data-seq': f.seq }, el('td', { class: 'mono' }, sessionName(f.session)),
        el('td', { class: 'num' }, f.seq), el('td', { class: decClass(f.decision) }, dec), el('td', null, el('code', null, f.rule)),
        el('td', null, f['class']), el('td', { class: 'what' }, f.what), el('td', null, link)));
    });
    findingsBox.appendChild(el('div', { id: 'findings-scroll' }, t));
    findingsBox.appendChild(pager(D.findings.length, FINDINGS_PAGE, findingsPage, function (p) { findingsPage = p; renderFindings(); }));
    if (D.findings_dropped > 0) findingsBox.appendChild(el('p', { class: 'note' }, D.findings_dropped + ' more finding(s) not listed (report limit).'));
  }
  function pager(n, size, page, go) {
    var pages = Math.max(1, Math.ceil(n / size));
    var p = el('div', { class: 'pager' });
    if (pages <= 1) return p;
    p.appendChild(el('button', { class: 'prev', onclick: function () { if (page > 0) go(page - 1); } }, '< previous'));
    p.appendChild(el('span', null, 'page ' + (page + 1) + ' of ' + pages));
    p.appendChild(el('button', { class: 'next', onclick: function () { if (page + 1 < pages) go(page + 1); } }, 'next >'));
    return p;
  }

  // ---- timeline ----
  app.appendChild(el('h2', { id: 'timeline' }, 'Timeline'));
  var sessionSel = el('select', { id: 'session-select' });
  D.sessions.forEach(function (s, i) {
    sessionSel.appendChild(el('option', { value: i }, sessionName(i) + ' ' + s.events + ' events, ' + s.deny + ' deny' + (s.passed ? '' : ', failed')));
  });
  var classSel = el('select', { id: 'f-class' }), decSel = el('select', { id: 'f-decision' }), procSel = el('select', { id: 'f-process' });
  var textIn = el('input', { id: 'f-text', type: 'search', placeholder: 'path or text contains', size: 28 });
  [['', 'any decision'], ['deny', 'deny'], ['ask', 'ask'], ['allow', 'allow'], ['none', 'not evaluated']].forEach(function (o) {
    decSel.appendChild(el('option', { value: o[0] }, o[1]));
  });
  var zoom = 1;
  var controls = el('div', { class: 'controls' },
    el('label', null, 'Session ', sessionSel), el('label', null, 'Class ', classSel), el('label', null, 'Decision ', decSel),
    el('label', null, 'Process ', procSel), el('label', null, 'Text ', textIn),
    el('span', null, el('button', { id: 'zoom-out', onclick: function () { setZoom(zoom / 2); } }, '−'), ' ',
      el('span', { id: 'zoom-level' }, 'zoom 1x'), ' ',
      el('button', { id: 'zoom-in', onclick: function () { setZoom(zoom * 2); } }, '+'), ' ',
      el('button', { id: 'zoom-reset', onclick: function () { setZoom(1); } }, 'reset')));
  app.appendChild(controls);
  var sessionInfo = el('div', { id: 'session-info', class: 'note' });
  var lanes = el('div', { id: 'lanes' });
  var eventsBox = el('div');
  var eventsScroll = el('div', { id: 'events-scroll' });
  var detail = el('div', { id: 'detail' }, el('span', { class: 'muted' }, 'Click an event (a mark or a row) to see its record and the rules considered.'));
  app.appendChild(sessionInfo);
  app.appendChild(lanes);
  app.appendChild(eventsBox);
  app.appendChild(detail);

  var cur = -1, tl = null, filtered = [], eventsPage = 0, selectedSeq = null;

  function setZoom(z) {
    zoom = Math.min(1024, Math.max(1, z));
    document.getElementById('zoom-level').textContent = 'zoom ' + zoom + 'x';
    renderLanes();
  }
  function matches(e) {
    var c = classSel.value, d = decSel.value, p = procSel.value, q = textIn.value;
    if (c && e.c !== c && e.k !== c) return false;
    if (d === 'none' ? e.d !== '' : d && e.d !== d) return false;
    if (p !== '' && String(e.p) !== p) return false;
    if (q && e.w.indexOf(q) < 0 && e.j.indexOf(q) < 0) return false;
    return true;
  }
  function loadSession(i) {
    cur = i;
    sessionSel.value = String(i);
    var s = D.sessions[i];
    tl = s.timeline;
    selectedSeq = null;
    classSel.replaceChildren(el('option', { value: '' }, 'any class or kind'));
    procSel.replaceChildren(el('option', { value: '' }, 'any process'));
    sessionInfo.replaceChildren(el('span', null, 'Session ', el('code', null, s.id), ' (' + labelName(s.label) + ', ' + s.origin + '): ' +
      s.state + ', ' + s.outcome + ', ' + s.events + ' events, ' + s.evaluated + ' evaluated: ' + s.allow + ' allow, ' + s.ask + ' ask, ' +
      s.deny + ' deny, ' + s.irreversible + ' irreversible' + (s.gaps ? ', ' + s.gaps + ' gap(s)' : '') + '. ' +
      (s.passed ? 'Passed.' : 'Did not pass.') + (s.agent_ran ? '' : ' The agent never ran: ' + s.not_run_reason + '.') +
      (s.error ? ' Error: ' + s.error : '')));
    if (!tl) {
      lanes.replaceChildren(el('p', { class: 'note' }, 'No timeline for this session: ' + s.timeline_omitted + '.'));
      eventsBox.replaceChildren();
      return;
    }
    var classes = {}, kinds = {};
    tl.events.forEach(function (e) { if (e.c) classes[e.c] = 1; kinds[e.k] = 1; });
    Object.keys(classes).sort().forEach(function (c) { classSel.appendChild(el('option', { value: c }, 'class ' + c)); });
    Object.keys(kinds).sort().forEach(function (k) { if (!classes[k]) classSel.appendChild(el('option', { value: k }, 'kind ' + k)); });
    rows().forEach(function (r) { if (r.pid !== null) procSel.appendChild(el('option', { value: r.pid }, r.label)); });
    if (tl.events_dropped > 0) {
      var parts = Object.keys(tl.dropped_by_kind).map(function (k) { return k + ' ' + tl.dropped_by_kind[k]; });
      sessionInfo.appendChild(el('div', null, 'Summarised: ' + tl.events_dropped + ' event(s) are not embedded (' + parts.join(', ') +
        '); findings are kept up to the report limit, and the rules considered only for the events before the cut.'));
    }
    applyFilters();
  }
  // Processes as rows in fork/exec tree order (parents before children), then tool calls.
  function rows() {
    var byPid = {}, kids = {}, out = [];
    tl.processes.forEach(function (p) { byPid[p.pid] = p; });
    var roots = [];
    tl.processes.forEach(function (p) {
      if (p.ppid && byPid[p.ppid] && p.ppid !== p.pid) (kids[p.ppid] = kids[p.ppid] || []).push(p); else roots.push(p);
    });
    var seen = {};
    function walk(p, depth) {
      if (seen[p.pid]) return;
      seen[p.pid] = 1;
      var name = p.name || '(no exec)';
      var end = p.exited ? (p.signal ? ' killed by signal ' + p.signal : ' exit ' + p.exit_code) : '';
      out.push({ pid: String(p.pid), label: '\u00a0'.repeat(depth * 3) + p.pid + ' ' + name + end, proc: p });
      (kids[p.pid] || []).forEach(function (c) { walk(c, depth + 1); });
    }
    roots.forEach(function (p) { walk(p, 0); });
    var hasTools = tl.spans.length > 0 || tl.events.some(function (e) { return e.p === 0; });
    if (hasTools) out.push({ pid: '0', label: 'tool calls (MCP, hooks)', proc: null });
    var known = {};
    out.forEach(function (r) { known[r.pid] = 1; });
    if (tl.events.some(function (e) { return !known[String(e.p)]; })) out.push({ pid: null, label: 'other processes (' + tl.processes_dropped + ' not listed)', proc: null, other: true });
    return out;
  }
  function applyFilters() {
    if (!tl) return;
    filtered = tl.events.filter(matches);
    eventsPage = 0;
    renderLanes();
    renderEvents();
  }
  function renderLanes() {
    if (!tl) return;
    var width = Math.round(BASE_WIDTH * zoom), dur = Math.max(tl.dur_ns, 1);
    function x(t) { return Math.round((t / dur) * width); }
    lanes.replaceChildren();
    var axis = el('div', { class: 'row axis' }, el('div', { class: 'row-label' }, 'time since the first event'));
    var at = el('div', { class: 'track', style: 'width:' + (width + 20) + 'px' });
    for (var k = 0; k <= 10; k++) at.appendChild(el('div', { class: 'tick', style: 'left:' + Math.round(width * k / 10) + 'px' }, ms(dur * k / 10)));
    axis.appendChild(at);
    lanes.appendChild(axis);
    var rs = rows(), tracks = {};
    var shown = {};
    filtered.forEach(function (e) { shown[e.s] = 1; });
    rs.forEach(function (r) {
      var tr = el('div', { class: 'track', style: 'width:' + (width + 20) + 'px' });
      var title = r.proc ? r.label.trim() + ' (' + r.proc.events + ' events)' : r.label;
      lanes.appendChild(el('div', { class: 'row', 'data-pid': r.pid === null ? 'other' : r.pid }, el('div', { class: 'row-label', title: title }, r.label), tr));
      tracks[r.pid === null ? 'other' : r.pid] = tr;
    });
    tl.spans.forEach(function (s) {
      var w = s.result ? Math.max(3, x(s.dur)) : Math.max(3, width - x(s.t));
      var label = s.server + '/' + s.tool + ' ' + (s.result ? ms(s.dur) : '(no result)');
      tracks['0'].appendChild(el('div', { class: 'span' + (s.error ? ' err' : '') + (s.result ? '' : ' open'), title: label,
        style: 'left:' + x(s.t) + 'px;width:' + w + 'px' }, w > 60 ? label : ''));
    });
    filtered.forEach(function (e) {
      var tr = tracks[String(e.p)] || tracks.other;
      if (!tr) return;
      tr.appendChild(el('div', { class: 'mark d-' + (e.d || 'none') + (e.s === selectedSeq ? ' sel' : ''), 'data-seq': e.s,
        'data-decision': e.d || 'none', title: e.s + ' ' + decText(e.d) + ': ' + e.k + ' ' + e.w, style: 'left:' + x(e.t) + 'px',
        onclick: function () { showEvent(e); } }));
    });
  }
  function renderEvents() {
    eventsBox.replaceChildren();
    eventsBox.appendChild(el('p', { class: 'note', id: 'events-count' }, filtered.length + ' of ' + tl.events.length + ' embedded events match the filters.'));
    var t = el('table', { id: 'events' });
    eventsScroll.replaceChildren(t);
    t.appendChild(el('tr', null, el('th', { class: 'num' }, 'Seq'), el('th', { class: 'num' }, 'Time'), el('th', { class: 'num' }, 'Pid'),
      el('th', null, 'Decision'), el('th', null, 'Rule'), el('th', null, 'Event')));
    var start = eventsPage * PAGE;
    filtered.slice(start, start + PAGE).forEach(function (e) {
      t.appendChild(el('tr', { 'data-seq': e.s, class: e.s === selectedSeq ? 'hl' : null, onclick: function () { showEvent(e); } },
        el('td', { class: 'num' }, e.s), el('td', { class: 'num' }, ms(e.t)), el('td', { class: 'num' }, e.p),
        el('td', { class: 'dec ' + decClass(e.d) }, decText(e.d) + (e.i ? ' (irreversible)' : '')), el('td', null, e.r ? el('code', null, e.r) : ''),
        el('td', { class: 'what' }, e.w)));
    });
    eventsBox.appendChild(eventsScroll);
    eventsBox.appendChild(pager(filtered.length, PAGE, eventsPage, function (p) { eventsPage = p; renderEvents(); }));
  }
  function showEvent(e) {
    selectedSeq = e.s;
    document.querySelectorAll('#events tr.hl, .mark.sel').forEach(function (n) { n.classList.remove('hl'); n.classList.remove('sel'); });
    var row = document.querySelector('#events tr[data-seq="' + e.s + '"]');
    if (row) row.classList.add('hl');
    var mark = document.querySelector('.mark[data-seq="' + e.s + '"]');
    if (mark) mark.classList.add('sel');
    var rec = e.j;
    if (!e.jc) { try { rec = JSON.stringify(JSON.parse(e.j), null, 2); } catch (err) { rec = e.j; } }
    detail.replaceChildren(el('h3', null, 'Event ' + e.s + ' of ' + sessionName(cur)),
      el('div', null, 'Decision: ', el('span', { class: decClass(e.d) }, decText(e.d)), e.r ? ' by rule ' : '', e.r ? el('code', null, e.r) : '',
        e.c ? ' (class ' + e.c + ')' : '', e.i ? ', irreversible' : ''),
      el('div', { class: 'what', id: 'detail-what' }, e.w),
      el('h3', null, 'Record' + (e.jc ? ' (cut at the report limit)' : '')), el('pre', { id: 'detail-record' }, rec),
      el('h3', null, 'Rules considered'),
      e.x ? el('pre', { id: 'detail-explain' }, e.x.join('\n'))
          : el('p', { class: 'note' }, 'Not recorded for this event: rules considered are kept for the first events of a session only (report limit).'));
    return row;
  }
  // From a finding: show its session, clear filters hiding it, go to its page, highlight and scroll.
  function selectEvent(si, seq) {
    if (cur !== si) loadSession(si);
    var e = tl && tl.events.find(function (x) { return x.s === seq; });
    if (!e) return;
    if (!matches(e)) { classSel.value = ''; decSel.value = ''; procSel.value = ''; textIn.value = ''; applyFilters(); }
    var idx = filtered.indexOf(e);
    eventsPage = Math.floor(idx / PAGE);
    renderEvents();
    renderLanes();
    var row = showEvent(e);
    if (row) row.scrollIntoView({ block: 'center' });
  }
  sessionSel.addEventListener('change', function () { loadSession(Number(sessionSel.value)); });
  [classSel, decSel, procSel].forEach(function (s) { s.addEventListener('change', applyFilters); });
  textIn.addEventListener('input', applyFilters);

  // ---- blast radius and variation ----
  app.appendChild(el('h2', null, 'Blast radius and variation'));
  D.labels.forEach(function (L) {
    var b = L.blast_radius, box = el('div', { class: 'blast' });
    box.appendChild(el('h3', null, labelName(L.label)));
    [['written_outside_workspace', 'written or deleted outside the workspace'], ['hosts', 'hosts contacted'],
     ['secrets', 'secrets touched'], ['side_effect_tools', 'side-effecting tools']].forEach(function (k) {
      var n = b[k[0]].length + b[k[0] + '_dropped'];
      box.appendChild(el('div', null, k[1] + ' (' + n + ')'));
      if (n > 0) box.appendChild(list(b[k[0]], b[k[0] + '_dropped']));
    });
    var nu = L.unique_actions.length + L.unique_actions_dropped;
    box.appendChild(el('div', null, 'actions seen in only one session (' + nu + ')'));
    if (nu > 0) box.appendChild(list(L.unique_actions, L.unique_actions_dropped));
    app.appendChild(box);
  });

  // ---- behaviour diff ----
  app.appendChild(el('h2', null, 'Behaviour diff'));
  var diffBox = el('div', { id: 'diff' });
  if (D.diffs.length === 0) {
    diffBox.appendChild(el('p', { class: 'muted' }, 'No label has two sessions to compare.'));
  } else {
    var diffSel = el('select', { id: 'diff-select' });
    D.diffs.forEach(function (d, i) { diffSel.appendChild(el('option', { value: i }, sessionName(d.a) + ' \u2192 ' + sessionName(d.b))); });
    var diffOut = el('div');
    diffBox.appendChild(el('div', { class: 'controls' }, el('label', null, 'Sessions ', diffSel),
      el('span', { class: 'note' }, 'consecutive sessions of each label (at most ' + D.limits.diff_pairs + ' pairs)')));
    diffBox.appendChild(diffOut);
    var renderDiff = function () {
      var d = D.diffs[Number(diffSel.value)].diff;
      diffOut.replaceChildren();
      var dropped = d.dropped || {};
      function n(k) { return d[k].length + (dropped[k] || 0); }
      diffOut.appendChild(el('p', { id: 'diff-verdict' }, d.equal ? 'The two sessions behave the same.' : 'The two sessions behave differently.'));
      diffOut.appendChild(el('div', { class: 'cols' },
        el('div', null, el('h3', null, 'Only in A (' + n('only_in_a') + ')'), list(d.only_in_a, dropped.only_in_a || 0)),
        el('div', null, el('h3', null, 'Only in B (' + n('only_in_b') + ')'), list(d.only_in_b, dropped.only_in_b || 0))));
      Object.keys(d.reach).forEach(function (k) {
        var r = d.reach[k];
        diffOut.appendChild(el('h3', null, 'Changed reach: ' + k));
        if (r.added.length) diffOut.appendChild(el('div', null, 'new in B:', list(r.added, dropped[k + '.added'] || 0)));
        if (r.removed.length) diffOut.appendChild(el('div', null, 'gone from A:', list(r.removed, dropped[k + '.removed'] || 0)));
      });
      if (d.steps) {
        var s = d.steps, v = s.divergence;
        diffOut.appendChild(el('h3', null, 'Tool calls and execs'));
        diffOut.appendChild(el('p', null, s.steps_a + ' vs ' + s.steps_b + ' steps, common prefix ' + s.common_prefix + ', edit distance ' +
          s.edit_distance + (s.truncated ? ' (truncated)' : '') + '.'));
        if (v) {
          diffOut.appendChild(el('p', null, 'First divergence (' + v.kind + ') at step ' + v.index_a + ' / ' + v.index_b + ':'));
          if (v.a) diffOut.appendChild(el('pre', null, 'A seq ' + v.a.seq + ': ' + v.a.what));
          if (v.b) diffOut.appendChild(el('pre', null, 'B seq ' + v.b.seq + ': ' + v.b.what));
        }
      }
      if (d.decisions.length) {
        diffOut.appendChild(el('h3', null, 'Decisions that changed'));
        var t = el('table');
        t.appendChild(el('tr', null, el('th', null, 'Resource'), el('th', null, 'A'), el('th', null, 'B')));
        d.decisions.forEach(function (c) { t.appendChild(el('tr', null, el('td', { class: 'what' }, c.resource), el('td', null, c.a), el('td', null, c.b))); });
        diffOut.appendChild(t);
        if (dropped.decisions) diffOut.appendChild(el('p', { class: 'note' }, dropped.decisions + ' more (report limit)'));
      }
    };
    diffSel.addEventListener('change', renderDiff);
    renderDiff();
  }
  app.appendChild(diffBox);

  app.appendChild(el('p', { class: 'note' }, 'Limits: at most ' + D.limits.timeline_bytes + ' bytes of timeline events in all, ' +
    D.limits.findings + ' findings, ' + D.limits.list_items + ' items per list; later events are summarised (docs/cli.md, "report").'));
  renderFindings();
  if (D.sessions.length > 0) loadSession(0);
})();
)js";
}

}  // namespace agenttrace
