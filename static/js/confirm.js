// Ask before submitting a form marked <form data-confirm="Question?">, e.g. cancelling an order.
// Replaces onsubmit="return window.confirm(…)", which the Content-Security-Policy refuses.
document.addEventListener("submit", function (event) {
  "use strict";
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
