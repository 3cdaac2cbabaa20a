// Add to cart and the wishlist heart without leaving the page: forms marked
// data-quick-action="cart" or "wishlist" are sent with fetch, asking for JSON, to the same
// views the forms post to (same CSRF token, same rules). The answer updates the cart badges
// (data-cart-count) or the heart, and its message is written into the page's live region
// (#messages, aria-live) so screen readers announce it; it is also shown as a toast, in
// sight wherever the page is scrolled. Without JavaScript the forms post as usual and the
// server redirects back to the product's anchor.
(function () {
  "use strict";

  var FAILED = "Something went wrong, so nothing was changed: reload the page and try again.";
  var OFFLINE = "The shop could not be reached: check your connection and try again.";
  var region = document.getElementById("messages");
  var hideTimer = null;

  function announce(text, ok) {
    if (!region) return;
    window.clearTimeout(hideTimer);
    // One message at a time: older ones (and the page's flashed ones) are stale now.
    region.textContent = "";
    var alert = document.createElement("div");
    alert.className = "alert alert-dismissible quick-message " + (ok ? "alert-success" : "alert-danger");
    alert.setAttribute("data-testid", "quick-message");
    alert.appendChild(document.createTextNode(text));
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", function () { alert.remove(); });
    alert.appendChild(close);
    region.appendChild(alert);
    if (ok) {
      // Good news leaves by itself; an error stays until closed or replaced.
      hideTimer = window.setTimeout(function () { alert.remove(); }, 8000);
    }
  }

  function setCartCount(count) {
    document.querySelectorAll("[data-cart-count]").forEach(function (badge) {
      badge.textContent = String(count);
    });
  }

  function setWished(form, wished) {
    var data = form.dataset;
    var button = form.querySelector("button[type=submit]");
    var heart = form.querySelector("[data-wishlist-heart]");
    var label = form.querySelector("[data-wishlist-label]");
    form.action = wished ? data.removeUrl : data.addUrl;
    if (button) {
      button.setAttribute("aria-pressed", wished ? "true" : "false");
      button.title = wished ? data.titleOn : data.titleOff;
      button.classList.toggle("btn-danger", wished);
      button.classList.toggle("btn-outline-danger", !wished);
    }
    if (heart) heart.textContent = wished ? "\u2665" : "\u2661";
    if (label) label.textContent = wished ? data.labelOn : data.labelOff;
  }

  function send(form) {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    form.setAttribute("aria-busy", "true");
    return fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "X-CSRFToken": token ? token.value : "",
      },
    }).then(
      function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === -1) {
          return { ok: false, data: { message: FAILED } }; // e.g. the expired-form page
        }
        return response.json().then(function (data) {
          return { ok: response.ok, data: data };
        });
      },
      function () {
        return { ok: false, data: { message: OFFLINE } };
      }
    );
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var kind = form.getAttribute && form.getAttribute("data-quick-action");
    if (!kind || !window.fetch) return;
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return; // a double click adds once
    send(form).then(function (answer) {
      form.removeAttribute("aria-busy");
      var data = answer.data || {};
      if (data.login_url) {
        window.location.assign(data.login_url); // signed out meanwhile: sign in, come back
        return;
      }
      if (typeof data.cart_count === "number") setCartCount(data.cart_count);
      if (answer.ok && kind === "wishlist") setWished(form, data.in_wishlist === true);
      announce(data.message || FAILED, answer.ok);
    });
  });
})();
