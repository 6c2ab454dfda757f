/* Genesis Assist's chat widget for the portal page. Hand-written, no build step, no framework.
 *
 * It signs in through the portal (an HttpOnly cookie it never sees), asks the portal for a
 * short-lived chat token, and talks to the assistant over socket.io (the vendored UMD build of
 * socket.io-client 4) with that token in the handshake. The server decides which conversation
 * the token belongs to and replays it after a reload; nothing of the conversation is stored in
 * the browser, so after sign-out there is nothing left to show anyone.
 *
 * Everything the server sends is put on the page with textContent, never as HTML.
 */
(function () {
  "use strict";

  var ENDED = "Your session has ended. Please sign in again to keep chatting.";
  var NO_ANSWER_MS = 20000;
  var MIN_REFRESH_MS = 5000;

  var $ = function (id) { return document.getElementById(id); };
  var chatUrl = document.querySelector('meta[name="genesis-chat-url"]').content;
  var ui = {
    account: $("account"), accountName: $("account-name"), signOut: $("sign-out"),
    sessionState: $("session-state"), signIn: $("sign-in"), signInForm: $("sign-in-form"),
    identity: $("identity"), home: $("home"), homeName: $("home-name"),
    log: $("chat-log"), typing: $("chat-typing"), chatState: $("chat-state"),
    form: $("chat-form"), input: $("chat-input"), send: $("chat-send")
  };
  var state = {
    token: null, socket: null, refreshTimer: null, typingTimer: null, retried: false, focusOnConnect: false
  };

  // ---- the portal: sign-in, token refresh, sign-out ------------------------------------

  function post(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function loadIdentities() {
    return fetch("/api/demo-identities", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { identities: [] }; })
      .then(function (data) {
        ui.identity.textContent = "";
        var placeholder = new Option("Choose a person", "");
        ui.identity.add(placeholder);
        (data.identities || []).forEach(function (person) {
          var label = person.name + " (" + person.role + (person.account === "basic" ? ", basic account" : "") + ")";
          ui.identity.add(new Option(label, person.key));
        });
      })
      .catch(function () { ui.identity.textContent = ""; ui.identity.add(new Option("Demo sign-in unavailable", "")); });
  }

  function signedIn(data) {
    state.token = data.token;
    state.retried = false;
    ui.sessionState.textContent = "";
    ui.accountName.textContent = data.name;
    ui.homeName.textContent = data.name.split(" ")[0];
    ui.account.hidden = false;
    ui.signIn.hidden = true;
    ui.home.hidden = false;
    scheduleRefresh(data.expires_in);
    if (!state.socket) { connect(); }
  }

  function scheduleRefresh(expiresIn) {
    clearTimeout(state.refreshTimer);
    var wait = Math.max(MIN_REFRESH_MS, (Number(expiresIn) || 0) * 600); // at 60 % of its life
    state.refreshTimer = setTimeout(refresh, wait);
  }

  function refresh() {
    return post("/api/token").then(function (reply) {
      if (!reply.ok) { ended(reply.data.message || ENDED); return false; }
      state.token = reply.data.token;
      scheduleRefresh(reply.data.expires_in);
      if (state.socket && state.socket.connected) {
        state.socket.emit("refresh_token", { token: state.token }, function (ack) {
          if (!ack || !ack.ok) { ended((ack && ack.message) || ENDED); }
        });
      }
      return true;
    }).catch(function () {
      scheduleRefresh(10); // the portal is unreachable for now: try again shortly
      return false;
    });
  }

  function teardown() {
    clearTimeout(state.refreshTimer);
    clearTimeout(state.typingTimer);
    if (state.socket) { state.socket.removeAllListeners(); state.socket.disconnect(); }
    state.socket = null;
    state.token = null;
    if (window.speechSynthesis) { window.speechSynthesis.cancel(); }
    ui.log.textContent = "";
    ui.typing.hidden = true;
    ui.input.value = "";
    enableInput(false);
    ui.account.hidden = true;
    ui.home.hidden = true;
    ui.signIn.hidden = false;
  }

  function ended(message) {
    teardown();
    ui.sessionState.textContent = message || ENDED;
    ui.chatState.textContent = "Sign in again to chat with the assistant.";
  }

  function signOut() {
    teardown();
    ui.chatState.textContent = "You're signed out. Sign in to chat with the assistant.";
    ui.sessionState.textContent = "";
    return post("/api/sign-out").finally(function () { ui.identity.focus(); });
  }

  // ---- the socket ----------------------------------------------------------------------

  function connect() {
    if (typeof window.io !== "function") {
      ui.chatState.textContent = "The chat couldn't load. Please reload the page.";
      return;
    }
    ui.chatState.textContent = "Connecting to the assistant…";
    var socket = window.io(chatUrl, {
      transports: ["websocket"],
      auth: function (cb) { cb({ token: state.token }); },
      reconnectionDelayMax: 10000
    });
    state.socket = socket;
    socket.on("connect", function () {
      state.retried = false;
      ui.chatState.textContent = "";
      enableInput(true);
      if (state.focusOnConnect) { state.focusOnConnect = false; ui.input.focus(); }
      socket.emit("session_request", {});
    });
    socket.on("history", function (messages) {
      ui.log.textContent = "";
      (messages || []).forEach(function (m, i) {
        var last = i === messages.length - 1;
        if (m.sender === "user") { renderUser(m.text); } else { renderBot(m, { live: last }); }
      });
      scrollToEnd();
    });
    socket.on("bot_uttered", function (message) {
      hideTyping();
      renderBot(message, { live: true });
      scrollToEnd();
    });
    socket.on("session_ended", function (data) { ended((data && data.message) || ENDED); });
    socket.on("disconnect", function (reason) {
      enableInput(false);
      hideTyping();
      if (reason !== "io client disconnect") { ui.chatState.textContent = "Reconnecting to the assistant…"; }
    });
    socket.on("connect_error", function (err) {
      enableInput(false);
      if (socket.active) { // the network or the server's Origin check: socket.io retries
        ui.chatState.textContent = "Can't reach the assistant right now. Trying again…";
        return;
      }
      // Refused by the server: the token was not accepted. Get a fresh one once, then give up.
      if (!state.retried) {
        state.retried = true;
        refresh().then(function (ok) { if (ok && state.socket === socket) { socket.connect(); } });
        return;
      }
      ended((err && err.message) || ENDED);
    });
  }

  function enableInput(on) {
    ui.input.disabled = !on;
    ui.send.disabled = !on;
  }

  function send(text, shownAs) {
    var message = (text || "").trim();
    if (!message || !state.socket || !state.socket.connected) { return; }
    disableChoices();
    renderUser(shownAs || message);
    scrollToEnd();
    showTyping();
    state.socket.emit("user_uttered", { message: message });
  }

  function showTyping() {
    ui.typing.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, NO_ANSWER_MS);
  }

  function hideTyping() {
    clearTimeout(state.typingTimer);
    ui.typing.hidden = true;
  }

  function scrollToEnd() { ui.log.scrollTop = ui.log.scrollHeight; }

  // ---- rendering -----------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  var LINKS = /(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)])|((?:\+?1[-. ])?\(?\b\d{3}\)?[-. ]\d{3}[-.]\d{4}\b)/g;

  /** Text with web addresses and phone numbers as links (tap to call on a phone). */
  function linked(text) {
    var out = document.createDocumentFragment();
    var last = 0;
    String(text).replace(LINKS, function (match, url, phone, offset) {
      out.appendChild(document.createTextNode(text.slice(last, offset)));
      var a = el("a", "", match);
      if (url) {
        a.href = url;
        a.rel = "noopener noreferrer";
        a.target = "_blank";
      } else {
        var digits = phone.replace(/\D/g, "");
        a.href = "tel:+" + (digits.length === 10 ? "1" + digits : digits);
      }
      out.appendChild(a);
      last = offset + match.length;
      return match;
    });
    out.appendChild(document.createTextNode(text.slice(last)));
    return out;
  }

  /** Lines as paragraphs, "- " lines as a list. */
  function prose(text) {
    var box = document.createDocumentFragment();
    var list = null;
    String(text || "").split("\n").forEach(function (line) {
      if (/^\s*[-•]\s+/.test(line)) {
        if (!list) { list = el("ul"); box.appendChild(list); }
        var item = el("li");
        item.appendChild(linked(line.replace(/^\s*[-•]\s+/, "")));
        list.appendChild(item);
      } else if (line.trim()) {
        list = null;
        var p = el("p");
        p.appendChild(linked(line));
        box.appendChild(p);
      }
    });
    return box;
  }

  function renderUser(text) {
    var wrap = el("div", "message message-user");
    wrap.dataset.sender = "user";
    var bubble = el("div", "bubble");
    bubble.appendChild(el("span", "visually-hidden", "You said: "));
    bubble.appendChild(document.createTextNode(text));
    wrap.appendChild(bubble);
    ui.log.appendChild(wrap);
  }

  function renderBot(message, options) {
    var custom = message.custom || {};
    if (custom.emergency) { return renderEmergency(message, custom); }
    var wrap = el("div", "message message-bot");
    wrap.dataset.sender = "bot";
    var bubble = el("div", "bubble");
    bubble.appendChild(el("span", "visually-hidden", "Assistant: "));
    if (custom.results && Array.isArray(custom.results.rows)) {
      wrap.classList.add("results");
      bubble.appendChild(resultsTable(custom.results));
    } else {
      bubble.appendChild(prose(message.text));
    }
    if (custom.handoff && custom.dial) {
      var calls = el("div", "call-links");
      calls.appendChild(callLink("Call " + custom.dial, telHref(custom.dial)));
      bubble.appendChild(calls);
    }
    wrap.appendChild(bubble);
    if (Array.isArray(message.buttons) && message.buttons.length) {
      wrap.appendChild(choices(message.buttons, options && options.live));
    }
    ui.log.appendChild(wrap);
  }

  function telHref(number) {
    var digits = String(number).replace(/[^\d+]/g, "");
    return "tel:" + digits;
  }

  function callLink(label, href) {
    var a = el("a", "call-link", label);
    a.href = href;
    return a;
  }

  function renderEmergency(message, custom) {
    var wrap = el("div", "message emergency");
    wrap.dataset.sender = "bot";
    wrap.dataset.emergency = custom.emergency;
    wrap.setAttribute("role", "alert");
    wrap.appendChild(el("h3", "", custom.emergency === "crisis" ? "Help is available now" : "Get emergency help now"));
    wrap.appendChild(el("p", "", message.text));
    var contacts = Array.isArray(custom.contacts) && custom.contacts.length
      ? custom.contacts : [{ label: "Call 911", href: "tel:911" }];
    var calls = el("div", "call-links");
    contacts.forEach(function (c) {
      if (/^(tel|sms):[\d+]+$/.test(String(c.href))) { calls.appendChild(callLink(c.label, c.href)); }
    });
    wrap.appendChild(calls);
    ui.log.appendChild(wrap);
  }

  function choices(buttons, live) {
    var group = el("div", "choices");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Choices");
    buttons.forEach(function (b) {
      var button = el("button", "choice", b.title);
      button.type = "button";
      button.disabled = !live;
      button.addEventListener("click", function () {
        button.setAttribute("aria-pressed", "true");
        send(b.payload, b.title);
        ui.input.focus();
      });
      group.appendChild(button);
    });
    return group;
  }

  function disableChoices() {
    Array.prototype.forEach.call(ui.log.querySelectorAll("button.choice"), function (b) { b.disabled = true; });
  }

  function resultsTable(results) {
    var box = document.createDocumentFragment();
    var head = el("div", "results-head");
    head.appendChild(el("p", "", results.heading));
    if (results.speech) { head.appendChild(listenButton("Listen", "Listen to all results", results.speech)); }
    box.appendChild(head);
    var table = el("table");
    table.appendChild(el("caption", "visually-hidden", results.heading));
    var thead = el("thead");
    var tr = el("tr");
    ["Test", "Value", "Unit", "Normal range", "Flag"].forEach(function (h) {
      var th = el("th", "", h);
      th.scope = "col";
      tr.appendChild(th);
    });
    var listenHead = el("th");
    listenHead.scope = "col";
    listenHead.appendChild(el("span", "visually-hidden", "Read aloud"));
    tr.appendChild(listenHead);
    thead.appendChild(tr);
    table.appendChild(thead);
    var body = el("tbody");
    results.rows.forEach(function (r) {
      var row = el("tr");
      var name = el("th");
      name.scope = "row";
      name.dataset.label = "Test";
      name.appendChild(document.createTextNode(r.test));
      name.appendChild(el("span", "detail", "Collected " + r.collected));
      if (r.source) { name.appendChild(el("span", "detail", r.source)); }
      row.appendChild(name);
      row.appendChild(cell("Value", r.value));
      row.appendChild(cell("Unit", r.unit || "—"));
      row.appendChild(cell("Normal range", r.range || "—"));
      var flag = cell("Flag", "");
      flag.appendChild(el("span", "flag" + (r.flag === "normal" ? "" : " flag-abnormal"), capitalize(r.flag_text)));
      if (r.review) { flag.appendChild(el("span", r.reviewed ? "detail" : "review-pending", capitalize(r.review))); }
      row.appendChild(flag);
      var listen = el("td");
      if (r.speech) { listen.appendChild(listenButton("Listen", "Listen to " + r.test, r.speech)); }
      row.appendChild(listen);
      body.appendChild(row);
    });
    table.appendChild(body);
    box.appendChild(table);
    return box;
  }

  function cell(label, text) {
    var td = el("td", "", text);
    td.dataset.label = label;
    return td;
  }

  function capitalize(text) {
    text = String(text || "");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function listenButton(label, name, speech) {
    var button = el("button", "button button-small listen", label);
    button.type = "button";
    button.setAttribute("aria-label", name);
    button.addEventListener("click", function () { speak(speech); });
    return button;
  }

  /** Reads aloud with the browser's own voice: the same words the phone line says. */
  function speak(text) {
    if (!("speechSynthesis" in window)) {
      ui.chatState.textContent = "This browser can't read aloud.";
      return;
    }
    window.speechSynthesis.cancel();
    var utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = "en-US";
    window.speechSynthesis.speak(utterance);
  }

  // ---- wiring --------------------------------------------------------------------------

  ui.signInForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!ui.identity.value) { ui.identity.focus(); return; }
    post("/api/sign-in", { identity: ui.identity.value }).then(function (reply) {
      if (!reply.ok) { ui.sessionState.textContent = reply.data.message || "Sign-in failed."; return; }
      ui.log.textContent = "";
      state.focusOnConnect = true;
      signedIn(reply.data);
    });
  });
  ui.signOut.addEventListener("click", signOut);
  ui.form.addEventListener("submit", function (event) {
    event.preventDefault();
    send(ui.input.value);
    ui.input.value = "";
  });
  ui.input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.form.requestSubmit();
    }
  });

  loadIdentities().then(function () { return post("/api/token"); }).then(function (reply) {
    if (reply.ok) { signedIn(reply.data); return; }
    if (reply.data && reply.data.ended) { ended(reply.data.message); }
  });
})();
