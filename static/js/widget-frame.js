/* Parley web chat panel: the script of /widget/frame, the page the widget
   opens in its iframe on the workspace's origin. The page works without it
   (plain forms); with it, messages are sent and shown in place and the
   team's replies arrive live (GET /widget/events).
   Every text shown is set with textContent, never parsed as HTML.
   The visitor's token is kept in this origin's localStorage and sent as
   X-Parley-Visitor, because a browser may refuse the cookie in a frame on
   another site (see app/web/widget.go). */
(function () {
  "use strict";
  var d = document, root = d.querySelector("[data-webchat]");
  if (!root) return;

  var KEY = "parley-visitor", store = null, token = "";
  try {
    store = window.localStorage;
    token = store.getItem(KEY) || "";
  } catch (e) { /* storage refused: the cookie alone carries the visitor */ }
  var fresh = root.getAttribute("data-visitor") || "";
  var known = root.getAttribute("data-known") === "1";
  var log = q("[data-wc-log]"), scroller = q("[data-wc-scroll]"), form = q("[data-wc-compose]");
  var text = form.elements.text, sendBtn = form.querySelector("button"), error = q("[data-wc-error]");
  var status = q("[data-wc-status]"), emailBox = q("[data-wc-email-box]"), emailForm = q("[data-wc-email]");
  var emailDone = q("[data-wc-email-done]"), older = q("[data-wc-older]"), closeBtn = q("[data-wc-close]");
  var inFrame = window.parent !== window, stream = null, key = newKey(), sending = false;

  function q(sel) { return root.querySelector(sel); }

  function newKey() {
    var a = new Uint8Array(12);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function keep(t) {
    if (!t) return;
    token = t;
    fresh = "";
    try { if (store) store.setItem(KEY, t); } catch (e) { /* the cookie still works */ }
  }

  // api calls a widget endpoint with the visitor's token; a refusal throws
  // an Error carrying the server's message and field errors.
  function api(method, url, body) {
    var h = { "Accept": "application/json" };
    if (body) h["Content-Type"] = "application/json";
    if (token || fresh) h["X-Parley-Visitor"] = token || fresh;
    return fetch(url, { method: method, headers: h, credentials: "same-origin", body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (r.ok) return j;
          var e = new Error((j.error && j.error.message) || "Something went wrong. Please try again.");
          e.fields = (j.error && j.error.fields) || [];
          throw e;
        });
      }, function () {
        throw new Error("You seem to be offline. Check your connection and try again.");
      });
  }

  function when(iso) {
    var t = new Date(iso);
    if (isNaN(t)) return "";
    return t.toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  function stamp(time) {
    time.textContent = time.getAttribute("data-who") + " · " + when(time.getAttribute("datetime"));
  }

  function line(m) {
    if (d.getElementById("m-" + m.id)) return null;
    var li = d.createElement("li"), p = d.createElement("p"), meta = d.createElement("span"), time = d.createElement("time");
    li.className = "wc-line" + (m.mine ? " wc-mine" : "");
    li.id = "m-" + m.id;
    li.setAttribute("data-id", m.id);
    li.setAttribute("data-testid", "wc-line");
    li.setAttribute("data-mine", m.mine ? "1" : "0");
    p.className = "bubble" + (m.mine ? " mine" : "");
    p.textContent = m.text;
    li.appendChild(p);
    if (m.files) {
      var f = d.createElement("p");
      f.className = "wc-files";
      f.textContent = m.files === 1 ? "A file came with this message; ask us to send it by email."
        : m.files + " files came with this message; ask us to send them by email.";
      li.appendChild(f);
    }
    meta.className = "bubble-meta";
    time.setAttribute("datetime", m.at);
    time.setAttribute("data-who", m.mine ? "You" : (m.name || "Team"));
    stamp(time);
    meta.appendChild(time);
    li.appendChild(meta);
    return li;
  }

  function nearBottom() { return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80; }
  function toBottom() { scroller.scrollTop = scroller.scrollHeight; }

  // add appends messages; a reply from the team (not on the first load)
  // tells the page, so a closed launcher shows a dot.
  function add(msgs, quiet) {
    var stick = quiet || nearBottom(), theirs = false;
    msgs.forEach(function (m) {
      var li = line(m);
      if (!li) return;
      log.appendChild(li);
      if (!m.mine) theirs = true;
    });
    if (stick || !theirs) toBottom();
    if (theirs && !quiet) tell("unread");
  }

  function lines() { return log.querySelectorAll("[data-id]"); }

  function setOlder(before) {
    if (!older) return;
    older.parentNode.hidden = !before;
    older.setAttribute("data-before", before || "");
    older.href = before ? "/widget/frame?before=" + encodeURIComponent(before) : "#";
  }

  // load redraws the newest page: the frame may have been drawn without the
  // visitor (their cookie refused), or missed a stretch.
  function load() {
    return api("GET", "/widget/messages").then(function (j) {
      Array.prototype.forEach.call(lines(), function (li) { li.remove(); });
      add(j.messages, true);
      setOlder(j.more && j.messages.length ? j.messages[0].id : "");
    });
  }

  function update() {
    var all = lines(), after = all.length ? all[all.length - 1].getAttribute("data-id") : "";
    if (!after) return load();
    return api("GET", "/widget/messages?after=" + encodeURIComponent(after)).then(function (j) {
      if (j.reset) return load();
      add(j.messages);
      if (j.more) return update();
    });
  }

  // listen opens the event stream once the visitor has a conversation;
  // the server answers 204 (and EventSource gives up) while they have none.
  function listen() {
    if (stream || !window.EventSource || !(token || known)) return;
    stream = new EventSource("/widget/events" + (token ? "?visitor=" + encodeURIComponent(token) : ""));
    stream.onopen = function () { update().catch(function () {}); };
    stream.onmessage = function () { update().catch(function () {}); };
    stream.addEventListener("reset", function () { load().catch(function () {}); });
    stream.onerror = function () {
      if (stream && stream.readyState === 2) stream = null;
    };
  }

  function tell(msg) {
    if (inFrame) window.parent.postMessage({ parley: msg }, "*");
  }

  function setError(msg) {
    error.textContent = msg || "";
    text.setAttribute("aria-invalid", msg ? "true" : "false");
  }

  function send() {
    var body = text.value.trim();
    if (!body) {
      setError("Write a message first.");
      text.focus();
      return;
    }
    if (sending) return;
    sending = true;
    sendBtn.disabled = true;
    status.textContent = "Sending…";
    // The key stays until the message is stored, so a retry after a lost
    // answer stores it once.
    api("POST", "/widget/messages", { text: body, key: key }).then(function (j) {
      keep(j.visitor);
      known = true;
      key = newKey();
      text.value = "";
      setError("");
      add([j.message], true);
      status.textContent = "Sent. We will answer here as soon as we can.";
      listen();
    }, function (e) {
      setError(e.message);
      status.textContent = "";
    }).then(function () {
      sending = false;
      sendBtn.disabled = false;
      text.focus();
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    send();
  });
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });

  emailForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var f = emailForm.elements;
    var errs = { email: d.getElementById("wc-email-error"), name: d.getElementById("wc-name-error") };
    function show(field, msg) {
      errs[field].textContent = msg || "";
      f[field].setAttribute("aria-invalid", msg ? "true" : "false");
    }
    show("email");
    show("name");
    api("POST", "/widget/email", { email: f.email.value, name: f.name.value }).then(function (j) {
      keep(j.visitor);
      known = true;
      emailDone.textContent = "We will also answer at " + j.email + ".";
      status.textContent = j.message;
      emailBox.open = false;
      listen();
    }, function (err) {
      if (!err.fields.length) show("email", err.message);
      err.fields.forEach(function (fe) { show(fe.field === "name" ? "name" : "email", fe.message); });
      f[err.fields.length && err.fields[0].field === "name" ? "name" : "email"].focus();
    });
  });

  if (older) {
    older.addEventListener("click", function (e) {
      e.preventDefault();
      var before = older.getAttribute("data-before") || (lines()[0] && lines()[0].getAttribute("data-id"));
      if (!before) return;
      api("GET", "/widget/messages?before=" + encodeURIComponent(before)).then(function (j) {
        var first = log.querySelector("[data-id]"), height = scroller.scrollHeight;
        j.messages.forEach(function (m) {
          var li = line(m);
          if (li) log.insertBefore(li, first);
        });
        scroller.scrollTop += scroller.scrollHeight - height;
        setOlder(j.more && j.messages.length ? j.messages[0].id : "");
      }, function () {});
    });
  }

  if (inFrame) {
    closeBtn.hidden = false;
    closeBtn.addEventListener("click", function () { tell("close"); });
    d.addEventListener("keydown", function (e) {
      if (e.key === "Escape") tell("close");
    });
    window.addEventListener("message", function (e) {
      if (e.source === window.parent && e.data && e.data.parley === "open") {
        text.focus();
        toBottom();
      }
    });
  }

  Array.prototype.forEach.call(log.querySelectorAll("time[data-who]"), stamp);
  toBottom();
  if (token) load().then(listen, function () {});
  else listen();
})();
