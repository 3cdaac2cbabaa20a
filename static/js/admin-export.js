// Admin CSV export: the "Select all" box ticks or clears every field, as django-import-export's
// inline onchange handler did (the Content-Security-Policy refuses inline handlers).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  document.querySelectorAll(".select-toggle").forEach(function (toggle) {
    toggle.addEventListener("change", function (event) {
      document
        .querySelectorAll('.selectable-field-export-row input[type="checkbox"]')
        .forEach(function (box) { box.checked = event.target.checked; });
    });
  });
});
