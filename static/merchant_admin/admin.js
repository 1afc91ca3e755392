/*
 * Setia merchant admin: page loads inside the Shopify admin frame, without a framework.
 *
 * Links and forms under /app/ on this origin go through fetch with a fresh session token
 * (App Bridge's shopify.idToken(); the real App Bridge also adds it to same-origin fetches).
 * fetch follows the server's 303 after a valid POST; a 400 (an invalid form) comes back with
 * the form re-rendered. Either way the new page's <body> replaces this one, the title, lang
 * and dir follow, history keeps the address (pushState; back and forward load it again), and
 * the page's own scripts run again (then `admin:load` is dispatched on document).
 *
 * The admin's language (Shopify's `locale`, only on the first load) is kept on every address
 * and sent as Accept-Language, which a followed redirect still carries.
 *
 * Links with `download` are fetched the same way and saved from a blob. Links with a target,
 * links to a place on the page (#id), other origins, and clicks with a modifier key are left
 * to the browser.
 */
(function () {
  "use strict";

  var PREFIX = "/app/";
  var root = document.documentElement;
  var busy = false;

  function language() {
    return root.getAttribute("lang") || "en";
  }

  function adminUrl(raw) {
    var url = new URL(raw, location.href);
    if (url.origin !== location.origin || url.pathname.indexOf(PREFIX) !== 0) return null;
    if (url.pathname === PREFIX + "session-token-bounce") return null;
    url.searchParams.delete("id_token");
    url.searchParams.set("locale", language());
    return url;
  }

  function token() {
    if (!window.shopify || typeof window.shopify.idToken !== "function") {
      return Promise.reject(new Error("App Bridge is not available"));
    }
    return window.shopify.idToken();
  }

  // A token that expired on the way is answered 401 with Shopify's retry header: once more
  // with a fresh one, as App Bridge does.
  function send(url, options) {
    return sendOnce(url, options).then(function (response) {
      if (response.status === 401 && response.headers.get("X-Shopify-Retry-Invalid-Session-Request")) {
        return sendOnce(url, options);
      }
      return response;
    });
  }

  function sendOnce(url, options) {
    return token().then(function (sessionToken) {
      var headers = new Headers(options.headers || {});
      headers.set("Authorization", "Bearer " + sessionToken);
      headers.set("Accept-Language", language());
      if (!headers.has("Accept")) headers.set("Accept", "text/html");
      return fetch(url.toString(), {
        method: options.method || "GET",
        body: options.body,
        headers: headers,
        credentials: "omit",
        redirect: "follow",
      });
    });
  }

  function showError(message) {
    var main = document.getElementById("main");
    if (!main) return;
    var banner = document.createElement("div");
    banner.className = "banner critical";
    banner.setAttribute("role", "alert");
    banner.textContent = message;
    main.insertBefore(banner, main.firstChild);
  }

  function runScripts(container) {
    var scripts = container.querySelectorAll("script");
    for (var i = 0; i < scripts.length; i++) {
      var old = scripts[i];
      var fresh = document.createElement("script");
      for (var j = 0; j < old.attributes.length; j++) {
        fresh.setAttribute(old.attributes[j].name, old.attributes[j].value);
      }
      fresh.async = false;
      fresh.textContent = old.textContent;
      old.parentNode.replaceChild(fresh, old);
    }
  }

  function adoptHead(doc) {
    document.title = doc.title;
    root.setAttribute("lang", doc.documentElement.getAttribute("lang") || "en");
    root.setAttribute("dir", doc.documentElement.getAttribute("dir") || "ltr");
    var links = doc.head.querySelectorAll('link[rel="stylesheet"]');
    for (var i = 0; i < links.length; i++) {
      var href = links[i].getAttribute("href");
      if (!document.head.querySelector('link[rel="stylesheet"][href="' + CSS.escape(href) + '"]')) {
        document.head.appendChild(links[i].cloneNode(true));
      }
    }
  }

  function swap(html, addressUrl, push) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    adoptHead(doc);
    document.body.replaceWith(document.adoptNode(doc.body));
    runScripts(document.body);
    if (push === "push") history.pushState({ admin: true }, "", addressUrl);
    else if (push === "replace") history.replaceState({ admin: true }, "", addressUrl);
    var heading = document.querySelector("#main h1") || document.getElementById("main");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
    document.dispatchEvent(new CustomEvent("admin:load"));
  }

  function load(url, options, historyMode) {
    if (busy) return Promise.resolve();
    busy = true;
    root.classList.add("is-loading");
    return send(url, options)
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        return response.text().then(function (body) {
          if (type.indexOf("text/html") === -1) {
            throw new Error(errorMessage(response.status, body));
          }
          var address = adminUrl(response.url) || url;
          // An invalid form (400) is shown where it was posted; the address stays.
          var mode = response.status === 400 ? "none" : historyMode;
          if (response.redirected && mode === "none" && response.status !== 400) mode = "replace";
          swap(body, address.toString(), mode);
        });
      })
      .catch(function (error) {
        showError(error.message);
      })
      .then(function () {
        busy = false;
        root.classList.remove("is-loading");
      });
  }

  function errorMessage(status, body) {
    try {
      var parsed = JSON.parse(body);
      if (parsed && parsed.error && parsed.error.message) return parsed.error.message;
    } catch (ignored) {
      /* not JSON */
    }
    return "The page could not be loaded (" + status + ").";
  }

  function download(url, link) {
    send(url, { headers: { Accept: "*/*" } })
      .then(function (response) {
        if (!response.ok) throw new Error("The file could not be downloaded (" + response.status + ").");
        return response.blob();
      })
      .then(function (blob) {
        var objectUrl = URL.createObjectURL(blob);
        var anchor = document.createElement("a");
        anchor.href = objectUrl;
        anchor.download = link.getAttribute("download") || "";
        document.body.appendChild(anchor);
        anchor.click();
        anchor.remove();
        setTimeout(function () { URL.revokeObjectURL(objectUrl); }, 1000);
      })
      .catch(function (error) { showError(error.message); });
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || (link.target && link.target !== "_self")) return;
    if (link.getAttribute("href").charAt(0) === "#") return; // a place on this page
    var url = adminUrl(link.getAttribute("href"));
    if (!url) return;
    event.preventDefault();
    if (link.hasAttribute("download")) download(url, link);
    else load(url, { method: "GET" }, "push");
  });

  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) return;
    var form = event.target;
    var submitter = event.submitter;
    var action = (submitter && submitter.getAttribute("formaction")) || form.getAttribute("action") || location.href;
    var url = adminUrl(action);
    if (!url) return;
    event.preventDefault();
    var data = new FormData(form, submitter || undefined);
    var method = ((submitter && submitter.getAttribute("formmethod")) || form.method || "get").toUpperCase();
    if (method === "GET") {
      url.search = "";
      data.forEach(function (value, name) {
        if (typeof value === "string" && value !== "") url.searchParams.append(name, value);
      });
      url.searchParams.set("locale", language());
      load(url, { method: "GET" }, "push");
      return;
    }
    var multipart = (form.getAttribute("enctype") || "").toLowerCase() === "multipart/form-data";
    var body = multipart ? data : new URLSearchParams(data);
    load(url, { method: "POST", body: body }, "push");
  });

  window.addEventListener("popstate", function () {
    var url = adminUrl(location.href);
    if (url) load(url, { method: "GET" }, "none");
  });

  // The first load's address carries a one-minute id_token: keep the rest of it.
  var first = adminUrl(location.href);
  if (first) history.replaceState({ admin: true }, "", first.toString());
})();
