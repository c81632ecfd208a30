/**
 * The console's only stylesheet and script, served from the gateway (no CDN; the CSP allows 'self' only, so
 * nothing is inline). The script is small and optional: every page works without it (forms post to the
 * server, which checks everything again); it checks a resident ID as it is typed, a file's size and type as it
 * is chosen (and keeps a form with a refused file from being sent), and wires print buttons.
 */

export const consoleCss = `
:root { --ink:#1d2733; --muted:#5b6775; --line:#d5dbe3; --bg:#f4f6f9; --brand:#b3261e; --ok:#1e7a3c; --warn:#a35c00; --bad:#b3261e; --focus:#1a5fb4; }
* { box-sizing: border-box; }
body { margin:0; font: 16px/1.55 "PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC",system-ui,sans-serif; color:var(--ink); background:var(--bg); }
a { color: var(--focus); }
.skip { position:absolute; left:-999px; top:0; background:#fff; padding:.5rem 1rem; z-index:10; }
.skip:focus { left:.5rem; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
header.top { display:flex; flex-wrap:wrap; align-items:center; gap:.5rem 1.5rem; padding:.6rem 1rem; background:#fff; border-bottom:3px solid var(--brand); }
header.top .brand { font-weight:700; font-size:1.15rem; color:var(--brand); text-decoration:none; }
header.top nav { display:flex; flex-wrap:wrap; gap:.25rem 1rem; flex:1; }
header.top nav a { text-decoration:none; padding:.25rem .1rem; }
header.top nav a[aria-current=page] { font-weight:700; border-bottom:2px solid var(--brand); }
header.top .who { color:var(--muted); font-size:.9rem; display:flex; gap:.75rem; align-items:center; }
main { max-width: 72rem; margin: 1rem auto; padding: 0 1rem 3rem; }
h1 { font-size:1.5rem; margin:.5rem 0 1rem; }
h2 { font-size:1.2rem; margin:1.5rem 0 .5rem; }
section.card, form.card, div.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:1rem 1.25rem; margin:0 0 1rem; }
label { display:block; font-weight:600; margin:.6rem 0 .2rem; }
input, select, textarea, button { font:inherit; }
input[type=text], input[type=search], input[type=date], input[type=datetime-local], input[type=number], input[type=password], input[type=tel], select, textarea { width:100%; max-width:36rem; padding:.45rem .55rem; border:1px solid #9aa5b1; border-radius:4px; background:#fff; }
textarea { max-width:100%; min-height:24rem; font-family: ui-monospace, "Cascadia Mono", Consolas, monospace; font-size:.9rem; }
button, .button { display:inline-block; padding:.5rem 1.1rem; border-radius:4px; border:1px solid var(--brand); background:var(--brand); color:#fff; cursor:pointer; text-decoration:none; min-height:2.6rem; }
button.secondary, .button.secondary { background:#fff; color:var(--brand); }
button.small { padding:.2rem .6rem; min-height:2rem; font-size:.9rem; }
.row { display:flex; flex-wrap:wrap; gap:.5rem 1.25rem; align-items:flex-end; }
.row > div { flex: 1 1 12rem; }
table { width:100%; border-collapse:collapse; background:#fff; }
th, td { text-align:left; padding:.45rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#eef1f5; font-weight:600; white-space:nowrap; word-break:keep-all; }
.table-wrap { overflow-x:auto; }
.muted { color:var(--muted); }
.mono { font-family: ui-monospace, Consolas, monospace; word-break: break-all; }
.badge { display:inline-block; padding:0 .45rem; border-radius:3px; font-size:.85rem; background:#e6ebf1; }
.badge.overdue { background:#fbe2e0; color:var(--bad); font-weight:700; }
.badge.soon { background:#fff1d6; color:var(--warn); font-weight:700; }
.badge.active, .badge.ok { background:#dcf2e3; color:var(--ok); }
.alert { padding:.75rem 1rem; border-radius:4px; border:1px solid; margin:0 0 1rem; }
.alert.error { background:#fdeceb; border-color:#f2b8b5; color:#7a1a14; }
.alert.info { background:#eaf2fc; border-color:#b6cff0; }
.alert ul { margin:.25rem 0 0 1.2rem; padding:0; }
.field-msg { font-size:.9rem; min-height:1.2em; }
.field-msg.bad { color:var(--bad); }
.field-msg.good { color:var(--ok); }
ol.timeline { list-style:none; padding:0; margin:0; border-left:3px solid var(--line); }
ol.timeline li { padding:.3rem 0 .5rem 1rem; position:relative; }
ol.timeline li::before { content:""; position:absolute; left:-.5rem; top:.75rem; width:.7rem; height:.7rem; border-radius:50%; background:var(--brand); }
.receipt { background:#fff; border:2px solid var(--ink); padding:1.5rem; max-width:48rem; }
.receipt .qr svg, .receipt .qr img { width:10rem; height:10rem; }
.receipt dl { display:grid; grid-template-columns: 9rem 1fr; gap:.3rem 1rem; }
.receipt dt { font-weight:600; }
.notice li { margin:.2rem 0; }
.diff .removed { background:#fdeceb; }
.diff .added { background:#e3f5e8; }
meter { width:6rem; height:.8rem; }
tr.late td:first-child { border-left:4px solid var(--bad); }
form.inline { display:inline; }
label.inline-label { display:inline; font-weight:400; }
label.check { font-weight:400; }
input[type=url] { width:100%; max-width:36rem; padding:.45rem .55rem; border:1px solid #9aa5b1; border-radius:4px; background:#fff; }
[aria-invalid=true] { border-color:#c0392b; outline:1px solid #c0392b; }
.field-error { color:#a4271d; font-size:.92rem; margin-top:.2rem; }
.required { color:#a4271d; }
a.button.small { padding:.2rem .6rem; min-height:2rem; font-size:.9rem; }
fieldset { border:1px solid var(--line); border-radius:4px; margin:1rem 0; padding:.5rem 1rem 1rem; }
legend { font-weight:700; padding:0 .35rem; }
.pager { display:flex; gap:1rem; margin:1rem 0; align-items:center; }
details.tech { margin:.35rem 0 0; font-size:.88rem; color:var(--muted); }
details.tech summary { cursor:pointer; }
details.tech pre, details.tech .mono { white-space:pre-wrap; word-break:break-all; margin:.25rem 0; }
.receipt .seal { display:flex; justify-content:space-between; gap:2rem; margin-top:2rem; }
.receipt .seal div { flex:1; border-top:1px solid var(--ink); padding-top:.3rem; }
.receipt .receipt-no { font-size:1.35rem; font-weight:700; letter-spacing:.03em; white-space:nowrap; word-break:keep-all; }
select[data-filtered] { max-width:36rem; }
@media (max-width: 40rem) { header.top nav { order:3; width:100%; } th, td { padding:.35rem .3rem; font-size:.92rem; } .receipt dl { grid-template-columns: 1fr; } }
@media print { header.top, nav, .no-print, form.no-print { display:none !important; } body { background:#fff; } main { margin:0; max-width:none; } .receipt { border:none; } }
`

export const consoleJs = `
(function () {
  'use strict';
  var W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var C = '10X98765432';
  function residentIdProblem(s) {
    if (!/^\\d{17}[\\dX]$/.test(s)) return '身份证号应为18位：17位数字加1位数字或X';
    var y = +s.slice(6, 10), m = +s.slice(10, 12), d = +s.slice(12, 14);
    var dt = new Date(Date.UTC(y, m - 1, d));
    if (y < 1800 || dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) return '出生日期无效';
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += (+s[i]) * W[i];
    if (C[sum % 11] !== s[17]) return '校验码不符，请核对号码';
    return '';
  }
  function check(input) {
    var typeSel = document.getElementById(input.getAttribute('data-idtype') || '');
    var msg = document.getElementById(input.id + '-msg');
    var v = input.value.trim().toUpperCase();
    if (input.value !== v && /^[\\dx]*$/i.test(input.value)) input.value = v;
    var problem = '';
    if (!typeSel || typeSel.value === 'resident_id') problem = v === '' ? '' : residentIdProblem(v);
    input.setCustomValidity(problem);
    input.setAttribute('aria-invalid', problem ? 'true' : 'false');
    if (msg) {
      msg.textContent = v === '' ? '' : problem || (typeSel && typeSel.value !== 'resident_id' ? '' : '号码校验通过');
      msg.className = 'field-msg ' + (problem ? 'bad' : 'good');
    }
  }
  document.addEventListener('input', function (e) {
    var t = e.target;
    if (t && t.hasAttribute && t.hasAttribute('data-idcheck')) check(t);
  });
  function mb(n) { return n < 1048576 ? Math.ceil(n / 1024) + ' KB' : Math.round(n / 104857.6) / 10 + ' MB'; }
  function fileProblem(input) {
    var f = input.files && input.files[0];
    if (!f) return '';
    var max = +input.getAttribute('data-max-bytes');
    var types = (input.getAttribute('data-types') || '').split(',');
    var ext = (f.name.split('.').pop() || '').toLowerCase();
    var untyped = !f.type || f.type === 'application/octet-stream';
    if (f.size > max) return '文件过大：' + f.name + '（' + mb(f.size) + '），每个文件最多 ' + mb(max);
    if (f.size === 0) return '文件是空的：' + f.name;
    if (types.indexOf(f.type) < 0 && !(untyped && ['pdf', 'jpg', 'jpeg', 'png', 'ofd'].indexOf(ext) >= 0))
      return '文件类型不被接受：' + f.name + '（' + (f.type || ext || '未知类型') + '）';
    return '';
  }
  function checkFile(input) {
    var f = input.files && input.files[0];
    var problem = fileProblem(input);
    var msg = document.getElementById(input.id + '-msg');
    var sel = document.getElementById(input.getAttribute('data-form-select') || '');
    if (f && !problem && sel && sel.querySelector('option[value="electronic"]')) sel.value = 'electronic';
    input.setCustomValidity(problem);
    input.setAttribute('aria-invalid', problem ? 'true' : 'false');
    if (msg && f) {
      msg.textContent = problem || '将上传：' + f.name + '（' + mb(f.size) + '）';
      msg.className = 'field-msg ' + (problem ? 'bad' : 'good');
    }
  }
  document.addEventListener('submit', function (e) {
    var inputs = e.target.querySelectorAll ? e.target.querySelectorAll('input[type=file][data-max-bytes]') : [];
    for (var i = 0; i < inputs.length; i++) {
      if (fileProblem(inputs[i])) { e.preventDefault(); checkFile(inputs[i]); inputs[i].focus(); return; }
    }
  });
  document.addEventListener('change', function (e) {
    var t = e.target;
    if (t && t.hasAttribute && t.hasAttribute('data-max-bytes')) { checkFile(t); return; }
    if (!t || !t.id) return;
    var inputs = document.querySelectorAll('[data-idtype="' + t.id + '"]');
    for (var i = 0; i < inputs.length; i++) check(inputs[i]);
  });
  document.addEventListener('click', function (e) {
    var t = e.target;
    if (t && t.hasAttribute && t.hasAttribute('data-print')) { e.preventDefault(); window.print(); }
    if (t && t.hasAttribute && t.hasAttribute('data-confirm') && !window.confirm(t.getAttribute('data-confirm'))) e.preventDefault();
  });
  // A select's options narrowed to those whose text (or group's label) holds what is typed; groups left empty hide.
  function filterSelect(input) {
    var sel = document.getElementById(input.getAttribute('data-filter-select') || '');
    if (!sel) return;
    var q = input.value.trim().toLowerCase();
    var shown = 0, only = null;
    var groups = sel.querySelectorAll('optgroup');
    for (var g = 0; g < groups.length; g++) {
      var label = (groups[g].getAttribute('label') || '').toLowerCase();
      var opts = groups[g].querySelectorAll('option');
      var any = false;
      for (var i = 0; i < opts.length; i++) {
        var hit = q === '' || opts[i].textContent.toLowerCase().indexOf(q) >= 0 || label.indexOf(q) >= 0;
        opts[i].hidden = !hit;
        opts[i].disabled = !hit;
        if (hit) { any = true; shown++; only = opts[i]; }
      }
      groups[g].hidden = !any;
    }
    if (sel.selectedOptions && sel.selectedOptions[0] && sel.selectedOptions[0].hidden) sel.value = '';
    if (shown === 1 && only) sel.value = only.value;
    var msg = document.getElementById(input.id + '-msg');
    if (msg) msg.textContent = q === '' ? '' : shown === 0 ? '没有匹配的办理地' : '匹配 ' + shown + ' 个办理地' + (shown === 1 ? '，已选中' : '，请在下方选择');
  }
  document.addEventListener('input', function (e) {
    var t = e.target;
    if (t && t.hasAttribute && t.hasAttribute('data-filter-select')) filterSelect(t);
  });
  document.addEventListener('keydown', function (e) {
    var t = e.target;
    // Enter in the filter moves to the list instead of sending the form half-filled.
    if (t && t.hasAttribute && t.hasAttribute('data-filter-select') && (e.key === 'Enter' || e.key === 'ArrowDown')) {
      var sel = document.getElementById(t.getAttribute('data-filter-select'));
      if (sel) { e.preventDefault(); sel.focus(); }
    }
  });
  var filters = document.querySelectorAll('[data-filter-select]');
  for (var f = 0; f < filters.length; f++) { filters[f].hidden = false; var l = document.querySelector('label[for="' + filters[f].id + '"]'); if (l) l.hidden = false; filterSelect(filters[f]); }
  document.documentElement.setAttribute('data-js', 'ready');
})();
`

/** The console's icon: a red seal-like square with 通. */
export const consoleFavicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect x="4" y="4" width="56" height="56" rx="10" fill="#b3261e"/><text x="32" y="45" font-size="36" text-anchor="middle" fill="#fff" font-family="sans-serif">通</text></svg>`
