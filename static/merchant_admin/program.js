// Program pages: keep "an order of 100.00 earns N points" in step with the earn rate being
// typed, and show only the earn-rule and reward fields that apply to the chosen kind. The
// server checks and computes everything again; this only previews.
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

  // Which fields apply to each kind of earn rule and of reward; the rest are hidden (the
  // server clears them anyway). A field with a message always stays in view.
  var RULE_FIELDS = {
    always: ["name", "kind", "starts_at", "ends_at", "enabled"],
    product: ["target", "values", "effect", "multiplier", "points"],
    campaign: ["effect", "multiplier", "points", "tiers"],
    milestone: ["points", "every_nth", "first_order"],
  };
  var REWARD_FIELDS = {
    always: ["name", "kind", "points_cost", "tiers", "per_customer_limit", "starts_at", "ends_at", "enabled"],
    amount_off: ["value", "minimum_subtotal", "code_expiry_days"],
    percent_off: ["value", "minimum_subtotal", "code_expiry_days"],
    free_shipping: ["minimum_subtotal", "code_expiry_days"],
    free_product: ["product_variant_id", "value", "minimum_subtotal", "code_expiry_days"],
    points_to_money: ["value", "min_points", "max_points", "minimum_subtotal", "code_expiry_days"],
    charity: ["value", "cause"],
  };

  function showFieldsOf(form, fields, extra) {
    var kind = form.querySelector("[name=kind]");
    if (!kind) return;
    function update() {
      var shown = fields.always.concat(fields[kind.value] || []);
      form.querySelectorAll(".field").forEach(function (field) {
        var name = field.id.replace(/^field-/, "");
        var visible = shown.indexOf(name) !== -1 && (!extra || extra(form, name));
        field.hidden = !visible && !field.classList.contains("has-error");
      });
    }
    form.addEventListener("change", update);
    update();
  }

  function ruleEffect(form, name) {
    var kind = form.querySelector("[name=kind]").value;
    var effect = (form.querySelector("[name=effect]") || {}).value;
    if (name === "multiplier") return effect === "multiply";
    if (name === "points") return effect === "bonus" || kind === "milestone";
    return true;
  }

  document.querySelectorAll("form[data-earn-example]").forEach(earnExample);
  document.querySelectorAll("form[data-rule-form]").forEach(function (form) {
    showFieldsOf(form, RULE_FIELDS, ruleEffect);
  });
  document.querySelectorAll("form[data-reward-form]").forEach(function (form) {
    showFieldsOf(form, REWARD_FIELDS);
  });
})();
