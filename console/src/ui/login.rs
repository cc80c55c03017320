//! The sign-in form.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::Auth;
use crate::api;

#[component]
pub fn Login(auth: RwSignal<Auth>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match api::login(&email.get_untracked(), &password.get_untracked()).await {
                Ok(me) => auth.set(Auth::SignedIn(me)),
                Err(e) => {
                    error.set(Some(e.message()));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <main class="login">
            <form class="card" on:submit=submit>
                <h1>"Baton console"</h1>
                <p class="muted">"Sign in to answer the conversations handed to your team."</p>
                <label>
                    "Email"
                    <input
                        type="email"
                        autocomplete="username"
                        required
                        data-console="email"
                        prop:value=move || email.get()
                        on:input=move |ev| email.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    "Password"
                    <input
                        type="password"
                        autocomplete="current-password"
                        required
                        data-console="password"
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))
                    />
                </label>
                <p class="error" role="alert" data-console="login-error" hidden=move || error.with(Option::is_none)>
                    {move || error.get().unwrap_or_default()}
                </p>
                <button type="submit" class="primary" data-console="login" disabled=move || busy.get()>
                    "Sign in"
                </button>
            </form>
        </main>
    }
}
