// PayCombat settings page, inside Saleor Dashboard's iframe.
// The Dashboard hands us a short-lived token over postMessage (AppBridge "handshake", refreshed with
// "tokenRefresh"); every API call carries it in `authorization-bearer` with `saleor-api-url`.
// Secrets typed into the form are sent once and never shown again: the API only returns hints.
(function () {
  "use strict";

  const params = new URLSearchParams(window.location.search);
  const saleorApiUrl = params.get("saleorApiUrl") || "";
  const state = { token: null, tokenWaiters: [], configs: [], methods: [], editing: null };
  const $ = (id) => document.getElementById(id);

  // ---- AppBridge -------------------------------------------------------------------------------
  let dashboardOrigin = null;
  try { dashboardOrigin = document.referrer ? new URL(document.referrer).origin : null; } catch (e) { dashboardOrigin = null; }
  const framed = window.parent !== window;

  function applyTheme(theme) {
    document.documentElement.dataset.theme = theme === "dark" ? "dark" : "light";
  }
  applyTheme(params.get("theme"));

  function dispatch(type, payload) {
    if (!framed) return;
    const actionId = type + "-" + Math.random().toString(36).slice(2);
    window.parent.postMessage({ type: type, payload: Object.assign({ actionId: actionId }, payload || {}) }, dashboardOrigin || "*");
  }

  function setToken(token) {
    state.token = token;
    // Wake only the callers waiting to replace a different (expired) token.
    state.tokenWaiters = state.tokenWaiters.filter((waiter) => {
      if (waiter.previous === token) return true;
      waiter.resolve(token);
      return false;
    });
  }

  window.addEventListener("message", (event) => {
    if (!dashboardOrigin || event.origin !== dashboardOrigin || event.source !== window.parent) return;
    const message = event.data || {};
    const payload = message.payload || {};
    if (message.type === "handshake" || message.type === "tokenRefresh") {
      const first = state.token === null;
      setToken(payload.token);
      if (first) start();
    } else if (message.type === "theme") {
      applyTheme(payload.theme);
    }
  });

  function freshToken(previous) {
    // Ask the Dashboard to hand the token again (notifyReady makes it re-send the handshake).
    return new Promise((resolve, reject) => {
      if (state.token && state.token !== previous) { resolve(state.token); return; }
      const timer = setTimeout(() => reject(new Error("no fresh token")), 10000);
      state.tokenWaiters.push({ previous: previous, resolve: (token) => { clearTimeout(timer); resolve(token); } });
      dispatch("notifyReady");
    });
  }

  // ---- API -------------------------------------------------------------------------------------
  function status(text, bad) {
    const node = $("status");
    node.textContent = text;
    node.classList.toggle("bad", Boolean(bad));
  }

  async function gql(query, variables, retried) {
    const used = state.token;
    const response = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", "saleor-api-url": saleorApiUrl, "authorization-bearer": used || "" },
      body: JSON.stringify({ query: query, variables: variables || {} }),
    });
    if (response.status === 401 && !retried) {
      const body = await response.json().catch(() => ({}));
      const code = body.error && body.error.code;
      if (code === "TOKEN_EXPIRED" || code === "TOKEN_INVALID" || code === "TOKEN_MISSING") {
        status("Session expired — refreshing…");
        await freshToken(used);
        status("");
        return gql(query, variables, true);
      }
    }
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      const message = (body.error && body.error.message) || "The app answered " + response.status + ".";
      throw new Error(message);
    }
    const body = await response.json();
    if (body.errors && body.errors.length) throw new Error(body.errors.map((e) => e.message).join("; "));
    return body.data;
  }

  const CONFIG_FIELDS = "id name environment apiUrl effectiveApiUrl xTokenHint signatureKeyHint redirectUrl allowedPayinMethods allowUnsignedWebhooks channels webhookUrl";
  const LOAD = `query Load { configurations { ${CONFIG_FIELDS} } knownPayinMethods
    recentTransactions(limit: 20) { id checkoutId state amount paidAmount currency amountMismatch channel createdAt settledBy }
    reportsNeedingAttention { id eventType pspReference state attempts lastError }
    unmatchedDeliveries { id receivedAt kind payinId note } }`;
  const RESULT = `__typename ... on Configuration { ${CONFIG_FIELDS} } ... on ValidationErrors { errors { field code message } }`;

  // ---- rendering ---------------------------------------------------------------------------------
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    });
    (children || []).forEach((child) => node.append(child));
    return node;
  }

  function renderConfigs() {
    const list = $("config-list");
    list.replaceChildren();
    $("no-configs").hidden = state.configs.length > 0;
    state.configs.forEach((config) => {
      const result = el("p", { class: "result", role: "status", "aria-live": "polite" });
      const copy = el("button", { type: "button", text: "Copy", "aria-label": "Copy the webhook URL of " + config.name,
        onclick: async () => {
          try { await navigator.clipboard.writeText(config.webhookUrl); result.textContent = "Webhook URL copied."; }
          catch (e) { result.textContent = "Select the URL and copy it."; }
        } });
      const item = el("li", { class: "config", "data-config": config.id }, [
        el("div", { class: "row" }, [
          el("h3", {}, [config.name, el("span", { class: "badge " + config.environment, text: config.environment })]),
          el("div", { class: "actions" }, [
            el("button", { type: "button", text: "Test connection", onclick: () => testSaved(config, result) }),
            el("button", { type: "button", text: "Edit", onclick: () => openEditor(config) }),
            el("button", { type: "button", class: "danger", text: "Delete", onclick: () => removeConfig(config, result) }),
          ]),
        ]),
        el("dl", {}, [
          el("dt", { text: "Channels" }), el("dd", { text: config.channels.join(", ") || "none (not used yet)" }),
          el("dt", { text: "X-token" }), el("dd", { class: "hint-x", text: config.xTokenHint }),
          el("dt", { text: "Signature key" }), el("dd", { class: "hint-s", text: config.signatureKeyHint }),
          el("dt", { text: "PayCombat API" }), el("dd", { text: config.effectiveApiUrl }),
          el("dt", { text: "Webhook URL" }), el("dd", {}, [el("code", { class: "webhook-url", text: config.webhookUrl }), " ", copy]),
        ]),
        el("p", { class: "hint", text: "Paste the webhook URL into PayCombat › Setting › Integration Details." }),
        result,
      ]);
      list.append(item);
    });
  }

  function renderTable(id, emptyId, rows, cells) {
    const body = $(id).querySelector("tbody");
    body.replaceChildren(...rows.map((row) => el("tr", {}, cells(row).map((cell) => el("td", {}, [cell])))));
    $(id).hidden = rows.length === 0;
    $(emptyId).hidden = rows.length > 0;
  }

  function renderActivity(data) {
    renderTable("transactions", "no-transactions", data.recentTransactions, (t) => [
      new Date(t.createdAt).toLocaleString(), t.channel, t.checkoutId || "—",
      (t.paidAmount || t.amount) + " " + t.currency + (t.amountMismatch ? " (differs from requested " + t.amount + ")" : ""),
      t.state + (t.settledBy === "reconciliation" ? " · found by reconciliation" : ""),
    ]);
    renderTable("reports", "no-reports", data.reportsNeedingAttention, (r) => [
      r.eventType, r.pspReference, String(r.attempts), r.lastError || "waiting",
      el("button", { type: "button", text: "Retry now", onclick: () => retry(r.id) }),
    ]);
    renderTable("unmatched", "no-unmatched", data.unmatchedDeliveries, (d) => [
      new Date(d.receivedAt).toLocaleString(), d.kind, d.payinId || "—", d.note || "",
    ]);
  }

  async function load() {
    const data = await gql(LOAD);
    state.configs = data.configurations;
    state.methods = data.knownPayinMethods;
    renderConfigs();
    renderActivity(data);
  }

  // ---- editor ------------------------------------------------------------------------------------
  function clearErrors() {
    document.querySelectorAll(".error").forEach((node) => { node.textContent = ""; });
    document.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
    $("form-result").textContent = "";
    $("form-result").className = "result";
  }

  function openEditor(config) {
    state.editing = config || null;
    clearErrors();
    const form = $("config-form");
    form.reset();
    $("editor-title").textContent = config ? "Edit " + config.name : "Add configuration";
    form.elements.id.value = config ? config.id : "";
    form.elements.name.value = config ? config.name : "";
    form.elements.environment.value = config ? config.environment : "sandbox";
    form.elements.channels.value = config ? config.channels.join(", ") : "";
    form.elements.redirectUrl.value = config && config.redirectUrl ? config.redirectUrl : "";
    form.elements.apiUrl.value = config && config.apiUrl ? config.apiUrl : "";
    form.elements.allowUnsignedWebhooks.checked = Boolean(config && config.allowUnsignedWebhooks);
    $("h-xToken").textContent = config ? "Saved: " + config.xTokenHint + ". Leave empty to keep it." : "From PayCombat › Setting › Integration Details.";
    $("h-signatureKey").textContent = config ? "Saved: " + config.signatureKeyHint + ". Leave empty to keep it." : "Used to sign requests and to verify PayCombat's webhooks.";
    const methods = $("methods");
    methods.replaceChildren(...state.methods.map((name) => {
      const box = el("input", { type: "checkbox", name: "method", value: name, id: "m-" + name });
      box.checked = Boolean(config && config.allowedPayinMethods && config.allowedPayinMethods.includes(name));
      return el("label", { for: "m-" + name }, [box, name]);
    }));
    $("editor").hidden = false;
    form.elements.name.focus();
  }

  function formInput(creating) {
    const form = $("config-form");
    const input = {
      name: form.elements.name.value,
      environment: form.elements.environment.value,
      channels: form.elements.channels.value.split(",").map((s) => s.trim()).filter(Boolean),
      redirectUrl: form.elements.redirectUrl.value.trim(),
      apiUrl: form.elements.apiUrl.value.trim(),
      allowedPayinMethods: Array.from(form.querySelectorAll("input[name=method]:checked")).map((box) => box.value),
      allowUnsignedWebhooks: form.elements.allowUnsignedWebhooks.checked,
      xToken: form.elements.xToken.value,
      signatureKey: form.elements.signatureKey.value,
    };
    if (creating) {
      if (!input.redirectUrl) input.redirectUrl = null;
      if (!input.apiUrl) input.apiUrl = null;
    }
    return input;
  }

  function showFieldErrors(errors) {
    errors.forEach((error) => {
      const target = $("e-" + error.field);
      if (target) target.textContent = error.message;
      const input = $("f-" + error.field);
      if (input) input.setAttribute("aria-invalid", "true");
    });
    const result = $("form-result");
    result.textContent = "Nothing was saved: fix the fields marked above.";
    result.className = "result bad";
  }

  async function save(event) {
    event.preventDefault();
    clearErrors();
    const creating = !state.editing;
    const input = formInput(creating);
    const mutation = creating
      ? `mutation Create($input: ConfigurationInput!) { result: createConfiguration(input: $input) { ${RESULT} } }`
      : `mutation Update($id: ID!, $input: ConfigurationUpdate!) { result: updateConfiguration(id: $id, input: $input) { ${RESULT} } }`;
    try {
      const data = await gql(mutation, creating ? { input: input } : { id: state.editing.id, input: input });
      if (data.result.__typename === "ValidationErrors") { showFieldErrors(data.result.errors); return; }
      $("config-form").reset();
      $("editor").hidden = true;
      status("Saved " + data.result.name + ". Secrets are stored encrypted and shown only as hints.");
      dispatch("notification", { status: "success", title: "PayCombat", text: "Configuration saved" });
      await load();
    } catch (error) { status(error.message, true); }
  }

  async function testEntered() {
    const form = $("config-form");
    const result = $("form-result");
    result.textContent = "Testing…";
    result.className = "result";
    const variables = {
      id: state.editing ? state.editing.id : null,
      xToken: form.elements.xToken.value || null,
      signatureKey: form.elements.signatureKey.value || null,
      apiUrl: form.elements.apiUrl.value || null,
    };
    try {
      const data = await gql(`mutation Test($id: ID, $xToken: String, $signatureKey: String, $apiUrl: String) {
        testConnection(id: $id, xToken: $xToken, signatureKey: $signatureKey, apiUrl: $apiUrl) { ok message } }`, variables);
      result.textContent = data.testConnection.message;
      result.className = "result " + (data.testConnection.ok ? "good" : "bad");
    } catch (error) { result.textContent = error.message; result.className = "result bad"; }
  }

  async function testSaved(config, result) {
    result.textContent = "Testing…";
    try {
      const data = await gql("mutation Test($id: ID) { testConnection(id: $id) { ok message } }", { id: config.id });
      result.textContent = data.testConnection.message;
      result.className = "result " + (data.testConnection.ok ? "good" : "bad");
    } catch (error) { result.textContent = error.message; result.className = "result bad"; }
  }

  async function removeConfig(config, result) {
    if (!window.confirm("Delete " + config.name + "? Its channels stop offering PayCombat.")) return;
    const data = await gql("mutation Delete($id: ID!) { deleteConfiguration(id: $id) { ok message } }", { id: config.id });
    result.textContent = data.deleteConfiguration.message;
    if (data.deleteConfiguration.ok) await load();
  }

  async function retry(id) {
    const data = await gql("mutation Retry($id: Int!) { retryReport(id: $id) { ok message } }", { id: id });
    status(data.retryReport.message, !data.retryReport.ok);
    await load();
  }

  // ---- start -------------------------------------------------------------------------------------
  async function start() {
    status("Loading…");
    try {
      await load();
      $("content").hidden = false;
      $("outside").hidden = true;
      status("");
    } catch (error) {
      status(error.message, true);
    } finally {
      $("app").setAttribute("aria-busy", "false");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("add-config").addEventListener("click", () => openEditor(null));
    $("cancel-edit").addEventListener("click", () => { $("config-form").reset(); $("editor").hidden = true; });
    $("test-entered").addEventListener("click", testEntered);
    $("config-form").addEventListener("submit", save);
    if (!framed || !saleorApiUrl) {
      $("outside").hidden = false;
      status("");
      $("app").setAttribute("aria-busy", "false");
      return;
    }
    dispatch("notifyReady");
    setTimeout(() => {
      if (state.token === null) {
        $("outside").hidden = false;
        status("Saleor Dashboard did not hand over a session.", true);
      }
    }, 5000);
  });
})();
