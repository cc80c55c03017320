//! What a host page loads: the loader names the current hashed widget
//! files, and those files can be fetched from any origin and cached for
//! good.

mod support;

use support::*;

#[tokio::test]
async fn the_loader_points_at_the_hashed_widget_which_any_site_may_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let widget = dir.path().join("assets/widget");
    std::fs::create_dir_all(&widget).unwrap();
    std::fs::write(
        widget.join("baton-widget-0123abcd.js"),
        "export default function(){}",
    )
    .unwrap();
    std::fs::write(widget.join("baton-widget-0123abcd_bg.wasm"), b"\0asm").unwrap();
    let config = baton::Config {
        assets_dir: dir.path().join("assets"),
        ..baton::Config::default()
    };
    let server = TestServer::start_on(dir.path().join("b.db"), config).await;
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("http://{}{path}", server.addr))
            .header("origin", "https://shop.example")
            .send()
    };

    let loader = get("/widget.js").await.unwrap();
    assert_eq!(loader.status(), 200);
    assert_eq!(loader.headers()["access-control-allow-origin"], "*");
    let js = loader.text().await.unwrap();
    assert!(
        js.contains("/widget/baton-widget-0123abcd.js")
            && js.contains("/widget/baton-widget-0123abcd_bg.wasm")
    );
    assert!(!js.contains("__BATON_ASSETS__"));

    let glue = get("/widget/baton-widget-0123abcd.js").await.unwrap();
    assert_eq!(glue.status(), 200);
    assert_eq!(glue.headers()["access-control-allow-origin"], "*");
    assert!(
        glue.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );

    let page = get("/").await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"<script src="/widget.js" async></script>"#));
}

#[tokio::test]
async fn without_a_built_widget_the_loader_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let config = baton::Config {
        assets_dir: dir.path().join("nothing"),
        ..baton::Config::default()
    };
    let server = TestServer::start_on(dir.path().join("b.db"), config).await;
    let response = reqwest::get(format!("http://{}/widget.js", server.addr))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.text().await.unwrap().contains("cargo xtask build"));
}
