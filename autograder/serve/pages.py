"""The two pages: a student's (sign in, upload, watch, read feedback) and the instructor dashboard.

Plain server-sent HTML with a little JavaScript that calls the JSON API with the token the
person signed in with (kept in the tab's sessionStorage, sent as a Bearer header), or, signed
in through JupyterHub, with the session cookie and the XSRF value the page carries. Every value
from the API is put in the page as text (`textContent`), never as HTML; feedback pages, which
are HTML, go into a sandboxed iframe.
"""

# ruff: noqa: E501  (CSS and JavaScript held as text: their lines are as the browser reads them)
from __future__ import annotations

import html
from dataclasses import dataclass

_CSS = """
:root { --ink:#1d2433; --mute:#5d6779; --line:#e3e7ee; --bg:#f6f8fb; --acc:#2f5bea; --ok:#1a7f4b; --bad:#c0392b; --warn:#b7791f; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--bg); }
header { background:#fff; border-bottom:1px solid var(--line); padding:14px 28px; display:flex; align-items:center; gap:16px; }
header h1 { font-size:18px; margin:0; } header .who { margin-left:auto; color:var(--mute); }
main { max-width:1180px; margin:24px auto; padding:0 20px; display:grid; gap:20px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:18px 20px; }
.card h2 { font-size:15px; margin:0 0 12px; text-transform:uppercase; letter-spacing:.04em; color:var(--mute); }
.row { display:flex; gap:12px; align-items:center; flex-wrap:wrap; }
input[type=password], select { font:inherit; padding:7px 10px; border:1px solid var(--line); border-radius:6px; min-width:260px; }
button { font:inherit; padding:7px 14px; border:0; border-radius:6px; background:var(--acc); color:#fff; cursor:pointer; }
button.ghost { background:#fff; color:var(--acc); border:1px solid var(--acc); } button:disabled { opacity:.5; }
#drop { border:2px dashed #b8c3d6; border-radius:10px; padding:28px; text-align:center; color:var(--mute); cursor:pointer; }
#drop.over { border-color:var(--acc); background:#eef2fe; }
table { border-collapse:collapse; width:100%; font-size:14px; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--mute); font-weight:600; } tr.click { cursor:pointer; } tr.click:hover { background:#f1f4fa; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; background:#e9edf5; }
.badge.graded { background:#dff3e8; color:var(--ok); } .badge.error { background:#fbe3e0; color:var(--bad); }
.badge.queued, .badge.grading { background:#fff3d6; color:var(--warn); } .badge.late { background:#fbe3e0; color:var(--bad); }
.badge.counts { background:#e3ebff; color:var(--acc); }
.msg { padding:8px 12px; border-radius:6px; margin-top:10px; } .msg.bad { background:#fbe3e0; color:var(--bad); } .msg.ok { background:#dff3e8; color:var(--ok); }
iframe { width:100%; height:640px; border:1px solid var(--line); border-radius:8px; background:#fff; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:20px; } .stats { display:flex; gap:24px; }
.stat b { display:block; font-size:24px; } .stat span { color:var(--mute); font-size:13px; }
.hidden { display:none !important; } .mute { color:var(--mute); }
"""

_COMMON_JS = """
const $ = (id) => document.getElementById(id);
let TOKEN = sessionStorage.getItem('autograder-token') || '';
// Signed in through JupyterHub: the session cookie goes by itself, and this value with it.
const XSRF = (document.querySelector('meta[name="autograder-xsrf"]') || {}).content || '';
function authHeaders() { return XSRF ? {'X-Autograder-XSRF': XSRF} : {'Authorization': 'Bearer ' + TOKEN}; }
async function api(path, opts = {}) {
  opts.headers = Object.assign({}, opts.headers || {}, authHeaders());
  opts.credentials = 'same-origin';
  const r = await fetch(path, opts);
  let body = null;
  const type = r.headers.get('content-type') || '';
  if (type.includes('json')) body = await r.json(); else body = await r.text();
  return {status: r.status, body, headers: r.headers};
}
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = String(text); if (cls) e.className = cls; return e; }
function badge(text, cls) { return el('span', text, 'badge ' + (cls || text)); }
function when(iso) { return iso ? new Date(iso).toLocaleString() : ''; }
function pts(v) { return (v === null || v === undefined) ? '–' : (Math.round(v * 100) / 100).toString(); }
function say(id, text, ok) { const m = $(id); m.textContent = text; m.className = 'msg ' + (ok ? 'ok' : 'bad'); m.classList.toggle('hidden', !text); }
async function signIn(role) {
  const r = await api('api/v1/me');
  if (r.status !== 200) { say('signin-msg', r.body && r.body.error ? r.body.error : 'that token is not valid', false); return null; }
  if (role === 'instructor' && r.body.role !== 'instructor') { say('signin-msg', 'this token is a student\\'s: the dashboard needs an instructor token.', false); return null; }
  sessionStorage.setItem('autograder-token', TOKEN);
  $('signin').classList.add('hidden'); $('app').classList.remove('hidden');
  $('who').textContent = r.body.student + (r.body.role === 'instructor' ? ' (instructor)' : '');
  const sel = $('assignment'); sel.replaceChildren();
  for (const a of r.body.assignments) { const o = el('option', a.id + ' — ' + a.title); o.value = a.id; o.dataset.info = JSON.stringify(a); sel.appendChild(o); }
  return r.body;
}
function wireSignIn(role, then) {
  if (XSRF) {
    $('signin').classList.add('hidden');
    $('signout').addEventListener('click', () => { location.href = 'logout'; });
    signIn(role).then((me) => { if (me) then(); });
    return;
  }
  $('signin-form').addEventListener('submit', async (e) => { e.preventDefault(); TOKEN = $('token').value.trim(); if (await signIn(role)) then(); });
  $('signout').addEventListener('click', () => { sessionStorage.removeItem('autograder-token'); location.reload(); });
  if (TOKEN) signIn(role).then((me) => { if (me) then(); });
}
async function showFeedback(id, frame) {
  const r = await api('api/v1/submissions/' + encodeURIComponent(id) + '/feedback');
  frame.classList.remove('hidden');
  await new Promise((done) => requestAnimationFrame(done));  // laid out at its full width first
  frame.srcdoc = (r.status === 200) ? r.body : '<p style="font-family:sans-serif">' + (r.body.error || 'no feedback yet').replace(/[<>&]/g, '') + '</p>';
}
"""

_SIGNIN = """
<section class="card" id="signin"><h2>Sign in</h2>
<form id="signin-form" class="row"><input type="password" id="token" placeholder="your token" autocomplete="off" aria-label="token">
<button type="submit" id="signin-button">Sign in</button></form><div id="signin-msg" class="msg hidden"></div></section>
"""

_STUDENT_BODY = """
<section id="app" class="hidden" style="display:grid;gap:20px">
<section class="card"><h2>Hand in</h2>
<div class="row" style="margin-bottom:12px"><label for="assignment">Assignment</label><select id="assignment"></select><span id="rules" class="mute"></span></div>
<div id="drop" tabindex="0">Drop your <b>.ipynb</b> here, or <u>choose a file</u><input type="file" id="file" accept=".ipynb,application/x-ipynb+json" class="hidden"></div>
<div id="upload-msg" class="msg hidden"></div></section>
<section class="card"><h2>Your submissions</h2>
<table><thead><tr><th>Submitted</th><th>Status</th><th>Score</th><th></th></tr></thead><tbody id="subs"></tbody></table>
<p class="mute" id="subs-empty">Nothing handed in yet.</p></section>
<section class="card"><h2>Feedback</h2><p class="mute" id="fb-hint">Choose a graded submission above to read its feedback.</p>
<iframe id="feedback" class="hidden" sandbox="" title="feedback"></iframe></section>
</section>
"""

_STUDENT_JS = """
let selected = null, timer = null;
function assignment() { return $('assignment').value; }
function showRules() {
  const o = $('assignment').selectedOptions[0]; if (!o) return; const a = JSON.parse(o.dataset.info);
  $('rules').textContent = (a.deadline ? 'due ' + when(a.deadline) + ' · ' : '') + 'the ' + a.counts + ' submission counts · at most ' + a.max_upload_mb + ' MB';
}
async function refresh() {
  const r = await api('api/v1/assignments/' + encodeURIComponent(assignment()) + '/submissions');
  if (r.status !== 200) return;
  const body = $('subs'); body.replaceChildren();
  $('subs-empty').classList.toggle('hidden', r.body.length > 0);
  let pending = false;
  for (const s of r.body) {
    const tr = el('tr', null, 'click'); tr.dataset.id = s.id;
    tr.appendChild(el('td', when(s.submitted_at)));
    const st = el('td'); st.appendChild(badge(s.status)); if (s.late) st.appendChild(badge('late')); tr.appendChild(st);
    tr.appendChild(el('td', s.status === 'graded' ? pts(s.score) + ' / ' + pts(s.max_score) : (s.status === 'error' ? s.message : '…')));
    const c = el('td'); if (s.counts) c.appendChild(badge('counts', 'counts')); tr.appendChild(c);
    tr.addEventListener('click', () => { selected = s.id; showFeedback(s.id, $('feedback')); $('fb-hint').classList.add('hidden'); });
    body.appendChild(tr);
    if (s.status === 'queued' || s.status === 'grading') pending = true;
    if (s.id === selected && (s.status === 'graded' || s.status === 'error') && $('feedback').dataset.shown !== s.id) {
      $('feedback').dataset.shown = s.id; showFeedback(s.id, $('feedback')); $('fb-hint').classList.add('hidden');
    }
  }
  clearTimeout(timer); timer = setTimeout(refresh, pending ? 1000 : 8000);
}
async function send(file) {
  if (!file) return;
  say('upload-msg', 'Uploading ' + file.name + '…', true);
  const r = await api('api/v1/assignments/' + encodeURIComponent(assignment()) + '/submissions',
                      {method: 'POST', body: file, headers: {'Content-Type': 'application/x-ipynb+json'}});
  if (r.status === 202) { selected = r.body.id; say('upload-msg', file.name + ' is in the queue: it is graded in a few seconds.', true); }
  else { const wait = r.headers.get('Retry-After'); say('upload-msg', (r.body && r.body.error ? r.body.error : 'refused (' + r.status + ')') + (wait ? ' (retry in ' + wait + ' s)' : ''), false); }
  refresh();
}
function start() {
  showRules(); refresh();
  $('assignment').addEventListener('change', () => { selected = null; $('feedback').classList.add('hidden'); showRules(); refresh(); });
  const drop = $('drop'), file = $('file');
  drop.addEventListener('click', () => file.click());
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') file.click(); });
  file.addEventListener('change', () => { send(file.files[0]); file.value = ''; });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); send(e.dataTransfer.files[0]); });
}
wireSignIn('student', start);
"""

_INSTRUCTOR_BODY = """
<section id="app" class="hidden" style="display:grid;gap:20px">
<section class="card"><div class="row"><label for="assignment">Assignment</label><select id="assignment"></select>
<button class="ghost" id="dl-gradebook">gradebook.csv</button><button class="ghost" id="dl-canvas">canvas.csv</button>
<button class="ghost" id="regrade-all">Re-grade everyone</button>
<span class="mute" id="updated"></span></div>
<div class="stats" style="margin-top:14px"><div class="stat"><b id="n-students">0</b><span>students submitted</span></div>
<div class="stat"><b id="n-queued">0</b><span>queued</span></div><div class="stat"><b id="n-grading">0</b><span>grading</span></div>
<div class="stat"><b id="n-graded">0</b><span>graded</span></div><div class="stat"><b id="n-error">0</b><span>could not be graded</span></div>
<div class="stat"><b id="mean">–</b><span>mean score</span></div></div></section>
<div class="grid2">
<section class="card"><h2>The class</h2><table><thead><tr><th>Student</th><th>Subs</th><th>Score</th><th>Last</th></tr></thead><tbody id="class"></tbody></table></section>
<section class="card"><h2>Live: newest submissions</h2><table><thead><tr><th>Student</th><th>Submitted</th><th>Status</th><th>Score</th></tr></thead><tbody id="recent"></tbody></table></section>
</div>
<section class="card hidden" id="drill"><h2 id="drill-title">Student</h2>
<table><thead><tr><th>Submitted</th><th>Status</th><th>Score</th><th>Time</th><th></th></tr></thead><tbody id="drill-subs"></tbody></table>
<iframe id="drill-feedback" class="hidden" sandbox="" title="feedback"></iframe></section>
<section class="card"><h2>Items</h2><table id="items"></table></section>
<div class="grid2">
<section class="card"><h2>Misconceptions</h2><table id="misconceptions"></table></section>
<section class="card"><h2>Slowest notebooks</h2><table id="slowest"></table></section>
</div>
<section class="card"><h2>Failing notebooks</h2><table id="failing"></table></section>
</section>
"""

_INSTRUCTOR_JS = """
let timer = null, drilled = null;
function assignment() { return $('assignment').value; }
function fill(tableId, rows, cols) {
  const t = $(tableId); t.replaceChildren();
  const head = el('tr'); for (const [, label] of cols) head.appendChild(el('th', label)); t.appendChild(el('thead')).appendChild(head);
  const body = el('tbody'); t.appendChild(body);
  if (!rows.length) { const tr = el('tr'); const td = el('td', 'none yet', 'mute'); td.colSpan = cols.length; tr.appendChild(td); body.appendChild(tr); }
  for (const r of rows) { const tr = el('tr'); for (const [key] of cols) { const v = r[key]; tr.appendChild(el('td', typeof v === 'number' ? pts(v) : (v ?? ''))); } body.appendChild(tr); }
}
async function drill(student) {
  drilled = student;
  const r = await api('api/v1/assignments/' + encodeURIComponent(assignment()) + '/submissions?student=' + encodeURIComponent(student));
  if (r.status !== 200) return;
  $('drill').classList.remove('hidden'); $('drill-title').textContent = 'Student: ' + student;
  const body = $('drill-subs'); body.replaceChildren();
  for (const s of r.body) {
    const tr = el('tr', null, 'click');
    tr.appendChild(el('td', when(s.submitted_at)));
    const st = el('td'); st.appendChild(badge(s.status)); if (s.late) st.appendChild(badge('late')); if (s.counts) st.appendChild(badge('counts', 'counts')); tr.appendChild(st);
    tr.appendChild(el('td', pts(s.score) + ' / ' + pts(s.max_score)));
    tr.appendChild(el('td', s.duration_s === null ? '' : pts(s.duration_s) + ' s'));
    const act = el('td'); const b = el('button', 'Re-grade', 'ghost');
    b.addEventListener('click', async (e) => { e.stopPropagation(); b.disabled = true; await api('api/v1/submissions/' + s.id + '/regrade', {method: 'POST'}); refresh(); drill(student); });
    act.appendChild(b); tr.appendChild(act);
    tr.addEventListener('click', () => showFeedback(s.id, $('drill-feedback')));
    body.appendChild(tr);
  }
}
async function refresh() {
  const r = await api('api/v1/assignments/' + encodeURIComponent(assignment()) + '/dashboard');
  clearTimeout(timer); timer = setTimeout(refresh, 2000);
  if (r.status !== 200) return;
  const d = r.body;
  $('n-students').textContent = d.students.length;
  for (const k of ['queued', 'grading', 'graded', 'error']) $('n-' + k).textContent = d.queue[k] || 0;
  const scored = d.students.filter((s) => s.score !== null);
  $('mean').textContent = scored.length ? pts(scored.reduce((a, s) => a + s.score, 0) / scored.length) + ' / ' + pts(d.max_score) : '–';
  const cls = $('class'); cls.replaceChildren();
  for (const s of d.students) {
    const tr = el('tr', null, 'click'); tr.dataset.student = s.student;
    tr.appendChild(el('td', s.student)); tr.appendChild(el('td', s.submissions));
    const sc = el('td', pts(s.score) + ' / ' + pts(s.max_score)); if (s.late) sc.appendChild(badge('late')); tr.appendChild(sc);
    const last = el('td'); last.appendChild(badge(s.last_status)); tr.appendChild(last);
    tr.addEventListener('click', () => drill(s.student)); cls.appendChild(tr);
  }
  const recent = $('recent'); recent.replaceChildren();
  for (const s of d.recent) {
    const tr = el('tr', null, 'click'); tr.dataset.id = s.id;
    tr.appendChild(el('td', s.student)); tr.appendChild(el('td', new Date(s.submitted_at * 1000).toLocaleTimeString()));
    const st = el('td'); st.appendChild(badge(s.status)); tr.appendChild(st);
    tr.appendChild(el('td', s.status === 'graded' ? pts(s.score) + ' / ' + pts(s.max_score) : ''));
    tr.addEventListener('click', () => drill(s.student)); recent.appendChild(tr);
  }
  fill('items', d.items, [['item', 'Item'], ['max_score', 'Max'], ['mean_score', 'Mean'], ['pass_rate', 'Pass rate'], ['difficulty', 'Difficulty'], ['discrimination', 'Discrimination'], ['mean_time_s', 'Mean s'], ['top_diagnoses', 'Top diagnoses']]);
  fill('misconceptions', d.misconceptions, [['diagnosis', 'Diagnosis'], ['count', 'Count'], ['students', 'Students']]);
  fill('slowest', d.slowest, [['student', 'Student'], ['duration_s', 'Seconds'], ['score', 'Score'], ['status', 'Status']]);
  fill('failing', d.failing, [['student', 'Student'], ['status', 'Status'], ['score', 'Score'], ['message', 'Why']]);
  $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
}
async function download(name) {
  const r = await fetch('api/v1/assignments/' + encodeURIComponent(assignment()) + '/' + name, {headers: authHeaders(), credentials: 'same-origin'});
  const blob = await r.blob(); const a = el('a'); a.href = URL.createObjectURL(blob); a.download = assignment() + '-' + name; a.click();
}
function start() {
  refresh();
  $('assignment').addEventListener('change', () => { $('drill').classList.add('hidden'); refresh(); });
  $('dl-gradebook').addEventListener('click', () => download('gradebook.csv'));
  $('dl-canvas').addEventListener('click', () => download('canvas.csv'));
  $('regrade-all').addEventListener('click', async () => {
    if (!confirm('Grade every student\\'s counting submission of ' + assignment() + ' again?')) return;
    await api('api/v1/assignments/' + encodeURIComponent(assignment()) + '/regrade', {method: 'POST'}); refresh();
  });
}
wireSignIn('instructor', start);
"""


@dataclass(frozen=True)
class SignedIn:
    """A person signed in through JupyterHub: the page talks to the API with its cookie and `xsrf`."""

    name: str
    role: str
    xsrf: str


def _page(title: str, course_id: str, body: str, script: str, signed_in: SignedIn | None = None) -> str:
    xsrf = f"<meta name='autograder-xsrf' content='{html.escape(signed_in.xsrf)}'>" if signed_in else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>{xsrf}"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(course_id)} · {html.escape(title)}</h1><span class='who' id='who'></span>"
        "<button class='ghost' id='signout'>Sign out</button></header>"
        f"<main>{_SIGNIN}{body}</main><script>{_COMMON_JS}{script}</script></body></html>"
    )


def student_page(course_id: str, signed_in: SignedIn | None = None) -> str:
    return _page("hand in and feedback", course_id, _STUDENT_BODY, _STUDENT_JS, signed_in)


def instructor_page(course_id: str, signed_in: SignedIn | None = None) -> str:
    return _page("instructor dashboard", course_id, _INSTRUCTOR_BODY, _INSTRUCTOR_JS, signed_in)


def message_page(course_id: str, title: str, detail: str, links: list[tuple[str, str]]) -> str:
    """A page that says one thing (a refusal, signed out) and where to go next; all text escaped."""
    anchors = " ".join(
        f"<a class='button' href='{html.escape(href, quote=True)}'>{html.escape(label)}</a>" for label, href in links
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_CSS} a.button {{ margin-right:12px; }}</style></head><body>"
        f"<header><h1>{html.escape(course_id)}</h1></header><main><section class='card' id='message'>"
        f"<h2>{html.escape(title)}</h2><p id='detail'>{html.escape(detail)}</p><p>{anchors}</p></section></main></body></html>"
    )
