/* Baton chat loader, served as /widget.js (minified by `cargo xtask build`).
 *
 * Draws the launcher bubble inside an open shadow root (so the host page's
 * CSS cannot touch it) and loads the WebAssembly widget only when needed:
 * when the visitor opens the chat or the page calls Baton('open'), once the
 * page has loaded and the browser is idle (unless data-preload="open"), or
 * at once when a conversation is in progress so its transcript is restored.
 * The server fills in `assets` below ({"js": ..., "wasm": ...}: the
 * widget's hashed build output). localStorage keys: baton.token (written by
 * the widget), baton.open (the panel was open).
 *
 * The page's API, a command queue, so calls made before this script runs
 * are kept and replayed:
 *   <script>window.Baton = window.Baton || function () {
 *     (window.Baton.q = window.Baton.q || []).push(arguments) };</script>
 *   Baton('open'); Baton('close'); Baton('toggle');
 *   Baton('identify', {userId, name, email, tier, userHash});
 *   Baton('set', {page, metadata, brand, position, scheme, lang, name, avatar, greeting});
 *   Baton('on', 'message' | 'handoff' | 'agent_joined', function (detail) {});
 * The script tag's data-brand, data-position, data-scheme, data-lang,
 * data-name, data-avatar and data-greeting set the same as Baton('set').
 * An identity and a page go with the widget's next hello: the first one if
 * given before the chat starts, else the next reconnect's.
 */
(function () {
  var script = document.currentScript;
  if (!script || document.getElementById("baton-host")) return;
  var origin = new URL(script.src).origin;
  var assets = __BATON_ASSETS__;
  var queued = (window.Baton && window.Baton.q) || [];
  var identity = null, settings = {}, listeners = {};
  var data = script.dataset;
  var words = {
    en: ["Open chat", "Close chat"],
    de: ["Chat öffnen", "Chat schließen"],
    fr: ["Ouvrir la discussion", "Fermer la discussion"],
    es: ["Abrir chat", "Cerrar chat"]
  };

  function stored(key, value) {
    try {
      if (value === undefined) return localStorage.getItem(key);
      value === null ? localStorage.removeItem(key) : localStorage.setItem(key, value);
    } catch (e) {} // storage disabled: the chat lasts as long as the page
  }

  var host = document.createElement("div");
  host.id = "baton-host";
  var root = host.attachShadow({ mode: "open" });
  var icon = '<svg viewBox="0 0 24 24" aria-hidden="true" class="';
  root.innerHTML =
    "<style>" +
    ":host{all:initial!important}" +
    ".l{position:fixed;z-index:2147483000;right:20px;bottom:20px;width:56px;height:56px;" +
    "padding:0;border:0;border-radius:50%;display:grid;place-items:center;cursor:pointer;" +
    "background:var(--baton-brand,#2563eb);color:var(--baton-on-brand,#fff);box-shadow:0 6px 20px rgba(17,24,39,.28);transition:transform .15s}" +
    ":host([data-position=left]) .l{right:auto;left:20px}" +
    ".l:hover{transform:scale(1.06)}.l:focus-visible{outline:3px solid var(--baton-brand,#2563eb);outline-offset:3px}" +
    ".l svg{width:28px;height:28px}:host([data-open]) .o,:host(:not([data-open])) .c{display:none}" +
    "@media (max-width:480px){:host([data-open]) .l{display:none}}" +
    "</style><div></div>" +
    '<button type="button" class="l" data-baton="launcher" aria-expanded="false">' +
    icon + 'o"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>' +
    icon + 'c"><path d="M6 9l6 6 6-6" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round"/></svg>' +
    "</button>";
  var container = root.querySelector("div");
  var launcher = root.querySelector("button");
  var open = false, widget, loading;

  // `restore`: reopen a panel left open on the previous page, without
  // taking the focus; otherwise opening is the visitor's doing.
  function load(restore) {
    return loading || (loading = import(origin + assets.js)
      .then(function (m) {
        return m.default({ module_or_path: origin + assets.wasm }).then(function () {
          widget = m.mount(container, origin, restore === true && open, function () {
            show(false);
            launcher.focus(); // the focus was in the panel just hidden
          }, identity, settings, emit);
          if (open && restore !== true) widget.set_open(true);
        });
      })
      .catch(function (e) {
        loading = null; // the next click tries again
        show(false);
        console.error("Baton: the chat could not load", e);
      }));
  }

  function emit(kind, detail) {
    (listeners[kind] || []).forEach(function (f) {
      try { f(detail); } catch (e) { console.error(e); }
    });
  }

  function show(value) {
    open = value;
    launcher.setAttribute("aria-expanded", value);
    label();
    value ? host.setAttribute("data-open", "") : host.removeAttribute("data-open");
    stored("baton.open", value ? "1" : null);
    if (widget) widget.set_open(value);
    else if (value) load();
  }

  // The language: the page's choice, else the page's, else the browser's.
  function lang() {
    var tags = [settings.lang, document.documentElement.lang, navigator.language];
    for (var i = 0; i < tags.length; i++) {
      var code = String(tags[i] || "").slice(0, 2).toLowerCase();
      if (words[code]) return code;
    }
    return "en";
  }

  function label() {
    launcher.setAttribute("aria-label", words[settings.lang][open ? 1 : 0]);
  }

  function attr(name, value) {
    value ? host.setAttribute(name, value) : host.removeAttribute(name);
  }

  // The site's look: the brand colour (and a text colour that reads on
  // it), the side of the screen, light or dark.
  function theme() {
    var brand = settings.brand;
    host.style.setProperty("--baton-brand", brand || "");
    host.style.setProperty("--baton-on-brand", "");
    if (brand && host.isConnected) {
      launcher.style.color = brand;
      var rgb = getComputedStyle(launcher).color.match(/[\d.]+/g) || [0, 0, 0];
      launcher.style.color = "";
      var l = 0;
      for (var i = 0; i < 3; i++) {
        var c = rgb[i] / 255;
        l += [0.2126, 0.7152, 0.0722][i] * (c < 0.04 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4));
      }
      // White text, unless dark text (#111827) reads better on it.
      if ((l + 0.05) / 0.0616 > 1.05 / (l + 0.05)) host.style.setProperty("--baton-on-brand", "#111827");
    }
    attr("data-position", settings.position == "left" && "left");
    attr("data-scheme", /^(light|dark)$/.test(settings.scheme) && settings.scheme);
    settings.lang = lang();
    label();
  }

  launcher.onclick = function () { show(!open); };
  launcher.onkeydown = function (e) { if (e.key == "Escape" && open) show(false); };

  window.Baton = function (command, arg, callback) {
    if (command == "identify") {
      identity = arg;
      if (widget) widget.identify(arg);
    } else if (command == "set" && arg) {
      for (var key in arg) settings[key] = arg[key];
      theme();
      if (widget) widget.set(settings);
    } else if (command == "on" && typeof callback == "function") {
      (listeners[arg] = listeners[arg] || []).push(callback);
    } else if (command == "open" || command == "close" || command == "toggle") {
      show(command == "toggle" ? !open : command == "open");
    }
  };
  var keys = ["brand", "position", "scheme", "lang", "name", "avatar", "greeting"];
  for (var k = 0; k < keys.length; k++) if (data[keys[k]]) settings[keys[k]] = data[keys[k]];
  theme();
  for (var i = 0; i < queued.length; i++) window.Baton.apply(null, queued[i]);

  function attach() {
    document.body.appendChild(host);
    theme(); // the brand's text colour needs the launcher on the page
    if (stored("baton.token")) {
      load(true);
      show(stored("baton.open") === "1");
    } else if (data.preload != "open") {
      // Ready before the visitor opens it, without slowing the page down.
      var idle = function () {
        (window.requestIdleCallback || setTimeout)(function () { load(); });
      };
      document.readyState == "complete" ? idle() : addEventListener("load", idle);
    }
  }
  document.body ? attach() : document.addEventListener("DOMContentLoaded", attach);
})();
