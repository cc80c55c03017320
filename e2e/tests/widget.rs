//! The widget as site owners embed it, in real Chromium: what it costs the
//! page before it is opened, that a hostile page's CSS cannot reach it (nor
//! its CSS the page), the page's `Baton(…)` API, the keyboard, and axe-core
//! on the open widget (light and dark, desktop and phone) and the console.
//! Screenshots land in `target/e2e-screenshots/widget-*.png`.
//!
//! Run alone: `cargo test -p baton-e2e --test widget` (after
//! `cargo xtask build`, which also installs axe-core into `target/tools`).

use std::path::PathBuf;

use baton_e2e::{Browser, Driver, HostSite, Server, eventually};
use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::Value;

/// Baton as it comes, which lets any site embed the widget (the host pages
/// below are served from another origin, as a customer's site is).
async fn baton() -> Server {
    Server::start().await
}

/// Serves `html` at `/` on its own port (another origin than Baton's);
/// `{baton}` in it becomes Baton's address.
async fn host_page(server: &Server, html: &str) -> String {
    HostSite::bind()
        .await
        .serve(html.replace("{baton}", &server.url("")))
}

async fn js(browser: &Browser, script: &str) -> Value {
    browser
        .client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// The widget's files the page has requested so far.
async fn widget_requests(browser: &Browser) -> Vec<String> {
    let names = js(
        browser,
        "return performance.getEntriesByType('resource').map(e => e.name)\
         .filter(n => n.includes('/widget/'));",
    )
    .await;
    serde_json::from_value(names).unwrap()
}

/// Waits until the page has loaded and the browser has been idle once.
async fn settled(browser: &Browser) {
    eventually("the page to load and go idle", || async {
        let done = browser
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 if (document.readyState !== 'complete') return done(false);\
                 requestIdleCallback(() => done(true));",
                vec![],
            )
            .await
            .ok()?;
        done.as_bool().filter(|d| *d)
    })
    .await;
}

/// A style property of the widget element `css`, inside its shadow root.
async fn widget_style(browser: &Browser, css: &str, property: &str) -> String {
    browser.widget(css).await;
    let script = format!(
        "const e = document.getElementById('baton-host').shadowRoot.querySelector({css:?});\
         return getComputedStyle(e).getPropertyValue({property:?});"
    );
    js(browser, &script)
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The bounding box of the widget element `css`: [left, top, width, height].
async fn widget_rect(browser: &Browser, css: &str) -> Vec<f64> {
    let script = format!(
        "const r = document.getElementById('baton-host').shadowRoot.querySelector({css:?})\
         .getBoundingClientRect(); return [r.left, r.top, r.width, r.height];"
    );
    serde_json::from_value(js(browser, &script).await).unwrap()
}

/// Runs axe-core on the page (with open shadow roots) within `context`
/// and fails on any violation, listing them.
async fn axe(browser: &Browser, context: &str, what: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/tools/node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is not installed at {} ({e}): `cargo xtask build` installs it",
            path.display()
        )
    });
    js(browser, &source).await;
    let script = format!(
        "const done = arguments[arguments.length - 1];\
         axe.run({context}, {{ resultTypes: ['violations'] }})\
           .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + '\\n    ' +\
             v.nodes.map(n => JSON.stringify(n.target) + ' ' + n.failureSummary).join('\\n    '))))\
           .catch(e => done(['axe failed: ' + e]));"
    );
    let result = browser.client.execute_async(&script, vec![]).await.unwrap();
    let violations: Vec<String> = serde_json::from_value(result).unwrap();
    assert!(
        violations.is_empty(),
        "axe-core found {} violation(s) in {what}:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

async fn click(browser: &Browser, css: &str) {
    browser.widget(css).await.click().await.unwrap();
}

async fn panel_shown(browser: &Browser, shown: bool) {
    eventually(&format!("the panel to be shown: {shown}"), || async {
        let panels = browser.find_in_widget("[data-baton=panel]").await;
        let panel = panels.first()?;
        (panel.is_displayed().await.ok()? == shown).then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_launcher_costs_the_page_nothing_until_opened_or_idle() {
    let server = baton().await;
    let driver = Driver::start().await;
    let visitor = driver.browser(1280, 900).await;

    // `data-preload="open"`: nothing but the loader until the visitor opens.
    let page = host_page(
        &server,
        r#"<!doctype html><html lang="en"><title>Shop</title><h1>Shop</h1>
           <script src="{baton}/widget.js" data-preload="open" async></script>"#,
    )
    .await;
    visitor.goto(&page).await;
    visitor.widget("[data-baton=launcher]").await;
    settled(&visitor).await;
    assert_eq!(
        widget_requests(&visitor).await,
        Vec::<String>::new(),
        "no wasm, glue or CSS before the visitor opens the chat"
    );
    assert!(
        visitor
            .find_in_widget("[data-baton=panel]")
            .await
            .is_empty()
    );
    visitor.screenshot("widget-1-closed").await;

    click(&visitor, "[data-baton=launcher]").await;
    panel_shown(&visitor, true).await;
    let requests = widget_requests(&visitor).await;
    assert!(
        requests.iter().any(|r| r.ends_with("_bg.wasm")),
        "opening loads the widget: {requests:?}"
    );

    // By default the widget loads once the page is loaded and the browser
    // idle — never during the page's own load — and stays closed, without
    // a conversation.
    let idle = driver.browser(1280, 900).await;
    idle.goto(&server.url("/")).await;
    let started = eventually("the widget to load while idle", || async {
        let script = "const w = performance.getEntriesByType('resource')\
                      .find(e => e.name.endsWith('_bg.wasm'));\
                      return w ? [w.startTime, performance.getEntriesByType('navigation')[0].loadEventEnd] : null;";
        serde_json::from_value::<Option<(f64, f64)>>(js(&idle, script).await).unwrap()
    })
    .await;
    assert!(
        started.0 >= started.1,
        "the wasm was requested at {} ms, before the page finished loading at {} ms",
        started.0,
        started.1
    );
    idle.widget("[data-baton=panel]").await;
    panel_shown(&idle, false).await;
    let status = idle.widget("[data-baton=status]").await;
    assert!(
        !status.is_displayed().await.unwrap(),
        "no socket, no conversation before the visitor opens the chat"
    );

    visitor.close().await;
    idle.close().await;
}

const HOSTILE: &str = r#"<!doctype html><html lang="en"><head><title>Hostile</title><style>
  * { all: unset !important; }
  html, body { display: block !important; font: 40px/3 "Comic Sans MS", cursive !important; color: #f0f !important; background: #ff0 !important; }
  div, section, button, textarea, header, p, span, svg { display: block !important; color: red !important; background: lime !important;
    font-size: 40px !important; border: 9px solid red !important; padding: 30px !important; margin: 50px !important;
    position: static !important; transform: rotate(3deg) !important; visibility: visible !important; }
  #baton-host, body > div { display: none !important; opacity: 0 !important; }
  :root { --brand: red; --bg: red; --fg: red; }
  .panel, .l, .msg, .text, .head, .send { background: red !important; }
  h1 { display: block !important; }
</style></head><body>
  <h1>A page that styles everything</h1>
  <section class="panel" id="page-panel">The page's own .panel</section>
  <p class="msg visitor"><span class="text" id="page-text">The page's own .msg .text</span></p>
  <script src="{baton}/widget.js" data-preload="open" async></script>
</body></html>"#;

#[tokio::test]
async fn a_hostile_page_cannot_restyle_the_widget_nor_the_widget_the_page() {
    let server = baton().await;
    let driver = Driver::start().await;
    let visitor = driver.browser(1280, 900).await;
    visitor.goto(&host_page(&server, HOSTILE).await).await;
    let page_style = || async {
        js(
            &visitor,
            "const p = getComputedStyle(document.getElementById('page-panel'));\
             const t = getComputedStyle(document.getElementById('page-text'));\
             return [p.position, p.width, t.borderRadius, t.whiteSpace, t.backgroundColor];",
        )
        .await
    };
    visitor.widget("[data-baton=launcher]").await;
    let before = page_style().await;

    // The launcher: where and how the widget draws it, whatever the page says.
    assert_eq!(
        widget_style(&visitor, "[data-baton=launcher]", "background-color").await,
        "rgb(37, 99, 235)"
    );
    let launcher = widget_rect(&visitor, "[data-baton=launcher]").await;
    assert_eq!((launcher[2], launcher[3]), (56.0, 56.0), "{launcher:?}");
    assert_eq!(
        launcher[0] + 56.0,
        1280.0 - 20.0 - scrollbar(&visitor).await
    );
    let on_top = js(
        &visitor,
        "const l = document.getElementById('baton-host').shadowRoot.querySelector('[data-baton=launcher]');\
         const r = l.getBoundingClientRect();\
         return l.contains(document.getElementById('baton-host').shadowRoot\
           .elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));",
    )
    .await;
    assert_eq!(
        on_top,
        Value::Bool(true),
        "the launcher is visible and clickable"
    );

    // Open: the panel and its text look as designed, and the chat works.
    click(&visitor, "[data-baton=launcher]").await;
    panel_shown(&visitor, true).await;
    let panel = widget_rect(&visitor, "[data-baton=panel]").await;
    assert_eq!(panel[2], 380.0, "{panel:?}");
    assert_eq!(
        widget_style(&visitor, "[data-baton=panel]", "font-size").await,
        "14px"
    );
    assert_eq!(
        widget_style(&visitor, "[data-baton=panel]", "background-color").await,
        "rgb(255, 255, 255)"
    );
    assert_eq!(
        widget_style(&visitor, "[data-baton=input]", "color").await,
        "rgb(17, 24, 39)"
    );
    assert_eq!(widget_style(&visitor, ".head", "transform").await, "none");
    visitor
        .ask_assistant("How long does shipping take?", "business days")
        .await;
    visitor.screenshot("widget-5-hostile-page").await;

    // The widget's CSS stays in its shadow root: the page's own `.panel`
    // and `.msg .text` are as the page styled them.
    assert_eq!(
        page_style().await,
        before,
        "the widget's CSS leaked into the page"
    );
    visitor.close().await;
}

/// The width of the page's vertical scrollbar (0 in headless Chromium,
/// which overlays them; measured rather than assumed).
async fn scrollbar(browser: &Browser) -> f64 {
    js(
        browser,
        "return window.innerWidth - document.documentElement.clientWidth;",
    )
    .await
    .as_f64()
    .unwrap_or(0.0)
}

const API_PAGE: &str = r#"<!doctype html><html lang="en"><head><title>API</title></head><body>
<h1>Checkout</h1>
<script>
  window.Baton = window.Baton || function () { (Baton.q = Baton.q || []).push(arguments) };
  window.heard = [];
  Baton('on', 'message', function (e) { heard.push('message:' + e.author + ':' + e.text); });
  Baton('on', 'handoff', function (e) { heard.push('handoff:' + e.seq); });
  Baton('on', 'agent_joined', function (e) { heard.push('agent_joined:' + e.name); });
  Baton('identify', { userId: 'u-42', name: 'Ada Lovelace', email: 'ada@example.com' });
  Baton('set', { page: 'Checkout, step 2', metadata: { plan: 'pro', seats: 3 },
                 brand: '#fde047', position: 'left', lang: 'de', greeting: 'Willkommen bei Northwind!' });
</script>
<script src="{baton}/widget.js" data-preload="open" async></script>
</body></html>"#;

#[tokio::test]
async fn the_page_drives_the_widget_through_its_js_api() {
    let server = baton().await;
    let driver = Driver::start().await;
    let visitor = driver.browser(1280, 900).await;
    let page = host_page(&server, API_PAGE).await;
    visitor.goto(&page).await;

    // Calls queued before the loader ran were replayed: the look and the
    // language are the page's.
    let launcher = visitor.widget("[data-baton=launcher]").await;
    eventually("the launcher to speak German", || async {
        (launcher.attr("aria-label").await.ok()?? == "Chat öffnen").then_some(())
    })
    .await;
    assert_eq!(
        widget_style(&visitor, "[data-baton=launcher]", "background-color").await,
        "rgb(253, 224, 71)"
    );
    assert_eq!(
        widget_style(&visitor, "[data-baton=launcher]", "color").await,
        "rgb(17, 24, 39)",
        "dark text on a light brand colour, for contrast"
    );
    assert_eq!(
        widget_rect(&visitor, "[data-baton=launcher]").await[0],
        20.0,
        "on the left"
    );

    // open, close, toggle.
    js(&visitor, "Baton('open');").await;
    panel_shown(&visitor, true).await;
    visitor
        .widget_text_until("[data-baton=greeting]", "the page's greeting", |t| {
            t == "Willkommen bei Northwind!"
        })
        .await;
    assert_eq!(widget_rect(&visitor, "[data-baton=panel]").await[0], 20.0);
    js(&visitor, "Baton('close');").await;
    panel_shown(&visitor, false).await;
    js(&visitor, "Baton('toggle');").await;
    panel_shown(&visitor, true).await;
    assert_eq!(
        visitor
            .widget("[data-baton=human]")
            .await
            .text()
            .await
            .unwrap(),
        "Mit einem Menschen sprechen"
    );

    // Listeners hear the conversation: the visitor's message, the handoff.
    visitor.type_message("Wo ist meine Bestellung?").await;
    click(&visitor, "[data-baton=human]").await;
    let heard = || async {
        serde_json::from_value::<Vec<String>>(js(&visitor, "return heard;").await).unwrap()
    };
    eventually("the page to hear the handoff", || async {
        let heard = heard().await;
        heard
            .iter()
            .any(|h| h.starts_with("handoff:"))
            .then_some(())
    })
    .await;
    assert!(
        heard()
            .await
            .contains(&"message:visitor:Wo ist meine Bestellung?".to_string()),
        "{:?}",
        heard().await
    );

    // The agent sees the page the site named, who the visitor is and what
    // the page said about them; the page hears the agent join and the reply.
    let agent = driver.browser(1400, 900).await;
    agent
        .sign_in(&server, "demo@baton.local", "baton-demo")
        .await;
    agent.open_first_in_queue().await;
    let detail = agent.page("[data-console=transcript]").await;
    drop(detail);
    let body = agent
        .client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("Ada Lovelace"),
        "the identity reaches the agent: {body}"
    );
    assert!(
        body.contains("Checkout, step 2"),
        "the page the site named: {body}"
    );
    let context = agent.page_text("[data-console=metadata]").await;
    assert_eq!(
        context.lines().collect::<Vec<_>>(),
        ["plan: pro", "seats: 3"],
        "the page's metadata, name by name"
    );
    agent
        .page("[data-console=claim]")
        .await
        .click()
        .await
        .unwrap();
    eventually("the page to hear the agent join", || async {
        heard()
            .await
            .contains(&"agent_joined:Mia".to_string())
            .then_some(())
    })
    .await;
    let handoffs = heard()
        .await
        .iter()
        .filter(|h| h.starts_with("handoff:"))
        .count();
    assert_eq!(handoffs, 1, "each event once");

    // A reload replays the conversation; the listeners are not told again.
    visitor.goto(&page).await;
    visitor
        .widget_text_until("[data-baton=responder]", "the restored conversation", |t| {
            t == "Mia"
        })
        .await;
    assert_eq!(
        heard().await,
        Vec::<String>::new(),
        "nothing heard twice after a reload"
    );

    agent.close().await;
    visitor.close().await;
}

#[tokio::test]
async fn the_widget_works_from_the_keyboard() {
    let server = baton().await;
    let driver = Driver::start().await;
    let visitor = driver.browser(1280, 900).await;
    visitor.goto(&server.url("/")).await;
    visitor.widget("[data-baton=launcher]").await;
    let active = || async {
        js(
            &visitor,
            "const a = document.activeElement;\
             const inner = a && a.shadowRoot ? a.shadowRoot.activeElement : null;\
             return inner ? inner.getAttribute('data-baton') : (a ? a.tagName : null);",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    };
    let press = |key: Key| {
        let visitor = &visitor;
        async move {
            visitor
                .client
                .active_element()
                .await
                .unwrap()
                .send_keys(&key.to_string())
                .await
                .unwrap();
        }
    };
    // Tab through the page until the launcher has the focus.
    eventually("the launcher to take the focus by Tab", || async {
        if active().await == "launcher" {
            return Some(());
        }
        press(Key::Tab).await;
        None
    })
    .await;
    press(Key::Enter).await;
    panel_shown(&visitor, true).await;
    eventually("the focus to move into the message box", || async {
        (active().await == "input").then_some(())
    })
    .await;
    visitor
        .client
        .active_element()
        .await
        .unwrap()
        .send_keys("Hello there")
        .await
        .unwrap();
    press(Key::Enter).await;
    visitor
        .widget_text_until(
            "[data-baton=message][data-author=visitor]",
            "the sent message",
            |t| t.contains("Hello there"),
        )
        .await;
    // Shift+Tab from the box reaches "Talk to a human"; Enter presses it.
    eventually("the human button to take the focus", || async {
        if active().await == "human" {
            return Some(());
        }
        visitor
            .client
            .active_element()
            .await
            .ok()?
            .send_keys(&format!("{}{}", Key::Shift, Key::Tab))
            .await
            .ok()?;
        None
    })
    .await;
    press(Key::Enter).await;
    visitor
        .widget_text_until("[data-baton=human]", "the request to be made", |t| {
            t.contains("on the way")
        })
        .await;
    // Escape closes, and the focus goes back to the launcher.
    press(Key::Escape).await;
    panel_shown(&visitor, false).await;
    eventually("the focus to return to the launcher", || async {
        (active().await == "launcher").then_some(())
    })
    .await;
    visitor.close().await;
}

#[tokio::test]
async fn axe_finds_nothing_in_the_widget_or_the_console() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let visitor = driver.browser(1280, 900).await;
    let agent = driver.browser(1400, 900).await;

    visitor.open_widget(&server.url("/")).await;
    visitor
        .widget_text_until("[data-baton=responder]", "the assistant's name", |t| {
            t == "Nova"
        })
        .await;
    visitor.screenshot("widget-2-open").await;
    axe(&visitor, "'#baton-host'", "the open widget").await;

    visitor
        .ask_assistant("How long does shipping take?", "business days")
        .await;
    click(&visitor, "[data-baton=human]").await;
    visitor.handoff_notice().await;

    agent
        .sign_in(&server, "demo@baton.local", "baton-demo")
        .await;
    axe(&agent, "document", "the console's queue").await;
    agent.open_first_in_queue().await;
    agent.page("[data-console=mechanism]").await;
    // The demo page's metadata, so axe checks the brief's Context too.
    agent.page("[data-console=metadata]").await;
    agent.screenshot("widget-4-console-brief").await;
    axe(&agent, "document", "the console's brief").await;
    agent
        .page("[data-console=claim]")
        .await
        .click()
        .await
        .unwrap();
    visitor
        .widget_text_until("[data-baton=responder]", "the agent's name", |t| t == "Mia")
        .await;
    visitor.screenshot("widget-3-handoff-agent").await;
    axe(&visitor, "'#baton-host'", "the widget in a handoff").await;
    axe(
        &agent,
        "document",
        "the console with a claimed conversation",
    )
    .await;

    // Dark mode (the system's, followed by default) and a 360 px phone.
    visitor
        .client
        .execute(
            "document.getElementById('baton-host').setAttribute('data-scheme', 'dark');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        widget_style(&visitor, "[data-baton=panel]", "background-color").await,
        "rgb(17, 24, 39)"
    );
    visitor.screenshot("widget-6-dark").await;
    axe(&visitor, "'#baton-host'", "the widget in dark mode").await;

    let phone = driver.phone(360, 740).await;
    phone.open_widget(&server.url("/")).await;
    phone
        .widget_text_until("[data-baton=responder]", "the assistant's name", |t| {
            t == "Nova"
        })
        .await;
    let width = js(&phone, "return window.innerWidth;")
        .await
        .as_f64()
        .unwrap();
    // The panel slides in: wait for it to settle at the screen's edges.
    eventually("the panel to fill the phone's screen", || async {
        let panel = widget_rect(&phone, "[data-baton=panel]").await;
        ((panel[0], panel[1], panel[2]) == (0.0, 0.0, width)).then_some(())
    })
    .await;
    assert_eq!(width, 360.0);
    assert!(
        !visitor_launcher_shown(&phone).await,
        "the panel covers the launcher's place; it closes from its own button"
    );
    phone.screenshot("widget-7-phone-360").await;
    axe(&phone, "'#baton-host'", "the widget on a phone").await;

    phone.close().await;
    agent.close().await;
    visitor.close().await;
}

async fn visitor_launcher_shown(browser: &Browser) -> bool {
    browser
        .widget("[data-baton=launcher]")
        .await
        .is_displayed()
        .await
        .unwrap()
}
