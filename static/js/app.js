// Parley's own behaviour, kept out of the HTML so the CSP needs no
// 'unsafe-inline'. Everything here is progressive: pages work without it.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="element-id">Copy</button> copies the
  // text of that element and says so for a moment.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      button.setAttribute("aria-live", "polite");
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });

  // ---------- Inbox ----------

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  // The snooze menu's presets ("tomorrow 9:00") are meant in the user's
  // time zone: tell the server which one that is.
  function fillTimezones(root) {
    var tz = "";
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
    root.querySelectorAll("input[data-timezone]").forEach(function (input) { input.value = tz; });
  }

  // A search hit opens its chat at the message: bring it into view once.
  function showHighlighted(root) {
    var hit = root.querySelector(".msg-highlight:not([data-shown])");
    if (!hit) return;
    hit.setAttribute("data-shown", "");
    hit.scrollIntoView({ block: "center" });
  }

  function onLoad(root) {
    fillTimezones(root);
    showHighlighted(root);
  }

  document.addEventListener("DOMContentLoaded", function () { onLoad(document); });
  document.addEventListener("htmx:load", function (event) { onLoad(event.target); });

  // The chat open in the conversation pane, which the list marks.
  function openChatID() {
    var pane = document.querySelector(".chat-pane[data-chat-id]");
    return pane ? pane.getAttribute("data-chat-id") : "";
  }

  // Mark the row of the chat being opened at once, before the pane loads.
  function select(row) {
    document.querySelectorAll(".chat-row[aria-current=page]").forEach(function (r) {
      if (r !== row) r.setAttribute("aria-current", "false");
    });
    if (row) row.setAttribute("aria-current", "page");
  }

  function rowOf(chatID) {
    return chatID ? document.querySelector('.chat-row[data-chat-id="' + CSS.escape(chatID) + '"]') : null;
  }

  document.addEventListener("click", function (event) {
    var row = event.target.closest(".chat-row[hx-get]");
    if (row && !event.ctrlKey && !event.metaKey && !event.shiftKey) select(row);
  });

  // A live refresh redraws the list: keep the open chat marked and the
  // keyboard focus on the row it was on.
  var focusedChat = "";
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target.id !== "chat-list") return;
    var row = document.activeElement && document.activeElement.closest(".chat-row");
    focusedChat = row ? row.getAttribute("data-chat-id") : "";
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "chat-list") return;
    var open = rowOf(openChatID());
    if (open) select(open);
    var row = rowOf(focusedChat);
    if (row) row.focus({ preventScroll: true });
    focusedChat = "";
  });

  // A live fetch or list refresh still on its way when htmx replaces its
  // part of the page (another chat opened, another page) would land in the
  // new page, where its out-of-band swaps find nothing. Its target has left
  // the document by then, so events on it no longer reach document: listen
  // on the target itself and drop such a response.
  function dropIfGone(event) {
    if (!event.target.isConnected) event.detail.shouldSwap = false;
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (!target || target.parleyGuarded) return;
    target.parleyGuarded = true;
    target.addEventListener("htmx:beforeSwap", dropIfGone);
  });

  // j / k (or Alt+↓ / Alt+↑) open the next or previous chat of the list.
  function moveInList(step) {
    var rows = Array.prototype.slice.call(document.querySelectorAll(".chat-row"));
    if (!rows.length) return false;
    var at = rows.indexOf(document.activeElement);
    if (at < 0) at = rows.indexOf(rowOf(openChatID()));
    var next = rows[at < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, at + step))];
    next.focus();
    next.scrollIntoView({ block: "nearest" });
    if (next.getAttribute("data-chat-id") !== openChatID()) next.click();
    return true;
  }

  function closePopovers() {
    var closed = false;
    // The client panel opens over the chat on narrower screens (#client-panel).
    if (location.hash === "#client-panel") {
      location.replace("#chat");
      closed = true;
    }
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      d.removeAttribute("open");
      var summary = d.querySelector("summary");
      if (summary) summary.focus();
      closed = true;
    });
    return closed;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) return;
    var key = event.key;
    if (key === "Escape") {
      if (closePicker() || closePopovers()) event.preventDefault();
      return;
    }
    if (event.altKey && (key === "ArrowDown" || key === "ArrowUp")) {
      if (pickerOpen()) return;
      if (moveInList(key === "ArrowDown" ? 1 : -1)) event.preventDefault();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (key === "j" || key === "k") {
      if (moveInList(key === "j" ? 1 : -1)) event.preventDefault();
    } else if (key === "/") {
      var search = document.getElementById("inbox-q");
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
    }
  });

  // Closing a menu by clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      if (!d.contains(event.target)) d.removeAttribute("open");
    });
  });

  // ---------- Composer ----------

  // Ctrl+Enter (Cmd+Enter on a Mac) sends.
  document.addEventListener("keydown", function (event) {
    var text = event.target.closest && event.target.closest("textarea[data-composer-text]");
    if (!text) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      closePicker();
      text.form.requestSubmit();
      return;
    }
    if (!pickerOpen()) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      moveOption(event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter" || event.key === "Tab") {
      var chosen = document.querySelector("#template-options [aria-selected=true]");
      if (chosen) {
        event.preventDefault();
        pickTemplate(chosen);
      }
    }
  });

  // Templates: "/" at the start of the message opens a list of templates,
  // searched by what follows the slash; choosing one puts its text in the
  // message and remembers it, so sending it counts as a use.
  var pickerTimer = null;

  function picker() { return document.getElementById("template-picker"); }

  function pickerOpen() {
    var p = picker();
    return !!p && !p.hidden;
  }

  function closePicker() {
    var p = picker();
    if (!p || p.hidden) return false;
    p.hidden = true;
    return true;
  }

  function moveOption(step) {
    var options = Array.prototype.slice.call(document.querySelectorAll("#template-options [role=option]"));
    if (!options.length) return;
    var at = options.findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
    var next = options[Math.min(options.length - 1, Math.max(0, at + step))];
    options.forEach(function (o) { o.setAttribute("aria-selected", String(o === next)); });
    next.scrollIntoView({ block: "nearest" });
  }

  function pickTemplate(option) {
    var text = document.querySelector("textarea[data-composer-text]");
    var id = document.getElementById("f-composer-template");
    if (!text || !id) return;
    text.value = option.getAttribute("data-template-body");
    id.value = option.getAttribute("data-template-id");
    closePicker();
    text.focus();
    text.setSelectionRange(text.value.length, text.value.length);
  }

  document.addEventListener("input", function (event) {
    var text = event.target;
    if (!text.matches || !text.matches("textarea[data-composer-text]")) return;
    if (text.value === "") {
      var id = document.getElementById("f-composer-template");
      if (id) id.value = "";
    }
    var before = text.value.slice(0, text.selectionStart);
    var m = /^\/([^\n]{0,40})$/.exec(before);
    var p = picker();
    if (!m || !p || !window.htmx) {
      closePicker();
      return;
    }
    p.hidden = false;
    clearTimeout(pickerTimer);
    pickerTimer = setTimeout(function () {
      window.htmx.ajax("GET", "/inbox/templates?q=" + encodeURIComponent(m[1].trim()),
        { target: "#template-options", swap: "innerHTML" });
    }, 120);
  });

  document.addEventListener("click", function (event) {
    var option = event.target.closest("#template-options [role=option]");
    if (option) {
      pickTemplate(option);
      return;
    }
    if (pickerOpen() && !event.target.closest("#template-picker, textarea[data-composer-text]")) closePicker();
  });

  // Mention buttons put "@handle " in the message and switch to a note:
  // mentions are for teammates, so they only make sense there.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-mention]");
    if (!button) return;
    var form = button.closest("form");
    var text = form && form.querySelector("textarea[data-composer-text]");
    var note = form && form.querySelector("input[name=note][value=true]");
    if (!text) return;
    if (note) note.checked = true;
    var at = text.selectionStart, handle = "@" + button.getAttribute("data-mention") + " ";
    var pad = at > 0 && !/\s/.test(text.value.charAt(at - 1)) ? " " : "";
    text.value = text.value.slice(0, at) + pad + handle + text.value.slice(text.selectionEnd);
    text.focus();
    var caret = at + pad.length + handle.length;
    text.setSelectionRange(caret, caret);
  });

  // Show the names of the files chosen.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=file][name=files]")) return;
    var out = input.form && input.form.querySelector("[data-file-names]");
    if (!out) return;
    out.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ");
  });
})();
