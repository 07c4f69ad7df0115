/* Kiosk service worker: keeps the kiosk page and its files so a tablet that loses its
   connection still shows an empty form. Answers are queued by kiosk.js, not here. */
var CACHE = "sipas-kiosk-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (e) { e.waitUntil(self.clients.claim()); });

function networkFirst(request) {
  var timeout = new Promise(function (_, fail) { setTimeout(function () { fail(new Error("slow")); }, 5000); });
  return Promise.race([fetch(request), timeout]).then(function (response) {
    if (response.ok && response.type === "basic") {
      var copy = response.clone();
      caches.open(CACHE).then(function (c) { return c.put(request.url.split("?")[0], copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request, { ignoreSearch: true }).then(function (hit) { return hit || Response.error(); });
  });
}

self.addEventListener("fetch", function (e) {
  var request = e.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin) return;
  if (request.mode === "navigate" && /^\/k\/[^/]+$/.test(url.pathname)) {
    e.respondWith(networkFirst(request));
  } else if (url.pathname.indexOf("/static/") === 0) {
    e.respondWith(networkFirst(request));
  }
});
