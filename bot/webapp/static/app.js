/* The Mini App page: pick a painting, see the user's own photo painted, send it to the chat.
   Plain JavaScript on purpose: one screen and a few controls need no framework, no build
   step and nothing vendored to audit; the page loads at once inside Telegram's webview.
   Every API call carries Telegram.WebApp.initData: the server checks it before anything. */
(function () {
  "use strict";
  var tg = window.Telegram && window.Telegram.WebApp;
  var token = new URLSearchParams(window.location.search).get("t") || "";
  var state = { preset: null, own: null, strength: 100, brush: "bold", keep: false,
                seq: 0, shown: 0, strings: {}, nonce: null, afterUrl: null, presets: {} };
  var $ = function (id) { return document.getElementById(id); };

  function api(action, extra) {
    var body = Object.assign({ init_data: tg ? tg.initData : "", token: token }, extra || {});
    return fetch("api/" + action, { method: "POST", body: JSON.stringify(body),
                                    headers: { "Content-Type": "application/json" } });
  }

  function say(text, isError) {
    $("error").hidden = !isError;
    if (isError) { $("error").textContent = text; } else { $("status").textContent = text; }
  }

  async function refusal(response) {
    try {
      var data = await response.json();
      if (data.dir) { document.documentElement.dir = data.dir; }
      return data.message || "";
    } catch (e) { return state.strings.failed || "Error"; }
  }

  function applyTheme() {
    var params = (tg && tg.themeParams) || {};
    Object.keys(params).forEach(function (key) {
      document.documentElement.style.setProperty(
        "--tg-theme-" + key.replace(/_/g, "-"), params[key]);
    });
    document.documentElement.dataset.scheme = (tg && tg.colorScheme) || "light";
  }

  function choice() {
    var c = { strength: state.strength, brush: state.brush, keep_colors: state.keep };
    if (state.own) { c.own_style = state.own; } else { c.preset = state.preset; }
    return c;
  }

  function chosen() { return Boolean(state.own || state.preset); }

  async function preview() {
    if (!chosen()) { return; }
    var seq = ++state.seq;
    state.nonce = null;                       // a new choice is a new send
    $("busy").hidden = false;
    var response = await api("preview", choice());
    if (seq !== state.seq) { return; }        // a newer choice asked meanwhile
    $("busy").hidden = true;
    if (response.status === 409) { return; }  // replaced by a newer preview in the queue
    if (!response.ok) { say(await refusal(response), true); return; }
    var url = URL.createObjectURL(await response.blob());
    $("after").onload = function () {
      if (state.afterUrl) { URL.revokeObjectURL(state.afterUrl); }
      state.afterUrl = url;
      state.shown += 1;
      $("stage").dataset.previews = String(state.shown);
      $("stage").dataset.shows = state.own ? "own" : state.preset;
      $("stage").dataset.strength = String(state.strength);
    };
    $("after").src = url;
    $("after").hidden = false;
    document.querySelector(".after-tag").hidden = false;
    $("wipe").disabled = false;
    var p = state.presets[state.preset];
    say(state.own ? state.strings.own_style : p.title + " — " + p.artist + ", " + p.year, false);
    if (tg) { tg.MainButton.show(); tg.MainButton.enable(); }
  }

  function select(card) {
    document.querySelectorAll(".card").forEach(function (c) {
      c.setAttribute("aria-selected", String(c === card));
    });
  }

  function presetCard(preset) {
    var card = document.createElement("button");
    card.className = "card";
    card.type = "button";
    card.setAttribute("role", "option");
    card.dataset.preset = preset.id;
    card.title = preset.title + " — " + preset.artist + ", " + preset.year;
    var img = document.createElement("img");
    img.src = "thumb/" + encodeURIComponent(preset.id) + ".jpg";
    img.alt = "";
    img.loading = "lazy";
    var title = document.createElement("span");
    title.textContent = preset.title.split(" (")[0];
    title.dir = "auto";   // a Latin title inside a right-to-left page
    card.append(img, title);
    card.addEventListener("click", function () {
      state.preset = preset.id; state.own = null; select(card); preview();
    });
    return card;
  }

  function ownCard() {
    var card = document.createElement("label");
    card.className = "card";
    card.id = "own-card";
    card.innerHTML = '<span class="own">🖼</span><span></span>' +
                     '<input id="own-file" type="file" accept="image/*" hidden>';
    card.querySelector("span:nth-child(2)").textContent = state.strings.own_style;
    card.querySelector("input").addEventListener("change", async function (event) {
      var file = event.target.files[0];
      if (!file) { return; }
      try { state.own = await shrink(file, 512); } catch (e) {
        say(state.strings.failed, true); return;
      }
      state.preset = null; select(card); preview();
    });
    return card;
  }

  /* The style network looks at 256 px: send at most 512 px, as JPEG, base64. */
  async function shrink(file, side) {
    var bitmap = await createImageBitmap(file);
    var scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    var canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL("image/jpeg", 0.9).split(",")[1];
  }

  function brushButtons(brushes) {
    brushes.forEach(function (brush) {
      var b = document.createElement("button");
      b.type = "button";
      b.setAttribute("role", "radio");
      b.dataset.brush = brush.id;
      b.textContent = brush.name;
      b.setAttribute("aria-checked", String(brush.id === state.brush));
      b.addEventListener("click", function () {
        state.brush = brush.id;
        document.querySelectorAll("#brushes button").forEach(function (o) {
          o.setAttribute("aria-checked", String(o === b));
        });
        preview();
      });
      $("brushes").append(b);
    });
  }

  function randomNonce() {
    var bytes = new Uint8Array(18);
    crypto.getRandomValues(bytes);
    return btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, "-")
      .replace(/\//g, "_").replace(/=+$/, "");
  }

  async function send() {
    if (!chosen()) { return; }
    state.nonce = state.nonce || randomNonce();   // a retry of this send stays one send
    tg.MainButton.showProgress(false);
    tg.MainButton.disable();
    say(state.strings.painting, false);
    var response = await api("send", Object.assign({ nonce: state.nonce }, choice()));
    tg.MainButton.hideProgress();
    if (response.ok) {
      say(state.strings.sent, false);
      if (tg.HapticFeedback) { tg.HapticFeedback.notificationOccurred("success"); }
      tg.close();
      return;
    }
    tg.MainButton.enable();
    say(await refusal(response), true);
  }

  async function start() {
    applyTheme();
    if (!tg || !tg.initData) {
      say("Please open this page with the button under your photo in Telegram.", true);
      return;
    }
    tg.ready();
    tg.expand();
    tg.onEvent("themeChanged", applyTheme);
    var response = await api("launch");
    if (!response.ok) { say(await refusal(response), true); return; }
    var data = await response.json();
    document.documentElement.lang = data.lang;
    document.documentElement.dir = data.dir;
    state.strings = data.strings;
    document.querySelectorAll("[data-s]").forEach(function (el) {
      el.textContent = data.strings[el.dataset.s] || "";
    });
    data.presets.forEach(function (p) {
      state.presets[p.id] = p;
      $("carousel").append(presetCard(p));
    });
    $("carousel").append(ownCard());
    brushButtons(data.brushes);
    tg.MainButton.setText(data.strings.send);
    tg.MainButton.onClick(send);
    var percent = new Intl.NumberFormat(data.lang, { style: "percent" });
    var showStrength = function () {
      $("strength-value").textContent = percent.format(state.strength / 100);
    };
    showStrength();
    $("strength").addEventListener("input", function () {
      state.strength = Number($("strength").value);
      showStrength();
    });
    $("strength").addEventListener("change", preview);
    $("keep").addEventListener("change", function () { state.keep = $("keep").checked; preview(); });
    $("wipe").addEventListener("input", function () {
      $("stage").style.setProperty("--wipe", $("wipe").value + "%");
    });
    var photo = await api("photo");
    if (photo.ok) {
      $("before").src = URL.createObjectURL(await photo.blob());
    } else {
      say(await refusal(photo), true);
    }
    $("app").setAttribute("aria-busy", "false");
  }

  start().catch(function () { say(state.strings.failed || "Error", true); });
})();
