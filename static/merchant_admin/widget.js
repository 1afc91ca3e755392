// The widget settings page (/app/widget/): feeds the real, built widget in the preview box with
// the sample state and the form's current (unsaved) look, and rebuilds it on every change.
(function () {
  "use strict";
  var COLOUR = /^#[0-9a-f]{6}$/i;

  function luminance(colour) {
    var sum = 0;
    [[1, 0.2126], [3, 0.7152], [5, 0.0722]].forEach(function (pair) {
      var c = parseInt(colour.substr(pair[0], 2), 16) / 255;
      sum += pair[1] * (c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4));
    });
    return sum;
  }

  // As storefront_widget.selectors.readable_on: white or near-black on the primary colour.
  function readableOn(colour) {
    var light = luminance(colour);
    return 1.05 / (light + 0.05) >= (light + 0.05) / (luminance("#1c1c1c") + 0.05)
      ? "#ffffff"
      : "#1c1c1c";
  }

  function start() {
    var form = document.getElementById("widget-form");
    var stage = document.getElementById("widget-stage");
    var sample = document.getElementById("widget-sample-state");
    if (!form || !stage || !sample || stage.dataset.ready) return;
    stage.dataset.ready = "1";
    var base = JSON.parse(sample.textContent);
    var locale = document.getElementById("widget-preview-locale");
    var guest = document.getElementById("widget-preview-guest");
    var timer = null;

    function value(name) {
      var field = form.elements[name];
      if (!field) return "";
      return (field.value || "").trim();
    }

    function state() {
      var look = Object.assign({}, base.widget);
      ["primary_color", "text_color", "background_color"].forEach(function (name) {
        if (COLOUR.test(value(name))) look[name] = value(name).toLowerCase();
      });
      look.accent_text_color = readableOn(look.primary_color);
      look.position = value("position") || look.position;
      look.label = value("label");
      look.strings = {};
      form.querySelectorAll("input[data-locale][data-key]").forEach(function (input) {
        var text = input.value.trim();
        if (!text) return;
        var words = (look.strings[input.dataset.locale] = look.strings[input.dataset.locale] || {});
        words[input.dataset.key] = text;
      });
      var program = Object.assign({}, base.program, {
        name: value("program_name") || form.dataset.programName || base.program.name,
      });
      return Object.assign({}, base, {
        program: program,
        widget: look,
        customer: guest.checked ? null : base.customer,
      });
    }

    function openWhenReady(element, tries) {
      var button = element.shadowRoot && element.shadowRoot.querySelector("button.b");
      if (button) return button.click();
      if (tries > 0) setTimeout(function () { openWhenReady(element, tries - 1); }, 40);
    }

    function rebuild() {
      var old = stage.querySelector("setia-launcher");
      var wasOpen = !!(old && old.shadowRoot && old.shadowRoot.querySelector("[role=dialog]:not([hidden])"));
      var element = document.createElement("setia-launcher");
      element.dataset.stateUrl =
        "data:application/json;charset=utf-8," + encodeURIComponent(JSON.stringify(state()));
      element.dataset.redeemUrl = "data:application/json,{}";
      element.dataset.loginUrl = "#";
      element.dataset.registerUrl = "#";
      element.dataset.locale = locale.value;
      if (old) old.replaceWith(element);
      else stage.append(element);
      if (wasOpen) openWhenReady(element, 50);
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(rebuild, 150);
    }

    form.addEventListener("input", later);
    form.addEventListener("change", later);
    locale.addEventListener("change", rebuild);
    guest.addEventListener("change", rebuild);
    customElements.whenDefined("setia-launcher").then(function () {
      rebuild();
      openWhenReady(stage.querySelector("setia-launcher"), 50);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("admin:load", start); // a page swapped in by admin.js
})();
