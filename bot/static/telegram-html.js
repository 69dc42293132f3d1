// The bot's Telegram-HTML drawn safely in a page (the sandbox chat, the web channel): the HTML is parsed in an inert
// document and only Telegram's tags are copied, each node built here; nothing of the bot's text becomes markup.
"use strict";
(function () {
  var ALLOWED = { b: "b", strong: "strong", i: "i", em: "em", u: "u", s: "s", code: "code", pre: "pre", a: "a" };
  var COMMAND_RE = /(^|[\s(（,，:：])(\/[A-Za-z][A-Za-z0-9_]{0,31})(?=$|[\s)）,，.。!！?？;；:：])/g;

  function renderTelegramHTML(html, target) {
    var doc = new DOMParser().parseFromString("<!doctype html><body>" + html, "text/html");
    copyAllowed(doc.body, target, false);
  }

  function copyAllowed(src, dst, inCode) {
    var children = src.childNodes;
    for (var i = 0; i < children.length; i++) {
      var node = children[i];
      if (node.nodeType === 3) {
        appendTelegramText(dst, node.data, inCode);
      } else if (node.nodeType === 1) {
        var tag = node.localName;
        if (Object.prototype.hasOwnProperty.call(ALLOWED, tag)) {
          var out = tag === "a" ? safeLink(node.getAttribute("href")) : document.createElement(ALLOWED[tag]);
          copyAllowed(node, out, inCode || tag === "code" || tag === "pre");
          dst.appendChild(out);
        } else {
          copyAllowed(node, dst, inCode);   // anything else: its text only, no element, no attributes
        }
      }
      // comments, processing instructions and the like are dropped
    }
  }

  function safeLink(href) {
    var url = null;
    try { url = new URL(String(href || "")); } catch (e) { url = null; }   // absolute URLs only
    if (url && (url.protocol === "http:" || url.protocol === "https:")) {
      var a = document.createElement("a");
      a.href = url.href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      return a;
    }
    return document.createElement("span");
  }

  // Plain text; outside code, "/command" words become tappable (class cmd-link, data-cmd) as in Telegram.
  function appendTelegramText(dst, text, inCode) {
    if (inCode || text.indexOf("/") < 0) { dst.appendChild(document.createTextNode(text)); return; }
    var last = 0, m;
    COMMAND_RE.lastIndex = 0;
    while ((m = COMMAND_RE.exec(text)) !== null) {
      var start = m.index + m[1].length;
      if (start > last) dst.appendChild(document.createTextNode(text.slice(last, start)));
      var link = document.createElement("span");
      link.className = "cmd-link";
      link.textContent = m[2];
      link.setAttribute("role", "button");
      link.setAttribute("data-cmd", m[2]);
      dst.appendChild(link);
      last = start + m[2].length;
    }
    if (last < text.length) dst.appendChild(document.createTextNode(text.slice(last)));
  }

  window.renderTelegramHTML = renderTelegramHTML;
  window.appendTelegramText = appendTelegramText;
})();
