/* The thank-you page: the answers survey.js kept in this tab for the form just sent are marked sent.
   The back button may still bring them back (same nonce: sending again stores nothing new), but a new
   visit to the counter starts a new rating with a new nonce, so a later citizen's answers are stored. */
(function () {
  "use strict";
  var nonce = new URLSearchParams(location.search).get("n");
  if (!nonce) return;
  try {
    for (var i = 0; i < sessionStorage.length; i++) {
      var name = sessionStorage.key(i);
      if (!name || name.indexOf("sipas-form:") !== 0) continue;
      var saved = JSON.parse(sessionStorage.getItem(name) || "null");
      if (!saved || !saved.fields) continue;
      var mine = saved.fields.some(function (f) { return f[0] === "nonce" && f[1] === nonce; });
      if (mine) { saved.sent = true; sessionStorage.setItem(name, JSON.stringify(saved)); }
    }
  } catch (e) { /* storage off: nothing was kept */ }
})();
