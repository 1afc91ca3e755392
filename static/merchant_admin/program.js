// Program pages: keep "an order of 100.00 earns N points" in step with the earn rate being
// typed, and show only the earn-rule fields that apply to the chosen kind. The server checks
// and computes everything again; this only previews.
(function () {
  "use strict";

  function roundWith(value, rounding) {
    var clean = Math.round(value * 1e6) / 1e6; // 100 * 1.1 is 110.00000000000001
    if (rounding === "up") return Math.ceil(clean);
    if (rounding === "nearest") return Math.round(clean);
    return Math.floor(clean);
  }

  function earnExample(form) {
    var rate = document.getElementById(form.dataset.rateField || "");
    var rounding = document.getElementById(form.dataset.roundingField || "");
    var output = form.querySelector("[data-earn-points]");
    if (!rate || !output) return;
    var fixedRounding = (form.querySelector("[data-rounding]") || {}).dataset;
    function update() {
      var value = parseFloat(rate.value);
      if (!(value >= 0)) return;
      var mode = rounding ? rounding.value : (fixedRounding && fixedRounding.rounding) || "down";
      output.textContent = String(roundWith(100 * value, mode));
    }
    rate.addEventListener("input", update);
    if (rounding) rounding.addEventListener("change", update);
  }

  var RULE_FIELDS = {
    product: ["target", "values", "effect", "multiplier", "points"],
    campaign: ["effect", "multiplier", "points", "tiers"],
    milestone: ["points", "every_nth", "first_order"],
  };
  var ALWAYS = ["name", "kind", "starts_at", "ends_at", "enabled"];

  function ruleForm(form) {
    var kind = form.querySelector("[name=kind]");
    var effect = form.querySelector("[name=effect]");
    if (!kind) return;
    function update() {
      var shown = ALWAYS.concat(RULE_FIELDS[kind.value] || []);
      var eff = effect ? effect.value : "";
      form.querySelectorAll(".field").forEach(function (field) {
        var name = field.id.replace(/^field-/, "");
        var visible = shown.indexOf(name) !== -1;
        if (name === "multiplier" && eff !== "multiply") visible = false;
        if (name === "points" && eff !== "bonus" && kind.value !== "milestone") visible = false;
        // A field with a message stays in view.
        field.hidden = !visible && !field.classList.contains("has-error");
      });
    }
    kind.addEventListener("change", update);
    if (effect) effect.addEventListener("change", update);
    update();
  }

  document.querySelectorAll("form[data-earn-example]").forEach(earnExample);
  document.querySelectorAll("form[data-rule-form]").forEach(ruleForm);
})();
