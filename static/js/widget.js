/* Parley web chat launcher, served as /widget.js on a workspace's host:
     <script async src="https://acme.parley.example/widget.js"></script>
   It draws a chat button in a shadow root (the page's styles cannot reach
   it, nor its styles the page) and, on first open only, the chat
   panel: an iframe of /widget/frame on the workspace's origin. What the
   visitor writes stays in that frame; this script never sees it.
   window.parleyChat.open() and .close() let the page open it from a link. */
(function (cfg) {
  "use strict";
  var d = document, me = d.currentScript;
  if (!me || window.parleyChat || !me.src) return;
  var origin = new URL(me.src, location.href).origin;
  var accent = /^#[0-9a-f]{6}$/i.test(cfg.accent) ? cfg.accent : "#2563eb";
  var label = "Chat with " + (cfg.name || "us");
  var N = "http://www.w3.org/2000/svg";
  var host, btn, dot, panel, frame, ready, isOpen;

  var css = ":host{all:initial}" +
    ".b{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;" +
    "border-radius:50%;background:" + accent + ";color:#fff;cursor:pointer;display:flex;align-items:center;" +
    "justify-content:center;box-shadow:0 4px 14px rgba(0,0,0,.28)}" +
    ".b:focus-visible{outline:3px solid " + accent + ";outline-offset:3px}" +
    ".b svg{width:26px;height:26px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}" +
    ".d{position:absolute;top:2px;right:2px;width:12px;height:12px;border-radius:50%;background:#e11d48;border:2px solid #fff}" +
    ".p{position:fixed;right:20px;bottom:88px;z-index:2147483001;width:380px;height:620px;" +
    "max-height:calc(100vh - 108px);border-radius:14px;overflow:hidden;background:#fff;box-shadow:0 10px 40px rgba(0,0,0,.3)}" +
    "[hidden]{display:none!important}" +
    "iframe{border:0;width:100%;height:100%;display:block}" +
    "@media (max-width:480px),(max-height:500px){.p{inset:0;width:auto;height:auto;max-height:none;border-radius:0}}" +
    "@media (prefers-reduced-motion:no-preference){.p{animation:u .16s ease-out}}" +
    "@keyframes u{from{opacity:0;transform:translateY(8px)}}";

  function el(tag, cls) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    return e;
  }

  function icon(path) {
    var s = d.createElementNS(N, "svg"), p = d.createElementNS(N, "path");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("focusable", "false");
    p.setAttribute("d", path);
    s.appendChild(p);
    return s;
  }

  var chatIcon = "M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z";
  var closeIcon = "M6 6l12 12M18 6L6 18";

  function setIcon(path) {
    btn.replaceChild(icon(path), btn.firstChild);
  }

  function say(msg) {
    if (frame && ready) frame.contentWindow.postMessage({ parley: msg }, origin);
  }

  function open() {
    if (!panel) return;
    if (!frame) {
      frame = el("iframe");
      frame.title = label;
      frame.src = origin + "/widget/frame";
      frame.addEventListener("load", function () {
        ready = true;
        if (isOpen) say("open");
      });
      panel.appendChild(frame);
    }
    isOpen = true;
    panel.hidden = false;
    dot.hidden = true;
    btn.setAttribute("aria-expanded", "true");
    btn.setAttribute("aria-label", "Close the chat");
    setIcon(closeIcon);
    frame.focus();
    say("open");
  }

  function close() {
    if (!isOpen) return;
    isOpen = false;
    panel.hidden = true;
    btn.setAttribute("aria-expanded", "false");
    btn.setAttribute("aria-label", label);
    setIcon(chatIcon);
    btn.focus();
  }

  function mount() {
    host = el("parley-chat");
    var root = host.attachShadow({ mode: "open" });
    try {
      // A constructed sheet works under a page CSP that refuses inline styles.
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      var style = el("style");
      style.textContent = css;
      root.appendChild(style);
    }
    panel = el("div", "p");
    panel.id = "parley-chat-panel";
    panel.hidden = true;
    btn = el("button", "b");
    btn.type = "button";
    btn.setAttribute("aria-label", label);
    btn.setAttribute("aria-expanded", "false");
    btn.setAttribute("aria-controls", panel.id);
    btn.appendChild(icon(chatIcon));
    dot = el("span", "d");
    dot.hidden = true;
    btn.appendChild(dot);
    btn.addEventListener("click", function () {
      if (isOpen) close();
      else open();
    });
    root.appendChild(panel);
    root.appendChild(btn);
    d.body.appendChild(host);
  }

  // The panel asks to close (its close button, Escape inside it) and says
  // when a reply came while it was shut.
  window.addEventListener("message", function (e) {
    if (!frame || e.source !== frame.contentWindow || e.origin !== origin || !e.data) return;
    if (e.data.parley === "close") close();
    else if (e.data.parley === "unread" && !isOpen) dot.hidden = false;
  });
  d.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && isOpen) close();
  });

  window.parleyChat = { open: open, close: close };
  if (d.body) mount();
  else d.addEventListener("DOMContentLoaded", mount);
})(__PARLEY_CONFIG__);
