/* Baton chat loader, served as /widget.js.
 *
 * Draws the launcher bubble inside an open shadow root (so the host page's
 * CSS cannot touch it), and loads the WebAssembly widget only when needed:
 * on first open (or a hover on the launcher), or at once when a
 * conversation is in progress so its transcript is restored. The server
 * fills in `assets` below ({"js": ..., "wasm": ...}: the widget's hashed
 * build output). localStorage keys: baton.token (written by the widget),
 * baton.open (the panel was open).
 *
 * The page's API, a command queue, so calls made before this script runs
 * are kept and replayed:
 *   <script>window.Baton = window.Baton || function () {
 *     (window.Baton.q = window.Baton.q || []).push(arguments) };</script>
 *   Baton('identify', {userId, name, email, tier, userHash});
 *   Baton('open'); Baton('close'); Baton('toggle');
 * An identity goes with the widget's next hello: the first one if given
 * before the chat starts, else the next reconnect's.
 */
(function () {
  var script = document.currentScript;
  if (!script || document.getElementById("baton-host")) return;
  var origin = new URL(script.src).origin;
  var assets = __BATON_ASSETS__;
  var queued = (window.Baton && window.Baton.q) || [];
  var identity = null;

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
    "background:var(--baton-brand,#2563eb);color:#fff;box-shadow:0 6px 20px rgba(17,24,39,.28);transition:transform .15s}" +
    ".l:hover{transform:scale(1.06)}.l:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}" +
    ".l svg{width:28px;height:28px}:host([data-open]) .o,:host(:not([data-open])) .c{display:none}" +
    "@media (max-width:480px){:host([data-open]) .l{display:none}}" +
    "</style><div></div>" +
    '<button type="button" class="l" data-baton="launcher" aria-label="Open chat" aria-expanded="false">' +
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
          }, identity);
          if (open && restore !== true) widget.set_open(true);
        });
      })
      .catch(function (e) {
        loading = null; // the next click tries again
        show(false);
        console.error("Baton: the chat could not load", e);
      }));
  }

  function show(value) {
    open = value;
    launcher.setAttribute("aria-expanded", value);
    launcher.setAttribute("aria-label", value ? "Close chat" : "Open chat");
    value ? host.setAttribute("data-open", "") : host.removeAttribute("data-open");
    stored("baton.open", value ? "1" : null);
    if (widget) widget.set_open(value);
    else if (value) load();
  }

  launcher.onclick = function () { show(!open); };
  launcher.onpointerenter = launcher.onfocus = load;

  window.Baton = function (command, arg) {
    if (command == "identify") {
      identity = arg;
      if (widget) widget.identify(arg);
    } else if (command == "open" || command == "close" || command == "toggle") {
      show(command == "toggle" ? !open : command == "open");
    }
  };
  for (var i = 0; i < queued.length; i++) window.Baton.apply(null, queued[i]);

  function attach() {
    document.body.appendChild(host);
    if (stored("baton.token")) {
      load(true);
      show(stored("baton.open") === "1");
    }
  }
  document.body ? attach() : document.addEventListener("DOMContentLoaded", attach);
})();
