/*
 * Import progress: while a dry run or an apply runs, ask the server how far it is every two
 * seconds and show it; when it is finished, load the job page again (through admin.js's
 * session-token fetch when App Bridge is there, else a plain reload).
 */
(function () {
  "use strict";

  var card = document.getElementById("imports-progress");
  if (!card || card.dataset.polling) return;
  card.dataset.polling = "1";
  var bar = card.querySelector("progress");
  var text = card.querySelector("[data-progress-text]");

  function headers() {
    if (window.shopify && typeof window.shopify.idToken === "function") {
      return window.shopify.idToken().then(function (token) {
        return { Authorization: "Bearer " + token, Accept: "application/json" };
      });
    }
    return Promise.resolve({ Accept: "application/json" });
  }

  function reload() {
    var link = document.createElement("a");
    link.href = card.dataset.reloadUrl;
    link.hidden = true;
    document.body.appendChild(link);
    link.click(); // admin.js turns the click into a token-carrying fetch
    link.remove();
  }

  function poll() {
    if (!document.body.contains(card)) return; // another page was loaded
    headers()
      .then(function (h) {
        return fetch(card.dataset.progressUrl, { headers: h, credentials: "omit" });
      })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (state) {
        bar.value = state.percent;
        text.textContent = (text.dataset.template || "__DONE__ / __TOTAL__")
          .replace("__DONE__", state.processed_rows)
          .replace("__TOTAL__", state.total_rows);
        if (state.finished) reload();
        else setTimeout(poll, 2000);
      })
      .catch(function () {
        setTimeout(poll, 5000);
      });
  }

  setTimeout(poll, 1000);
})();
