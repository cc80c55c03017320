//! The widget's components: a panel with a header naming the responder, the
//! transcript (with the typing indicator and, after the team closes, the
//! rating prompt), and a footer with the status line, the "Talk to a human"
//! button and the composer.
//!
//! The `data-baton` attributes are a contract with the end-to-end tests and
//! with host pages that script the widget: keep them. All text goes into text
//! nodes, never into HTML, so whatever people type shows literally.

use baton_shared::domain::{ConversationState, Rating, Responder};
use baton_shared::protocol::DEFAULT_MAX_TEXT_CHARS;
use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;

use crate::chat::Chat;
use crate::session::HumanButton;
use crate::transcript::{Author, Line};

/// The panel's CSS. It lives inside the shadow root, so the host page's CSS
/// cannot reach it and it cannot leak out.
const STYLE: &str = include_str!("style.css");

/// `DEFAULT_MAX_TEXT_CHARS` as an attribute value, without formatting code.
const MAX_TEXT: &str = "4000";
const _: () = assert!(DEFAULT_MAX_TEXT_CHARS == 4000, "update MAX_TEXT");

#[component]
pub fn Widget(chat: Chat) -> impl IntoView {
    // Read receipts wait for the visitor to come back to the page.
    let visibility = window_event_listener_untyped("visibilitychange", move |_| chat.mark_read());
    on_cleanup(move || visibility.remove());
    view! {
        <style>{STYLE}</style>
        <section
            class="panel"
            data-baton="panel"
            role="dialog"
            aria-label="Chat"
            hidden=move || !chat.open.get()
            on:keydown=move |ev: KeyboardEvent| {
                if ev.key() == "Escape" {
                    chat.minimise();
                }
            }
        >
            <Header chat/>
            <Transcript chat/>
            <Footer chat/>
        </section>
    }
}

#[component]
fn Header(chat: Chat) -> impl IntoView {
    let responder = Memo::new(move |_| chat.session.with(|s| s.transcript.responder().cloned()));
    let name =
        move || responder.with(|r| r.as_ref().map(|r| r.name().to_owned()).unwrap_or_default());
    let initial = move || {
        name()
            .chars()
            .next()
            .map(|c| c.to_uppercase().to_string())
            .unwrap_or_default()
    };
    let queued = Memo::new(move |_| {
        chat.session
            .with(|s| s.transcript.state() == ConversationState::Queued)
    });
    let role = move || match responder.get() {
        Some(Responder::Agent { .. }) => "Support team",
        // Handed off, or handed back to the team: nobody holds it yet.
        Some(Responder::Assistant { .. }) if queued.get() => "A person will join you soon",
        Some(Responder::Assistant { .. }) => "Virtual assistant",
        None => "",
    };
    view! {
        <header class="head">
            <div class="avatar" aria-hidden="true">{initial}</div>
            <div class="who">
                <div class="name" data-baton="responder">{name}</div>
                <div class="role">{role}</div>
            </div>
            <button
                type="button"
                class="icon"
                data-baton="close"
                aria-label="Minimise chat"
                on:click=move |_| chat.minimise()
            >
                <svg viewBox="0 0 24 24" aria-hidden="true">
                    <path d="M6 9l6 6 6-6" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>
                </svg>
            </button>
        </header>
    }
}

#[component]
fn Transcript(chat: Chat) -> impl IntoView {
    let lines = Memo::new(move |_| chat.session.with(|s| s.transcript.lines()));
    let typing = Memo::new(move |_| chat.session.with(|s| s.typing().map(str::to_owned)));
    let rating = Memo::new(move |_| chat.session.with(|s| s.rating_due()));
    let log = NodeRef::<html::Div>::new();
    // Keep the newest line in view, after the list has been redrawn.
    Effect::new(move |_| {
        lines.track();
        typing.track();
        rating.track();
        chat.open.track();
        request_animation_frame(move || {
            if let Some(el) = log.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    });
    view! {
        <div class="log" data-baton="transcript" aria-live="polite" node_ref=log>
            <Show when=move || lines.with(Vec::is_empty)>
                <p class="hint">"Hi! Ask us anything. You can talk to a person at any time."</p>
            </Show>
            <For each=move || lines.get() key=Line::key children=move |line| view! { <Message line/> }/>
            {move || typing.get().map(|name| view! {
                <div class="typing" data-baton="typing">
                    <span class="dots" aria-hidden="true"><i></i><i></i><i></i></span>
                    {name} " is typing…"
                </div>
            })}
            {move || rating.get().then(|| view! { <RatingPrompt chat/> })}
        </div>
    }
}

#[component]
fn Message(line: Line) -> impl IntoView {
    let author = line.author;
    let pending = line.is_pending().then_some("true");
    let failed = line.failed.is_some().then_some("true");
    let name = match author {
        Author::Notice => None,
        Author::Visitor => Some(("author sr", "You".to_owned())),
        _ => Some(("author", line.name.clone().unwrap_or_default())),
    };
    view! {
        <div
            class=format!("msg {}", author.as_str())
            data-baton="message"
            data-author=author.as_str()
            data-seq=line.seq.map(|s| s.to_string())
            data-pending=pending
            data-failed=failed
        >
            {name.map(|(class, name)| view! { <div class=class data-baton="author">{name}</div> })}
            <div class="text" data-baton="text">{line.text}</div>
            {line.failed.map(|why| view! {
                <div class="failed" data-baton="failed" role="alert">"Not sent: " {why}</div>
            })}
        </div>
    }
}

/// After the team closes: one click on a thumb rates, with the comment
/// above it if the visitor wrote one.
#[component]
fn RatingPrompt(chat: Chat) -> impl IntoView {
    let comment = NodeRef::<html::Textarea>::new();
    let rate = move |rating| {
        let text = comment
            .get_untracked()
            .map(|c| c.value())
            .unwrap_or_default();
        chat.rate(rating, &text);
    };
    view! {
        <div class="rating" data-baton="rating" role="group" aria-label="Rate the help you got">
            <p class="q">"How was the help you got?"</p>
            <textarea
                data-baton="rate-comment"
                rows="1"
                placeholder="Add a comment (optional)"
                aria-label="Comment (optional)"
                maxlength=MAX_TEXT
                node_ref=comment
            ></textarea>
            <div class="thumbs">
                // The thumbs are CSS icons (style.css): no emoji, no code.
                <button type="button" data-baton="rate-good" on:click=move |_| rate(Rating::Good)>
                    "Good"
                </button>
                <button type="button" class="bad" data-baton="rate-bad" on:click=move |_| rate(Rating::Bad)>
                    "Bad"
                </button>
            </div>
        </div>
    }
}

#[component]
fn Footer(chat: Chat) -> impl IntoView {
    let status = Memo::new(move |_| chat.session.with(|s| s.status()));
    let human = Memo::new(move |_| chat.session.with(|s| s.human_button()));
    let draft = RwSignal::new(String::new());

    let send = move || {
        let text = draft.get_untracked();
        if !text.trim().is_empty() {
            chat.say(&text);
            draft.set(String::new());
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    view! {
        <div class="status" data-baton="status" role="status" hidden=move || status.with(Option::is_none)>
            {move || status.get().unwrap_or_default()}
        </div>
        <div class="actions">
            <button
                type="button"
                class="human"
                data-baton="human"
                hidden=move || human.get() == HumanButton::Hidden
                disabled=move || human.get() != HumanButton::Offer
                on:click=move |_| chat.request_human()
            >
                {move || match human.get() {
                    HumanButton::Offer => "Talk to a human",
                    _ => "A person is on the way",
                }}
            </button>
        </div>
        <div class="composer">
            <textarea
                data-baton="input"
                rows="1"
                placeholder="Write a message…"
                aria-label="Message"
                maxlength=MAX_TEXT
                node_ref=chat.input
                prop:value=move || draft.get()
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    chat.draft_changed(&text);
                    draft.set(text);
                }
                on:keydown=on_keydown
                on:blur=move |_| chat.stop_typing()
            ></textarea>
            <button
                type="button"
                class="send"
                data-baton="send"
                aria-label="Send"
                disabled=move || draft.with(|d| d.trim().is_empty())
                on:click=move |_| send()
            >
                <svg viewBox="0 0 24 24" aria-hidden="true">
                    <path d="M4 12l16-8-6 16-2.5-6.5z" fill="currentColor"/>
                </svg>
            </button>
        </div>
    }
}
