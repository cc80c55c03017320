//! The queue: conversations waiting for a person or held by one, oldest
//! first, with a live waiting time.

use baton_shared::domain::QueueEntry;
use leptos::prelude::*;

use super::identity::Badge;
use crate::connection::Console;
use crate::format;

#[component]
pub fn Queue(console: Console, now: RwSignal<f64>) -> impl IntoView {
    let entries = Memo::new(move |_| console.desk.with(|d| d.queue.clone()));
    let open = Memo::new(move |_| console.desk.with(|d| d.opened.as_ref().map(|o| o.id)));
    view! {
        <nav class="queue" aria-label="Queue">
            <h2>"Queue " <span class="count">{move || entries.with(Vec::len)}</span></h2>
            <ul data-console="queue">
                <For
                    each=move || entries.get()
                    key=|e| {
                        let who = e.identity.as_ref().map(|i| (format::identity(i), i.verified));
                        (e.conversation, e.state, e.since, e.agent.as_ref().map(|a| a.id), who)
                    }
                    children=move |entry| view! { <Entry entry console now open/> }
                />
            </ul>
            <Show when=move || entries.with(Vec::is_empty)>
                <p class="muted empty">"Nobody is waiting."</p>
            </Show>
        </nav>
    }
}

#[component]
fn Entry(
    entry: QueueEntry,
    console: Console,
    now: RwSignal<f64>,
    open: Memo<Option<i64>>,
) -> impl IntoView {
    let id = entry.conversation;
    let since = entry.since as f64;
    let held = entry.agent.is_some();
    view! {
        <li>
            <button
                type="button"
                class="entry"
                class:active=move || open.get() == Some(id)
                class:held=held
                data-console="queue-entry"
                data-conversation=id.to_string()
                on:click=move |_| console.open(id)
            >
                <span class="line">
                    <span class=format!("mech {}", entry.mechanism.as_str())>
                        {format::mechanism(entry.mechanism, None)}
                    </span>
                    <span class="wait" title="Waiting time">{move || format::waited(now.get() - since)}</span>
                </span>
                <span class="intent">{entry.intent.clone()}</span>
                {entry.identity.clone().map(|identity| view! {
                    <span class="visitor" class:unverified=!identity.verified>
                        <span class="claims">{format::identity(&identity)}</span>
                        <Badge verified=identity.verified/>
                    </span>
                })}
                <span class="reason">{entry.reason.clone()}</span>
                <span class="holder">
                    {format::holder(&entry)}
                    {entry.out_of_hours.then_some(view! { <span class="tag">"out of hours"</span> })}
                </span>
            </button>
        </li>
    }
}
