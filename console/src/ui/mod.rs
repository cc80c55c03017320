//! The console's pages: the login form, or the workspace (top bar, queue on
//! the left, the open conversation with its brief on the right).
//!
//! The `data-console` attributes are a contract with the end-to-end tests:
//! keep them. All text goes into text nodes, never into HTML.

mod brief;
mod conversation;
mod identity;
mod login;
mod queue;

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
    let logout = move |_| {
        spawn_local(async move {
            let _ = api::logout().await;
            console.stop();
            auth.set(Auth::SignedOut);
        })
    };
    view! {
        <header class="top">
            <span class="brand">"Baton"</span>
            <span class="banner" data-console="status" role="status" hidden=move || status.get().is_none()>
                {move || status.get().unwrap_or_default()}
            </span>
            <span class="me" data-console="me">{name}</span>
            <button type="button" class="ghost" data-console="logout" on:click=logout>"Sign out"</button>
        </header>
        <main class="desk">
            <queue::Queue console now/>
            <conversation::Pane console/>
        </main>
    }
}
