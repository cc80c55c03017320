//! The console's pages: the login form, or the workspace (top bar, queue on
//! the left, the open conversation with its brief on the right) and, at
//! `#/analytics`, the Analytics page.
//!
//! The `data-console` attributes are a contract with the end-to-end tests:
//! keep them. All text goes into text nodes, never into HTML.

mod analytics;
mod brief;
mod chart;
mod conversation;
mod identity;
mod login;
mod queue;
mod teach;

use std::time::Duration;

use baton_shared::domain::AgentRef;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::connection::Console;

/// Whether someone is signed in.
#[derive(Clone, Debug, PartialEq)]
pub enum Auth {
    Checking,
    SignedOut,
    SignedIn(AgentRef),
}

#[component]
pub fn App() -> impl IntoView {
    let auth = RwSignal::new(Auth::Checking);
    spawn_local(async move {
        // Any failure shows the login page; it reports what is wrong on submit.
        auth.set(api::me().await.map_or(Auth::SignedOut, Auth::SignedIn));
    });
    move || match auth.get() {
        Auth::Checking => view! { <p class="loading">"Loading…"</p> }.into_any(),
        Auth::SignedOut => view! { <login::Login auth/> }.into_any(),
        Auth::SignedIn(me) => view! { <Workspace me auth/> }.into_any(),
    }
}

#[component]
fn Workspace(me: AgentRef, auth: RwSignal<Auth>) -> impl IntoView {
    let name = me.name.clone();
    let console = Console::start(me, move || auth.set(Auth::SignedOut));
    // One clock for every waiting time in the queue.
    let now = RwSignal::new(js_sys::Date::now());
    let tick = set_interval_with_handle(
        move || now.set(js_sys::Date::now()),
        Duration::from_secs(10),
    )
    .ok();
    on_cleanup(move || {
        console.stop();
        if let Some(tick) = tick {
            tick.clear();
        }
    });
    let status = Memo::new(move |_| console.desk.with(|d| d.status()));
    // The verdict buttons in the brief reach the socket through it.
    provide_context(console);
    let analytics = RwSignal::new(on_analytics());
    // Back, forward and links move between the pages and conversations.
    let hash_changes = window_event_listener(leptos::ev::hashchange, move |_| {
        analytics.set(on_analytics());
        let hash = window().location().hash().unwrap_or_default();
        if let Some(id) = crate::connection::conversation_in(&hash) {
            console.open(id);
        }
    });
    on_cleanup(move || hash_changes.remove());
    // Back to the desk: the open conversation, if any.
    let desk_link = move || {
        console.desk.with(|d| {
            d.opened
                .as_ref()
                .map_or_else(|| "#/".to_string(), |o| format!("#/conversations/{}", o.id))
        })
    };
    let logout = move |_| {
        spawn_local(async move {
            let _ = api::logout().await;
            console.stop();
            auth.set(Auth::SignedOut);
        })
    };
    view! {
        <header class="top">
            <h1 class="brand">"Baton"</h1>
            <span class="banner" data-console="status" role="status" hidden=move || status.get().is_none()>
                {move || status.get().unwrap_or_default()}
            </span>
            <nav class="pages" aria-label="Pages">
                <a href=desk_link data-console="nav-desk"
                    aria-current=move || (!analytics.get()).then_some("page")>"Conversations"</a>
                <a href="#/analytics" data-console="nav-analytics"
                    aria-current=move || analytics.get().then_some("page")>"Analytics"</a>
            </nav>
            <span class="me" data-console="me">{name}</span>
            <button type="button" class="ghost" data-console="logout" on:click=logout>"Sign out"</button>
        </header>
        {move || if analytics.get() {
            view! { <main class="an-page"><analytics::Analytics/></main> }.into_any()
        } else {
            view! {
                <main class="desk">
                    <queue::Queue console now/>
                    <conversation::Pane console/>
                </main>
            }.into_any()
        }}
    }
}

/// Whether the address names the Analytics page (`#/analytics`).
fn on_analytics() -> bool {
    window().location().hash().unwrap_or_default() == "#/analytics"
}
