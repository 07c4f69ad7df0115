/* Designer: drag a question (within its element, or among the other questions) or an element to
   reorder it. Enhances the Move up / Move down buttons: a drop sends the same kind of step to the
   server, which checks it (a question may not come before the question its condition reads). */
(function () {
  "use strict";
  var form = document.querySelector("form.designer");
  if (!form) return;
  var dragged = null;
  function movable(el) { return el && el.closest ? el.closest("[data-move]") : null; }
  form.addEventListener("dragstart", function (e) {
    // Dragging starts from the handle only, so text in the inputs can still be selected.
    var item = e.target.classList && e.target.classList.contains("grip") ? movable(e.target) : null;
    if (!item) return;
    dragged = item;
    item.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", item.dataset.move + ":" + item.dataset.index);
  });
  form.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    form.querySelectorAll(".drop-here").forEach(function (el) { el.classList.remove("drop-here"); });
    dragged = null;
  });
  function target(e) {
    var item = movable(e.target);
    while (item && dragged && item.dataset.move !== dragged.dataset.move) item = movable(item.parentElement);
    return item && dragged && item !== dragged ? item : null;
  }
  form.addEventListener("dragover", function (e) {
    var item = target(e);
    if (!item) return;
    e.preventDefault();
    form.querySelectorAll(".drop-here").forEach(function (el) { el.classList.remove("drop-here"); });
    item.classList.add("drop-here");
  });
  form.addEventListener("drop", function (e) {
    var item = target(e);
    if (!item) return;
    e.preventDefault();
    var step = document.createElement("input");
    step.type = "hidden";
    step.name = "step";
    step.value = dragged.dataset.move + ":" + dragged.dataset.index + ":" + item.dataset.index;
    form.appendChild(step);
    form.submit();
  });
})();
