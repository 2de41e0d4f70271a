// Small helpers; every page works without them.
(function () {
  "use strict";

  // Print buttons (the result page with the tracking number and query code).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // The anonymity box is only for reports of misconduct: show it when such a subject is
  // chosen. The server refuses anonymity elsewhere whatever the page shows.
  var category = document.getElementById("category");
  var box = document.querySelector(".anonymity");
  var check = document.getElementById("anonymous");
  if (category && box && check) {
    var update = function () {
      var option = category.options[category.selectedIndex];
      var allowed = option && option.getAttribute("data-anonymous") === "1";
      var hasError = box.classList.contains("field-error");
      box.hidden = !(allowed || hasError || check.checked);
      if (!allowed && !hasError) { check.checked = false; box.hidden = true; }
    };
    category.addEventListener("change", update);
    update();
  }

  // After a failed submit, take the reader to the list of what needs correcting.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
