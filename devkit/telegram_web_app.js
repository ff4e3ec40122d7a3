/* A stand-in for https://telegram.org/js/telegram-web-app.js in tests and screenshots (never
   deployed): like the real script it reads the launch parameters Telegram puts in the URL
   fragment (#tgWebAppData=…&tgWebAppVersion=…&tgWebAppPlatform=…&tgWebAppThemeParams=…)
   into Telegram.WebApp, sets the --tg-theme-* CSS variables, and draws the MainButton as a
   bar at the bottom (the real one is native). window.__tg records what the page asked. */
(function () {
  "use strict";
  var hash = new URLSearchParams(window.location.hash.slice(1));
  var initData = hash.get("tgWebAppData") || "";
  var theme = {};
  try { theme = JSON.parse(hash.get("tgWebAppThemeParams") || "{}"); } catch (e) { theme = {}; }
  var unsafe = {};
  new URLSearchParams(initData).forEach(function (value, key) {
    try { unsafe[key] = key === "user" ? JSON.parse(value) : value; } catch (e) { unsafe[key] = value; }
  });
  var record = window.__tg = { closed: 0, ready: 0, clicks: 0, events: [] };
  var handlers = [];
  var bar = null;

  function draw() {
    if (!document.body) { return; }
    if (!bar) {
      bar = document.createElement("div");
      bar.id = "tg-main-button";
      bar.style.cssText = "position:fixed;left:0;right:0;bottom:0;height:48px;display:none;" +
        "align-items:center;justify-content:center;font:600 15px system-ui,sans-serif;";
      bar.addEventListener("click", function () { MainButton.click(); });
      document.body.append(bar);
      document.body.style.paddingBottom = "56px";
    }
    bar.textContent = MainButton.isProgressVisible ? "…" : MainButton.text;
    bar.style.display = MainButton.isVisible ? "flex" : "none";
    bar.style.background = MainButton.color;
    bar.style.color = MainButton.textColor;
    bar.style.opacity = MainButton.isActive ? "1" : "0.6";
  }

  var MainButton = {
    text: "CONTINUE", isVisible: false, isActive: true, isProgressVisible: false,
    color: theme.button_color || "#2481cc", textColor: theme.button_text_color || "#ffffff",
    setText: function (t) { this.text = t; draw(); return this; },
    show: function () { this.isVisible = true; draw(); return this; },
    hide: function () { this.isVisible = false; draw(); return this; },
    enable: function () { this.isActive = true; draw(); return this; },
    disable: function () { this.isActive = false; draw(); return this; },
    showProgress: function () { this.isProgressVisible = true; draw(); return this; },
    hideProgress: function () { this.isProgressVisible = false; draw(); return this; },
    setParams: function (p) { if (p.text) { this.text = p.text; } draw(); return this; },
    onClick: function (cb) { handlers.push(cb); return this; },
    offClick: function (cb) { handlers = handlers.filter(function (h) { return h !== cb; }); return this; },
    /* What a tap on the native button does: only when shown and active. */
    click: function () {
      if (!this.isVisible || !this.isActive) { return false; }
      record.clicks += 1;
      handlers.forEach(function (h) { h(); });
      return true;
    }
  };

  var root = document.documentElement.style;
  Object.keys(theme).forEach(function (key) {
    root.setProperty("--tg-theme-" + key.replace(/_/g, "-"), theme[key]);
  });

  window.Telegram = { WebApp: {
    initData: initData, initDataUnsafe: unsafe,
    version: hash.get("tgWebAppVersion") || "6.0", platform: hash.get("tgWebAppPlatform") || "unknown",
    themeParams: theme, colorScheme: theme.bg_color && parseInt(theme.bg_color.slice(1, 3), 16) < 128 ? "dark" : "light",
    MainButton: MainButton,
    HapticFeedback: { notificationOccurred: function (k) { record.events.push("haptic:" + k); } },
    ready: function () { record.ready += 1; },
    expand: function () { record.events.push("expand"); },
    close: function () {
      record.closed += 1;
      document.documentElement.dataset.tgClosed = String(record.closed);
    },
    onEvent: function (name) { record.events.push("on:" + name); },
    offEvent: function () {}
  } };
  document.addEventListener("DOMContentLoaded", draw);
})();
