/* Enhancements only: the form works without this file. Shows progress, one question per screen on
   long forms, keeps the answers in the tab (same nonce: a resend is stored once), moves focus to the
   error summary, and prevents a double tap. */
(function () {
  "use strict";
  var form = document.querySelector("form.survey");
  if (!form) return;
  var bar = document.getElementById("progress");
  var questions = form.querySelectorAll("fieldset.q");
  var kiosk = !!document.getElementById("kiosk");
  var key = "sipas-form:" + form.getAttribute("action");

  function answered(q) {
    if (q.querySelector("input:checked:not([value=''])")) return true;
    var box = q.querySelector("textarea, input[type=number]");
    return !!(box && box.value.trim());
  }
  function update() {
    if (!bar) return;
    var n = 0, shown = 0;
    questions.forEach(function (q) { if (q.hidden) return; shown++; if (answered(q)) n++; });
    bar.querySelector("progress").max = shown;
    bar.querySelector("progress").value = n;
    bar.querySelector("span").textContent = n + "/" + shown;
  }

  // Answers kept in the tab: a reload, a back button or a dropped connection loses nothing, and the
  // form's nonce comes back with them, so sending again stores the response once.
  function fields() {
    var out = [];
    new FormData(form).forEach(function (v, k) { if (k !== "csrf_token" && k !== "website") out.push([k, v]); });
    return out;
  }
  function save() {
    if (kiosk) return;
    try { sessionStorage.setItem(key, JSON.stringify({ at: Date.now(), fields: fields() })); } catch (e) { /* full or off */ }
  }
  function restore() {
    var saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(key) || "null"); } catch (e) { return; }
    // Two hours: long enough for a back button or a lost connection, short enough that a later visit
    // to the same counter in the same tab starts a new rating (a kept nonce would be thanked, not stored).
    if (!saved || Date.now() - saved.at > 72e5) return;
    // Sent (the thank-you page said so): only the back button brings those answers back; a new visit
    // is a new rating.
    var nav = window.performance && performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
    if (saved.sent && !(nav && nav.type === "back_forward")) {
      try { sessionStorage.removeItem(key); } catch (e) { /* off */ }
      return;
    }
    var values = {};
    saved.fields.forEach(function (f) { (values[f[0]] = values[f[0]] || []).push(f[1]); });
    if ((values.version_id || [])[0] !== form.elements.version_id.value) return;
    [].forEach.call(form.elements, function (el) {
      var got = values[el.name];
      if (!got || el.type === "hidden" && el.name !== "nonce") return;
      if (el.type === "radio" || el.type === "checkbox") el.checked = got.indexOf(el.value) >= 0;
      else el.value = got[0];
    });
    var more = form.querySelector("details.more");
    if (more && [].some.call(more.querySelectorAll("input:checked, textarea"), function (el) {
      return el.checked || el.value; })) more.open = true;
  }
  if (!kiosk && form.dataset.fresh) restore();

  // Skip logic: a question with data-show-if is shown only while the earlier answer meets its rule.
  // A hidden question is disabled (its answer is not sent) and cleared; the server drops it anyway.
  var conditional = [].slice.call(form.querySelectorAll("fieldset.q[data-show-if]"));
  function givenValues(field) {
    var out = [];
    [].forEach.call(form.querySelectorAll("[name='" + field + "']"), function (el) {
      if (el.disabled) return;
      if (el.type === "radio" || el.type === "checkbox") { if (el.checked && el.value) out.push(el.value); }
      else if (el.value.trim()) out.push(el.value.trim());
    });
    return out;
  }
  function ruleMet(rule) {
    var given = givenValues(rule.field);
    if (!given.length) return false;
    return given.some(function (v) {
      if (rule.op === "equals" || rule.op === "one_of") {
        return rule.values.some(function (w) { return String(w) === v; });
      }
      var n = Number(v);
      if (isNaN(n)) return false;
      return rule.op === "at_most" ? n <= rule.values[0] : n >= rule.values[0];
    });
  }
  function applyConditions() {
    // In page order, so a question that depends on a hidden one is hidden too.
    conditional.forEach(function (q) {
      var show = ruleMet(JSON.parse(q.dataset.showIf));
      if (show === !q.hidden) return;
      q.hidden = !show;
      q.disabled = !show;
      if (!show) {
        q.querySelectorAll("input[type=radio], input[type=checkbox]").forEach(function (el) { el.checked = false; });
        q.querySelectorAll("textarea, input[type=number]").forEach(function (el) { el.value = ""; });
      }
    });
    form.querySelectorAll("section").forEach(function (sec) {
      var qs = sec.querySelectorAll("fieldset.q");
      sec.hidden = qs.length > 0 && [].every.call(qs, function (q) { return q.hidden; });
    });
  }
  if (conditional.length) {
    form.querySelectorAll(".cond-note").forEach(function (p) { p.hidden = true; });
    applyConditions();
    form.addEventListener("change", applyConditions);
    form.addEventListener("input", applyConditions);
  }

  // One question per screen on long forms: progress, back and next; the last screen sends.
  var steps = [], allSteps = [], at = 0, nav = form.querySelector(".stepnav");
  if (form.dataset.stepped && nav) {
    var part = form.querySelector("details.more") || form;
    allSteps = [].slice.call(part.querySelectorAll("fieldset.q:not(.quick)"));
    steps = allSteps.filter(function (q) { return !q.hidden; });
    form.classList.add("stepped");
    nav.hidden = false;
  }
  var last = form.querySelector(".send.last");
  function show(i, focus) {
    if (!allSteps.length) return;
    // Skip logic may have hidden or shown questions since: the screens are the shown questions.
    var current = steps[at];
    steps = allSteps.filter(function (q) { return !q.hidden; });
    if (current && steps.indexOf(current) < 0 && i === at) i = Math.min(at, steps.length - 1);
    if (!steps.length) return;
    at = Math.max(0, Math.min(i, steps.length - 1));
    steps.forEach(function (s, j) { s.classList.toggle("step-off", j !== at); });
    form.querySelectorAll("section").forEach(function (sec) {
      var h = sec.querySelector("h2");
      if (h) h.classList.toggle("step-off", !sec.contains(steps[at]));
    });
    nav.querySelector(".back").hidden = at === 0;
    nav.querySelector(".next").hidden = at === steps.length - 1;
    if (last) last.hidden = at !== steps.length - 1;
    var where = nav.querySelector(".where");
    where.textContent = where.dataset.words.replace("{n}", at + 1).replace("{total}", steps.length);
    if (focus) {
      var target = steps[at].querySelector("legend, label") || steps[at];
      steps[at].scrollIntoView({ block: "start" });
      var input = steps[at].querySelector("input:checked") || steps[at].querySelector("input, select, textarea");
      if (input) input.focus({ preventScroll: true });
      else target.focus();
    }
  }
  if (steps.length) {
    nav.querySelector(".back").addEventListener("click", function () { show(at - 1, true); });
    nav.querySelector(".next").addEventListener("click", function () { show(at + 1, true); });
    // A tap on an answer moves on (a keyboard's arrows only choose: they never skip a question).
    form.addEventListener("click", function (e) {
      var t = e.target;
      if (!e.detail || t.type !== "radio" || !steps[at] || !steps[at].contains(t) || at >= steps.length - 1) return;
      var from = at;
      setTimeout(function () { if (at === from) show(at + 1, true); }, 250);
    });
    var bad = form.querySelector("fieldset.bad");
    show(bad && steps.indexOf(bad) >= 0 ? steps.indexOf(bad) : 0, false);
  }

  // The error summary: focus on it, and each link leads to its question (on its own screen).
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (e) {
      var link = e.target.closest("a[href^='#']");
      var target = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      e.preventDefault();
      var step = target.closest(".svc, fieldset.q") || target;
      var more = step.closest("details");
      if (more) more.open = true;
      if (steps.indexOf(step) >= 0) show(steps.indexOf(step), false);
      step.scrollIntoView({ block: "start" });
      var input = step.querySelector("input, select, textarea");
      if (input) input.focus({ preventScroll: true });
    });
  }

  if (bar) { bar.hidden = false; update(); }
  form.addEventListener("change", function () { update(); save(); });
  form.addEventListener("input", function () { update(); save(); });
  form.addEventListener("submit", function (e) {
    if (e.defaultPrevented) return;
    save();
    var buttons = form.querySelectorAll(".send");
    // Disable after the browser has taken the values; re-enable if the network never answers.
    setTimeout(function () { buttons.forEach(function (b) { b.disabled = true; }); }, 0);
    setTimeout(function () { buttons.forEach(function (b) { b.disabled = false; }); }, 15000);
  });
  // Back to a page the browser kept: the buttons work again (the nonce is the same, so a resend is stored once).
  window.addEventListener("pageshow", function () { form.querySelectorAll(".send").forEach(function (b) { b.disabled = false; }); });
  window.surveyProgress = update;
  // Show a question by its id, on its screen (for links and tests).
  window.surveyGoto = function (id) {
    var step = document.getElementById(id), more = step && step.closest("details");
    if (more) more.open = true;
    if (step && steps.indexOf(step) >= 0) show(steps.indexOf(step), false);
  };
})();
