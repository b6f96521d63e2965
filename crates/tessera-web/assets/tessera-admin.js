// Tessera admin center: optional progressive enhancement. Without this script every control
// still works through the server; with it, "Select all on this page" ticks the boxes at once
// and the selection count follows the boxes as they change.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var table = document.getElementById("users");
  var button = document.getElementById("select-page");
  var count = document.getElementById("selection-count");
  if (!table || !button || !count) return;
  var others = Number(count.getAttribute("data-others")) || 0;
  function boxes() { return table.querySelectorAll('input[type="checkbox"][name="select"]'); }
  function update() {
    var n = others;
    boxes().forEach(function (b) { if (b.checked) n += 1; });
    count.textContent = n + " selected";
  }
  button.addEventListener("click", function (e) {
    e.preventDefault();
    boxes().forEach(function (b) { b.checked = true; });
    update();
  });
  table.addEventListener("change", update);
});
