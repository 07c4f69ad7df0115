/* Kiosk mode: answers go through a queue on the tablet (IndexedDB), so a lost connection
   loses nothing; each queued answer keeps its nonce, so a retry is stored once.
   After each person, or when left idle, the kiosk reloads an empty form. */
(function () {
  "use strict";
  var root = document.getElementById("kiosk");
  var form = root && root.querySelector("form.survey");
  if (!form || !window.indexedDB || !window.fetch) return;
  var home = root.dataset.home, idleMs = (+root.dataset.idle || 90) * 1000;
  var last = Date.now(), token = null, running = null;

  function nonce() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return btoa(String.fromCharCode.apply(null, b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  // A page from the offline cache carries an old nonce: every person gets a new one.
  form.elements.nonce.value = nonce();

  function store(mode, work) {
    return new Promise(function (ok, fail) {
      var open = indexedDB.open("sipas-kiosk", 1);
      open.onupgradeneeded = function () { open.result.createObjectStore("queue", { keyPath: "nonce" }); };
      open.onerror = function () { fail(open.error); };
      open.onsuccess = function () {
        var tx = open.result.transaction("queue", mode), req = work(tx.objectStore("queue"));
        tx.oncomplete = function () { ok(req && req.result); open.result.close(); };
        tx.onerror = function () { fail(tx.error); };
      };
    });
  }
  function queued() { return store("readonly", function (s) { return s.getAll(); }); }
  function forget(n) { return store("readwrite", function (s) { return s.delete(n); }); }

  function showCount() {
    return queued().then(function (items) {
      document.getElementById("queue").textContent =
        items.length ? root.dataset.waiting.replace("{n}", items.length) : "";
      return items;
    });
  }

  function freshToken() {
    return fetch(root.dataset.session, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); }).then(function (j) { token = j.csrf; return token; });
  }

  function post(item) {
    var body = new URLSearchParams(item.fields), stop = new AbortController();
    body.set("csrf_token", token || form.elements.csrf_token.value);
    var timer = setTimeout(function () { stop.abort(); }, 10000);
    return fetch(item.action, { method: "POST", body: body, credentials: "same-origin", signal: stop.signal })
      .finally(function () { clearTimeout(timer); });
  }

  // Resolves true when the item is settled (stored, or refused for good), false to keep it queued.
  async function send(item, retried) {
    var r = await post(item);
    if (r.status === 400 && !retried) { await freshToken(); return send(item, true); }
    var stored = r.ok && /\/thanks/.test(r.url);
    if (stored || [404, 409, 410, 422].indexOf(r.status) >= 0) { await forget(item.nonce); return true; }
    return false;
  }

  function flush() {
    if (running) return running.then(flush);
    running = (async function () {
      try {
        for (var item of await queued()) { if (!(await send(item))) break; }
      } catch (e) { /* offline: try again later */ }
      running = null;
      await showCount();
    })();
    return running;
  }

  function reset() { location.replace(home); }

  // Help from staff: the officer's toggle ticks "an officer helped me" for this person only (a reset clears it).
  var helping = document.getElementById("helping"), helped = form.elements.assisted;
  if (helping && helped) {
    helping.hidden = false;
    var mark = function (on) {
      helped.checked = on;
      helping.setAttribute("aria-pressed", String(on));
      document.getElementById("helping-note").hidden = !on;
    };
    helping.addEventListener("click", function () { mark(!helped.checked); });
    helped.addEventListener("change", function () { mark(helped.checked); });
  }

  form.addEventListener("submit", async function (e) {
    if (!form.checkValidity()) return; // the server explains what is missing, in the page's language
    e.preventDefault();
    var fields = [];
    new FormData(form).forEach(function (v, k) { if (k !== "csrf_token") fields.push([k, v]); });
    fields.push(["answered_at", String(Date.now())]);
    var item = { nonce: form.elements.nonce.value, action: form.action, fields: fields };
    await store("readwrite", function (s) { return s.put(item); });
    var sent = false;
    try { sent = await send(item); } catch (err) { sent = false; }
    var done = document.getElementById("done");
    form.hidden = true;
    done.hidden = false;
    done.querySelectorAll("[data-sent]").forEach(function (el) { el.hidden = !sent; });
    done.querySelector("[data-queued]").hidden = sent;
    done.focus();
    await showCount();
    setTimeout(reset, (+root.dataset.thanks || 4) * 1000);
  });

  ["pointerdown", "keydown", "input", "change", "scroll"].forEach(function (t) {
    document.addEventListener(t, function () { last = Date.now(); }, { passive: true });
  });
  setInterval(function () {
    var touched = form.querySelector("input:checked") ||
      [].some.call(form.querySelectorAll("textarea, input[type=number]"), function (el) { return el.value; });
    if (touched && Date.now() - last > idleMs) reset();
  }, 1000);

  if (navigator.serviceWorker) {
    navigator.serviceWorker.register(root.dataset.sw, { scope: "/k/" }).catch(function () {});
    if (window.caches) {
      var assets = [home].concat([].map.call(document.querySelectorAll("link[rel=stylesheet], script[src]"),
        function (el) { return el.href || el.src; }));
      caches.open("sipas-kiosk-v1").then(function (c) { return c.addAll(assets); }).catch(function () {});
    }
  }
  window.addEventListener("online", flush);
  setInterval(flush, 30000);
  flush();
  window.kioskFlush = flush;
})();
