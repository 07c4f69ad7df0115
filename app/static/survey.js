/* Enhancements only: the form works without this file. Shows progress, prevents a double tap. */
(function () {
  var form = document.querySelector("form.survey");
  if (!form) return;
  var bar = document.getElementById("progress");
  var questions = form.querySelectorAll("fieldset.q");
  function answered(q) {
    if (q.querySelector("input:checked:not([value=''])")) return true;
    var box = q.querySelector("textarea, input[type=number]");
    return !!(box && box.value.trim());
  }
  function update() {
    if (!bar) return;
    var n = 0;
    questions.forEach(function (q) { if (answered(q)) n++; });
    bar.querySelector("progress").value = n;
    bar.querySelector("span").textContent = n + "/" + questions.length;
  }
  if (bar) { bar.hidden = false; update(); }
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  form.addEventListener("submit", function (e) {
    if (e.defaultPrevented) return;
    var button = form.querySelector(".send");
    // Disable after the browser has taken the values; re-enable if the network never answers.
    setTimeout(function () { button.disabled = true; }, 0);
    setTimeout(function () { button.disabled = false; }, 15000);
  });
  window.surveyProgress = update;
})();
