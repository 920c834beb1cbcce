// crm-hub: the Insights page's audience builder — conditions in, a live count out. No build step.
"use strict";
(() => {
  const builder = document.getElementById("audience-builder");
  if (!builder) return;
  const list = document.getElementById("audience-conditions");
  const combine = document.getElementById("audience-combine");
  const output = document.getElementById("audience-count");
  const ruleText = document.getElementById("audience-rule");
  const template = document.getElementById("audience-condition");
  const NUMBER = /^-?\d+(\.\d+)?$/;

  // A typed value as the rule language wants it: numbers, true/false, else text.
  const scalar = (text) => {
    const t = text.trim();
    if (NUMBER.test(t)) return Number(t);
    if (t === "true" || t === "false") return t === "true";
    return t;
  };

  const condition = (item) => {
    const trait = item.querySelector(".trait").value;
    const op = item.querySelector(".op").value;
    const raw = item.querySelector(".value").value;
    let value;
    if (op === "in") value = raw.split(",").map(scalar).filter((v) => v !== "");
    else if (op === "between") value = raw.split(",").map((v) => Number(v.trim()));
    else if (op === "is_null") value = raw.trim() !== "false";
    else value = scalar(raw);
    return { trait, [op]: value };
  };

  let pending = null;
  let asked = 0;
  const refresh = () => {
    const items = [...list.children];
    if (!items.length) {
      output.textContent = "Add a condition to count its customers.";
      ruleText.textContent = "";
      return;
    }
    const rule = { [combine.value]: items.map(condition) };
    ruleText.textContent = "rule: " + JSON.stringify(rule);
    const ticket = ++asked;
    fetch("/api/analytics/audiences/count?rule=" + encodeURIComponent(JSON.stringify(rule)),
          { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(async (response) => {
        const body = await response.json();
        if (ticket !== asked) return;  // a later edit already asked again
        if (!response.ok) {
          output.textContent = "Not a valid rule: " + body.detail;
          output.classList.add("error");
          return;
        }
        output.classList.remove("error");
        const pct = (body.share * 100).toFixed(1);
        output.textContent = `${body.count.toLocaleString("en")} of ` +
          `${body.customers.toLocaleString("en")} customers (${pct} %)`;
      })
      .catch(() => { if (ticket === asked) output.textContent = "Could not count: try again."; });
  };
  const later = () => { clearTimeout(pending); pending = setTimeout(refresh, 250); };

  const add = () => {
    const item = template.content.firstElementChild.cloneNode(true);
    item.querySelector(".remove").addEventListener("click", () => { item.remove(); later(); });
    list.appendChild(item);
    item.querySelector(".trait").focus();
    later();
  };
  document.getElementById("audience-add").addEventListener("click", add);
  builder.addEventListener("input", later);
  builder.addEventListener("change", later);
})();
