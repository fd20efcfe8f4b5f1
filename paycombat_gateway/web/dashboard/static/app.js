// PayCombat settings page, inside Saleor Dashboard's iframe.
// The Dashboard hands us a short-lived token over postMessage (AppBridge "handshake", refreshed with
// "tokenRefresh"); every API call carries it in `authorization-bearer` with `saleor-api-url`.
// Secrets typed into the form are sent once and never shown again: the API only returns hints.
(function () {
  "use strict";

  const params = new URLSearchParams(window.location.search);
  const saleorApiUrl = params.get("saleorApiUrl") || "";
  const state = {
    token: null, tokenWaiters: [], configs: [], methods: [], channels: [], channelsError: null, editing: null,
    locale: "en", dashboardPath: null,
  };
  const $ = (id) => document.getElementById(id);

  // ---- AppBridge -------------------------------------------------------------------------------
  let dashboardOrigin = null;
  try { dashboardOrigin = document.referrer ? new URL(document.referrer).origin : null; } catch (e) { dashboardOrigin = null; }
  const framed = window.parent !== window;

  // The Dashboard's own URL, for links to its orders: its origin is the referrer's, its mount (usually
  // "/dashboard") the part of the `redirect` event's path before "/extensions/app/" (or "/apps/").
  function dashboardUrl(path) {
    const mount = (state.dashboardPath || "/dashboard/").split(/\/(extensions\/app|apps)\//)[0].replace(/\/$/, "");
    return (dashboardOrigin || "") + mount + path;
  }

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
    } else if (message.type === "localeChanged" && payload.locale) {
      state.locale = payload.locale;
    } else if (message.type === "redirect" && typeof payload.path === "string") {
      state.dashboardPath = payload.path;
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

  const CONFIG_FIELDS = "id name environment apiUrl effectiveApiUrl xTokenHint signatureKeyHint xTokenLength signatureKeyLength redirectUrl allowedPayinMethods allowUnsignedWebhooks channels webhookUrl";
  const LOAD = `query Load { configurations { ${CONFIG_FIELDS} } payinMethods { code name currencies }
    saleorChannels { error channels { slug name currency isActive configurationId configurationName currencyMethods warning } }
    recentTransactions(limit: 20) { id checkoutId state stateText amountText paidAmountText amountMismatch channel createdAt
      payinMethod payinMethodName saleorSourceType saleorSourceId orderId orderNumber settledBy heldReason }
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

  const channelBySlug = (slug) => state.channels.find((channel) => channel.slug === slug);
  const methodName = (code) => (state.methods.find((method) => method.code === code) || { name: code }).name;

  function channelText(slug) {
    const channel = channelBySlug(slug);
    return channel ? channel.name + " (" + slug + " · " + channel.currency + ")" : slug;
  }

  function secretText(hint, length) {
    return hint + " · " + length + " characters";
  }

  function say(node, text, tone) {
    node.textContent = text;
    node.className = "result" + (tone ? " " + tone : "");
  }

  // The Dashboard's iframe has no allow-modals (window.confirm is ignored) and its permissions policy
  // blocks the Clipboard API: confirmations are asked in the page, copying falls back to selecting a
  // read-only field and execCommand("copy"), and a copy that really failed says so.
  async function copyField(field) {
    try {
      await navigator.clipboard.writeText(field.value);
      return true;
    } catch (blocked) {
      field.focus();
      field.select();
      try { return document.execCommand("copy"); } catch (failed) { return false; }
    }
  }

  function configCard(config) {
    const result = el("p", { class: "result", role: "status", "aria-live": "polite" });
    const url = el("input", { class: "webhook-url", readonly: "", value: config.webhookUrl,
      "aria-label": "Webhook URL of " + config.name, spellcheck: "false" });
    const copy = el("button", { type: "button", text: "Copy", "aria-label": "Copy the webhook URL of " + config.name,
      onclick: async () => {
        if (await copyField(url)) say(result, "Webhook URL copied.", "good");
        else say(result, "Could not copy here: the URL is selected, press Ctrl+C (⌘C on a Mac) to copy it.", "bad");
      } });
    const actions = el("div", { class: "actions" });
    function showActions() {
      actions.replaceChildren(
        el("button", { type: "button", text: "Test connection", onclick: () => testSaved(config, result) }),
        el("button", { type: "button", text: "Edit", onclick: () => openEditor(config) }),
        el("button", { type: "button", class: "danger", text: "Delete", onclick: askDelete }),
      );
    }
    function askDelete() {
      say(result, "");
      const keep = el("button", { type: "button", text: "Keep it", onclick: () => { showActions(); actions.querySelector("button").focus(); } });
      actions.replaceChildren(
        el("span", { class: "confirm", text: "Delete " + config.name + "? Its channels stop offering PayCombat." }),
        el("button", { type: "button", class: "danger solid", text: "Delete " + config.name, onclick: () => removeConfig(config, result, showActions) }),
        keep,
      );
      keep.focus();
    }
    showActions();
    const warnings = state.channels.filter((c) => c.configurationId === config.id && c.warning)
      .map((c) => el("p", { class: "warning", text: c.warning }));
    const methods = config.allowedPayinMethods && config.allowedPayinMethods.length
      ? config.allowedPayinMethods.map(methodName).join(", ") : "every method PayCombat offers for the currency";
    return el("li", { class: "config", "data-config": config.id }, [
      el("div", { class: "row" }, [
        el("h3", {}, [config.name, el("span", { class: "badge " + config.environment, text: config.environment })]),
        actions,
      ]),
      el("dl", {}, [
        el("dt", { text: "Channels" }), el("dd", { class: "channels", text: config.channels.map(channelText).join(", ") || "none (not used yet)" }),
        el("dt", { text: "Allowed methods" }), el("dd", { class: "methods-list", text: methods }),
        el("dt", { text: "Default return URL" }), el("dd", { class: "return-url", text: config.redirectUrl || "none: the storefront sends one" }),
        el("dt", { text: "X-token" }), el("dd", { class: "hint-x", text: secretText(config.xTokenHint, config.xTokenLength) }),
        el("dt", { text: "Signature key" }), el("dd", { class: "hint-s", text: secretText(config.signatureKeyHint, config.signatureKeyLength) }),
        el("dt", { text: "PayCombat API" }), el("dd", { text: config.effectiveApiUrl }),
      ]),
      el("div", { class: "copyable" }, [el("span", { class: "muted", text: "Webhook URL" }), url, copy]),
      ...warnings,
      el("p", { class: "hint", text: "Paste the webhook URL into PayCombat › Setting › Integration Details." }),
      result,
    ]);
  }

  function renderConfigs() {
    $("config-list").replaceChildren(...state.configs.map(configCard));
    $("no-configs").hidden = state.configs.length > 0;
  }

  function renderTable(id, emptyId, rows, cells) {
    const body = $(id).querySelector("tbody");
    body.replaceChildren(...rows.map((row) => el("tr", {}, cells(row).map((cell) => el("td", {}, [cell])))));
    $(id).hidden = rows.length === 0;
    $(emptyId).hidden = rows.length > 0;
  }

  // Dates as the Dashboard writes them ("Dec 1, 2026, 9:43 PM" in English), the exact time on hover.
  function when(iso) {
    const date = new Date(iso);
    const text = new Intl.DateTimeFormat(state.locale || "en", { dateStyle: "medium", timeStyle: "short" }).format(date);
    return el("time", { datetime: iso, title: date.toISOString(), text: text });
  }

  // A link to the order in the Dashboard. The sandboxed iframe may not navigate the Dashboard itself, so
  // a click asks the Dashboard to go there (AppBridge `redirect`); the href is the real address.
  function orderLink(t) {
    if (!t.orderId) return el("span", { class: "muted", title: t.saleorSourceId, text: "Checkout, no order yet" });
    const path = "/orders/" + encodeURIComponent(t.orderId);
    return el("a", { class: "order", href: dashboardUrl(path), text: t.orderNumber ? "Order #" + t.orderNumber : "Order",
      onclick: (event) => { event.preventDefault(); dispatch("redirect", { to: path }); } });
  }

  function paymentCells(t) {
    const amount = (t.paidAmountText || t.amountText) + (t.amountMismatch ? " (requested " + t.amountText + ")" : "");
    const channel = channelBySlug(t.channel);
    return [
      when(t.createdAt), orderLink(t), channel ? channel.name : t.channel, amount,
      t.payinMethodName || "—", el("span", { class: "state " + t.state, title: t.heldReason || "",
        text: t.stateText + (t.settledBy === "reconciliation" ? " · found by reconciliation" : "") + (t.heldReason ? ": " + t.heldReason : "") }),
      t.checkoutId || "—",
    ];
  }

  function renderActivity(data) {
    renderTable("transactions", "no-transactions", data.recentTransactions, paymentCells);
    renderTable("reports", "no-reports", data.reportsNeedingAttention, (r) => [
      r.eventType, r.pspReference, String(r.attempts), r.lastError || "waiting",
      el("button", { type: "button", text: "Retry now", onclick: () => retry(r.id) }),
    ]);
    renderTable("unmatched", "no-unmatched", data.unmatchedDeliveries, (d) => [
      when(d.receivedAt), d.kind, d.payinId || "—", d.note || "",
    ]);
  }

  async function load() {
    const data = await gql(LOAD);
    state.configs = data.configurations;
    state.methods = data.payinMethods;
    state.channels = data.saleorChannels.channels;
    state.channelsError = data.saleorChannels.error;
    renderConfigs();
    renderActivity(data);
    document.dispatchEvent(new CustomEvent("paycombat:loaded", { detail: data }));
  }

  // ---- editor ------------------------------------------------------------------------------------
  function clearErrors() {
    document.querySelectorAll("#config-form .error").forEach((node) => { node.textContent = ""; });
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
    form.elements.redirectUrl.value = config && config.redirectUrl ? config.redirectUrl : "";
    form.elements.apiUrl.value = config && config.apiUrl ? config.apiUrl : "";
    form.elements.allowUnsignedWebhooks.checked = Boolean(config && config.allowUnsignedWebhooks);
    $("h-xToken").textContent = config ? "Saved: " + config.xTokenHint + ". Leave empty to keep it." : "From PayCombat › Setting › Integration Details.";
    $("h-signatureKey").textContent = config ? "Saved: " + config.signatureKeyHint + ". Leave empty to keep it." : "Used to sign requests and to verify PayCombat's webhooks.";
    const methods = $("methods");
    methods.replaceChildren(...state.methods.map((method) => {
      const box = el("input", { type: "checkbox", name: "method", value: method.code, id: "m-" + method.code });
      box.checked = Boolean(config && config.allowedPayinMethods && config.allowedPayinMethods.includes(method.code));
      return el("label", { for: "m-" + method.code, title: method.code + ": " + method.currencies.join(", ") }, [box, method.name]);
    }));
    renderChannelChoices(config);
    $("editor").hidden = false;
    form.elements.name.focus();
  }

  // Channels are chosen from the Saleor's own list; one this configuration holds but the Saleor no longer
  // lists stays choosable (to unmap it). A channel another configuration holds says which.
  function renderChannelChoices(config) {
    const held = config ? config.channels : [];
    const listed = state.channels.map((c) => c.slug);
    const choices = state.channels.concat(held.filter((slug) => !listed.includes(slug))
      .map((slug) => ({ slug: slug, name: slug, currency: null, missing: true })));
    $("channel-choices").replaceChildren(...choices.map((channel) => {
      const box = el("input", { type: "checkbox", name: "channel", value: channel.slug, id: "c-" + channel.slug, onchange: channelsChanged });
      box.checked = held.includes(channel.slug);
      const notes = [];
      if (channel.missing) notes.push(state.channelsError ? "mapped here now" : "not in this Saleor any more");
      else notes.push(channel.slug + " · " + channel.currency + (channel.isActive ? "" : " · inactive"));
      if (channel.configurationId && (!config || channel.configurationId !== config.id)) notes.push("pays with " + channel.configurationName);
      if (!channel.missing && !channel.currencyMethods.length) notes.push("PayCombat takes no " + channel.currency);
      return el("label", { for: "c-" + channel.slug, class: "choice" }, [box, el("span", {}, [channel.name, " ", el("small", { class: "muted", text: notes.join(" · ") })])]);
    }));
    $("h-channels").textContent = state.channelsError
      ? state.channelsError + " Channels can be added once Saleor answers; reload to try again."
      : "This Saleor's channels. A channel pays with one configuration.";
    $("h-channels").className = state.channelsError ? "hint bad" : "hint";
    channelsChanged();
  }

  function checkedChannels() {
    return Array.from(document.querySelectorAll("#channel-choices input:checked")).map((box) => box.value);
  }

  function channelsChanged() {
    const mine = state.editing ? state.editing.id : null;
    const checked = checkedChannels().map(channelBySlug).filter(Boolean);
    $("move-channels").hidden = !checked.some((c) => c.configurationId && c.configurationId !== mine);
    $("w-channels").textContent = checked.filter((c) => !c.currencyMethods.length)
      .map((c) => "PayCombat takes no " + c.currency + ": " + c.name + " will not offer PayCombat.").join(" ");
  }

  function formInput(creating) {
    const form = $("config-form");
    const input = {
      name: form.elements.name.value,
      environment: form.elements.environment.value,
      channels: checkedChannels(),
      moveChannels: form.elements.moveChannels.checked,
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

  function clearMessages() {
    status("");
    document.querySelectorAll("#config-list .result").forEach((node) => say(node, ""));
  }

  async function save(event) {
    event.preventDefault();
    clearErrors();
    clearMessages();
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
    clearMessages();
    say(result, "Testing…");
    try {
      const data = await gql("mutation Test($id: ID) { testConnection(id: $id) { ok message } }", { id: config.id });
      result.textContent = data.testConnection.message;
      result.className = "result " + (data.testConnection.ok ? "good" : "bad");
    } catch (error) { result.textContent = error.message; result.className = "result bad"; }
  }

  async function removeConfig(config, result, showActions) {
    say(result, "Deleting…");
    try {
      const data = await gql("mutation Delete($id: ID!) { deleteConfiguration(id: $id) { ok message } }", { id: config.id });
      if (!data.deleteConfiguration.ok) { showActions(); say(result, data.deleteConfiguration.message, "bad"); return; }
      status("Deleted " + config.name + ".");
      await load();
    } catch (error) { showActions(); say(result, error.message, "bad"); }
  }

  async function retry(id) {
    const data = await gql("mutation Retry($id: Int!) { retryReport(id: $id) { ok message } }", { id: id });
    status(data.retryReport.message, !data.retryReport.ok);
    await load();
  }

  // For sections added by their own script: the same API access and helpers, and a "paycombat:loaded"
  // event on document after every load.
  window.PayCombatPage = { gql: gql, el: el, status: status, dispatch: dispatch, dashboardUrl: dashboardUrl, reload: () => load() };

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
