//! A site owner's first try, as the README's "Add it to your site" says:
//! a page on another origin with nothing but the script tag, against the
//! real `baton serve`, in real Chromium.
//!
//! - Refused (the site is not in `visitors.allowed_origins`): the visitor
//!   reads that chat is unavailable, the browser console has one line
//!   naming the origin and the setting, the server's log warns the same,
//!   and the widget stops trying.
//! - Allowed as the README says: a message goes through and the assistant
//!   answers.
//! - Baton's own pages (the demo page with a chat, the console's sign-in
//!   page and its queue) show no error in the browser console.
//!
//! Run alone: `cargo test -p baton-e2e --test embedding` (after
//! `cargo xtask build`).

use baton_e2e::child::ChildServer;
use baton_e2e::{Browser, Driver, HostSite, Server, assets_dir, eventually};

const UNAVAILABLE: &str = "Chat is unavailable on this site right now.";

/// The README's snippet, and nothing else.
fn shop_page(baton: &ChildServer) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><title>Shop</title>\
         <link rel=\"icon\" href=\"data:,\"></head>\
         <body><h1>A shop</h1>\
         <script src=\"{}\" async></script></body></html>",
        baton.url("/widget.js")
    )
}

#[tokio::test]
async fn a_refused_site_is_told_why_and_an_allowed_one_chats() {
    let site = HostSite::bind().await;
    let binary = env!("CARGO_BIN_EXE_baton-under-test");
    // The owner restricted embedding to another site of theirs.
    let restricted = "[visitors]\nallowed_origins = [\"https://elsewhere.example\"]\n";
    let mut baton = ChildServer::start(binary, restricted, Some(&assets_dir())).await;
    let page = site.origin.clone();
    let url = HostSite::serve(site, shop_page(&baton));
    let driver = Driver::start().await;
    let visitor = driver.browser(1280, 900).await;

    visitor.open_widget(&url).await;
    visitor
        .widget_text_until("[data-baton=status]", "the unavailable notice", |t| {
            t == UNAVAILABLE
        })
        .await;
    // One actionable line in the browser console: the origin and the key.
    let line = eventually("the console line", || async {
        visitor
            .console_errors()
            .await
            .into_iter()
            .find(|e| e.contains("Baton"))
    })
    .await;
    assert!(
        line.contains(&page) && line.contains("allowed_origins"),
        "{line}"
    );
    // The server says the same, at WARN.
    let warned = eventually("the server's warning", || async {
        baton
            .log()
            .lines()
            .find(|l| l.contains("WARN") && l.contains(&page))
            .map(str::to_owned)
    })
    .await;
    assert!(warned.contains("allowed_origins"), "{warned}");
    // The widget stopped trying: still unavailable, never "Reconnecting…",
    // and no more refusals reach the browser's console.
    visitor.screenshot("embedding-refused").await;
    let status = visitor
        .widget("[data-baton=status]")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(status, UNAVAILABLE);

    // The owner adds the site as the README says and restarts Baton.
    baton.terminate().await;
    baton.reconfigure(&format!("[visitors]\nallowed_origins = [\"{page}\"]\n"));
    baton.restart().await;
    visitor.goto(&url).await;
    visitor.open_widget(&url).await;
    visitor
        .ask_assistant("How long does shipping take?", "business days")
        .await;
    let errors = visitor.console_errors().await;
    assert!(
        !errors.iter().any(|e| e.contains("allowed_origins")),
        "{errors:?}"
    );
    visitor.close().await;
}

/// Waits until the browser has logged everything the page did so far: a
/// line the test writes itself arrives after them.
async fn errors_so_far(browser: &Browser) -> Vec<String> {
    browser
        .client
        .execute("console.info('baton-e2e: checkpoint');", vec![])
        .await
        .unwrap();
    let errors = std::cell::RefCell::new(Vec::new());
    eventually("the checkpoint in the console log", || async {
        let mut reached = false;
        for entry in browser.console_log().await {
            reached |= entry.message.contains("baton-e2e: checkpoint");
            if entry.level == "SEVERE" {
                errors.borrow_mut().push(entry.message);
            }
        }
        reached.then_some(())
    })
    .await;
    errors.into_inner()
}

#[tokio::test]
async fn the_demo_page_and_the_console_log_no_errors() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let visitor = driver.browser(1280, 900).await;

    visitor.open_widget(&server.url("/")).await;
    visitor
        .ask_assistant("Do you offer gift cards?", "gift cards")
        .await;
    assert_eq!(
        errors_so_far(&visitor).await,
        Vec::<String>::new(),
        "demo page"
    );

    let agent = driver.browser(1280, 900).await;
    agent.goto(&server.url("/console/")).await;
    agent.page("[data-console=login]").await;
    assert_eq!(
        errors_so_far(&agent).await,
        Vec::<String>::new(),
        "sign-in page"
    );
    agent
        .sign_in(&server, "demo@baton.local", "baton-demo")
        .await;
    agent.page("[data-console=queue]").await;
    assert_eq!(
        errors_so_far(&agent).await,
        Vec::<String>::new(),
        "the console"
    );

    visitor.close().await;
    agent.close().await;
}
