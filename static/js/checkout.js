// Checkout: hide the billing fields while billing is the same as shipping.
// Without JavaScript they stay visible and the form still works.
(function () {
  "use strict";
  var same = document.getElementById("id_billing_same_as_shipping");
  var fields = document.getElementById("billing-fields");
  if (!same || !fields) return;
  function sync() { fields.hidden = same.checked; }
  same.addEventListener("change", sync);
  sync();
})();
