// The supervision board refreshes itself every few seconds, unless an urging is being typed.
(function () {
  "use strict";
  var box = document.getElementById("board");
  if (!box) { return; }
  var every = parseInt(box.dataset.refresh, 10) * 1000;
  function busy() {
    // Never wipe an urging being typed.
    var active = document.activeElement;
    if (active && box.contains(active) && active.tagName !== "BODY") return true;
    return Array.prototype.some.call(box.querySelectorAll("textarea, input[type=text]"), function (el) {
      return el.value.trim() !== "";
    });
  }
  function refresh() {
    if (busy()) return;
    fetch(box.dataset.src, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && !busy()) { box.innerHTML = data.html; } })
      .catch(function () {});
  }
  setInterval(refresh, every);
  window.supervisionRefresh = refresh;
})();
