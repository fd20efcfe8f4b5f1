// Refunds to carry out, on the PayCombat settings page (mounted in <section id="refunds">).
// PayCombat refunds only in its own dashboard: each refund Saleor asked for is listed with the exact
// steps and the payin id to copy, and the merchant marks it refunded (optionally with PayCombat's
// reference) or declined (with a reason Saleor shows on the order). The Dashboard's iframe ignores
// window.confirm and blocks the Clipboard API, so the reason is a field and the payin id a
// select-on-focus text box.
// It uses app.js's API access and helpers (window.PayCombatPage: the token, its refresh, `el`) and
// lists the refunds once app.js has loaded the page.
(function () {
  "use strict";

  const params = new URLSearchParams(window.location.search);
  const selectedPayment = params.get("payment");
  const framed = window.parent !== window;
  const { gql, el } = window.PayCombatPage;

  const FIELDS = "id amount currency state payinId checkoutId sourceType sourceId orderNumber requestedBy requestedAt steps paycombatReference declineReason decidedBy decidedAt";
  const LIST = `query Refunds { refunds { ${FIELDS} } }`;
  const CONFIRM = `mutation Confirm($id: String!, $reference: String) { result: confirmRefund(id: $id, reference: $reference) { ok message } }`;
  const DECLINE = `mutation Decline($id: String!, $reason: String!) { result: declineRefund(id: $id, reason: $reason) { ok message } }`;

  // Listed once, after the page's first load; later reloads of the page leave the list (and anything
  // typed into it) alone: a decision reloads it itself.
  document.addEventListener("paycombat:loaded", () => load(), { once: true });

  function when(iso) { return iso ? new Date(iso).toLocaleString() : ""; }

  function copyBox(label, value) {
    const box = el("input", { type: "text", readonly: "readonly", value: value, "aria-label": label, class: "copy-box" });
    box.addEventListener("focus", () => box.select());
    return box;
  }

  function owedItem(refund) {
    const result = el("p", { class: "result", role: "status", "aria-live": "polite" });
    const reference = el("input", { type: "text", name: "reference", autocomplete: "off", id: "ref-" + refund.id, placeholder: "e.g. RF-20261201-001" });
    const reason = el("input", { type: "text", name: "reason", autocomplete: "off", id: "why-" + refund.id, placeholder: "e.g. PayCombat refused the refund" });
    async function decide(query, variables, button) {
      button.disabled = true;
      result.className = "result";
      result.textContent = "Saving…";
      try {
        const data = await gql(query, variables);
        result.textContent = data.result.message;
        result.className = "result " + (data.result.ok ? "good" : "bad");
        if (data.result.ok) await load(data.result.message);
      } catch (error) { result.textContent = error.message; result.className = "result bad"; }
      finally { button.disabled = false; }
    }
    const confirmButton = el("button", { type: "button", class: "primary", text: "Mark refunded" });
    confirmButton.addEventListener("click", () => decide(CONFIRM, { id: refund.id, reference: reference.value.trim() || null }, confirmButton));
    const declineButton = el("button", { type: "button", class: "danger", text: "Decline" });
    declineButton.addEventListener("click", () => {
      if (!reason.value.trim()) { result.textContent = "Enter why the refund is declined; Saleor shows it on the order."; result.className = "result bad"; reason.focus(); return; }
      decide(DECLINE, { id: refund.id, reason: reason.value }, declineButton);
    });
    const source = refund.sourceType === "checkout" ? "Checkout never completed (Saleor released the funds)"
      : refund.orderNumber ? "Order #" + refund.orderNumber : "Order";
    return el("li", { class: "refund" + (selectedPayment && selectedPayment === refund.checkoutId ? " selected" : ""), "data-refund": refund.id }, [
      el("div", { class: "row" }, [
        el("h3", { text: refund.amount + " " + refund.currency + " to refund" }),
        el("span", { class: "badge", text: refund.id }),
      ]),
      el("dl", {}, [
        el("dt", { text: "PayCombat payin" }), el("dd", {}, [copyBox("PayCombat payin id", refund.payinId || "")]),
        el("dt", { text: "PayCombat checkout" }), el("dd", { text: refund.checkoutId || "—" }),
        el("dt", { text: "For" }), el("dd", { text: source }),
        el("dt", { text: "Asked" }), el("dd", { text: when(refund.requestedAt) + " by " + refund.requestedBy }),
      ]),
      el("ol", { class: "steps" }, refund.steps.map((step) => el("li", { text: step }))),
      el("div", { class: "decide" }, [
        el("div", { class: "field" }, [el("label", { for: "ref-" + refund.id, text: "PayCombat refund reference (optional)" }), reference]),
        confirmButton,
      ]),
      el("div", { class: "decide" }, [
        el("div", { class: "field" }, [el("label", { for: "why-" + refund.id, text: "Reason, if PayCombat will not refund" }), reason]),
        declineButton,
      ]),
      result,
    ]);
  }

  function decidedRow(refund) {
    const outcome = refund.state === "refunded"
      ? "Refunded" + (refund.paycombatReference ? " (" + refund.paycombatReference + ")" : "")
      : "Declined: " + (refund.declineReason || "");
    return el("tr", {}, [
      el("td", { text: when(refund.decidedAt) }), el("td", { text: refund.amount + " " + refund.currency }),
      el("td", { text: refund.payinId || "—" }), el("td", { text: outcome }), el("td", { text: refund.decidedBy || "" }),
    ]);
  }

  // Saleor's order page links here (the transaction's externalUrl) in a new tab, outside the
  // Dashboard: say which payment was meant and where to open it.
  document.addEventListener("DOMContentLoaded", () => {
    const outside = document.getElementById("outside");
    if (framed || !selectedPayment || !outside) return;
    outside.append(el("p", { id: "outside-payment", text: "You followed the link of PayCombat payment " + selectedPayment +
      " from a Saleor order. Open Saleor Dashboard › Extensions › Installed › PayCombat (Apps › PayCombat in older Dashboards) to see it and its refunds." }));
  });

  async function load(note) {
    const section = document.getElementById("refunds");
    if (!section) return;
    let data;
    try { data = await gql(LIST); } catch (error) {
      section.hidden = false;
      section.replaceChildren(el("h2", { id: "refunds-title", text: "Refunds to carry out" }), el("p", { class: "result bad", text: error.message }));
      return;
    }
    const owed = data.refunds.filter((refund) => refund.state === "owed");
    const decided = data.refunds.filter((refund) => refund.state !== "owed");
    const children = [
      el("h2", { id: "refunds-title", text: "Refunds to carry out" }),
      el("p", { class: "muted", text: "PayCombat refunds only in its dashboard. Carry out each refund there, then tell the app: Saleor's order is updated within seconds." }),
    ];
    if (note) children.push(el("p", { class: "result good", role: "status", text: note }));
    if (selectedPayment) children.push(el("p", { class: "hint", text: "Payment " + selectedPayment + " is highlighted." }));
    children.push(owed.length
      ? el("ul", { id: "refunds-owed", class: "refund-list" }, owed.map(owedItem))
      : el("p", { id: "no-refunds", class: "muted", text: "No refunds to carry out." }));
    if (decided.length) {
      children.push(el("h3", { text: "Done" }));
      children.push(el("table", { id: "refunds-done" }, [
        el("thead", {}, [el("tr", {}, ["When", "Amount", "Payin", "Outcome", "By"].map((h) => el("th", { scope: "col", text: h })))]),
        el("tbody", {}, decided.map(decidedRow)),
      ]));
    }
    section.replaceChildren(...children);
    section.hidden = false;
  }
})();
