//! The open conversation: its state and the agent's actions (claim,
//! release, transfer, resume, close), the transcript with files, read
//! receipts and the visitor's typing, the reply box with its attach button,
//! and the brief beside them.

use baton_shared::domain::{
    AgentId, AgentRef, Attachment, ConversationDetail, ConversationState, Seq,
};
use baton_widget::transcript::{Author, Line};
use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::brief::BriefCard;
use crate::connection::Console;
use crate::desk;
use crate::files;
use crate::format::{self, FileKind};

/// What the agent may do right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Allowed {
    claim: bool,
    release: bool,
    transfer: bool,
    resume: bool,
    close: bool,
    reply: bool,
    attach: bool,
}

#[component]
pub fn Pane(console: Console) -> impl IntoView {
    let open = Memo::new(move |_| console.desk.with(|d| d.opened.as_ref().map(|o| o.id)));
    move || match open.get() {
        Some(id) => view! { <Conversation console id/> }.into_any(),
        None => view! {
            <section class="conversation empty">
                <p class="muted">"Pick a conversation from the queue."</p>
            </section>
        }
        .into_any(),
    }
}

#[component]
fn Conversation(console: Console, id: i64) -> impl IntoView {
    let detail: Memo<Option<ConversationDetail>> = Memo::new(move |_| {
        console
            .desk
            .with(|d| d.opened.as_ref().and_then(|o| o.detail.clone()))
    });
    let allowed = Memo::new(move |_| {
        console.desk.with(|d| Allowed {
            claim: d.can_claim(),
            release: d.can_release(),
            transfer: d.can_transfer(),
            resume: d.can_resume(),
            close: d.can_close(),
            reply: d.can_reply(),
            attach: d.can_attach(),
        })
    });
    let problem = Memo::new(move |_| console.desk.with(|d| d.problem.clone()));
    let state = move || {
        detail.with(|d| {
            d.as_ref().map(|d| {
                (
                    d.state,
                    format::state(d.state, d.agent.as_ref().map(|a| a.name.as_str())),
                )
            })
        })
    };
    view! {
        <section class="conversation" aria-label="Conversation">
            <header class="conv-head">
                <div>
                    <h2>{format!("Conversation #{id}")}</h2>
                    <span
                        class="state"
                        data-console="state"
                        data-state=move || state().map(|(s, _)| s.as_str())
                    >
                        {move || state().map(|(_, text)| text).unwrap_or_else(|| "Loading…".into())}
                    </span>
                </div>
                <div class="actions">
                    <button type="button" class="primary" data-console="claim"
                        disabled=move || !allowed.get().claim on:click=move |_| console.claim()>
                        "Claim"
                    </button>
                    <button type="button" data-console="release"
                        title="Put it back in the queue for someone else"
                        disabled=move || !allowed.get().release on:click=move |_| console.release()>
                        "Release"
                    </button>
                    <Transfer console allowed=Signal::derive(move || allowed.get().transfer)/>
                    <button type="button" data-console="resume"
                        disabled=move || !allowed.get().resume on:click=move |_| console.resume()>
                        "Resume assistant"
                    </button>
                    <button type="button" data-console="close"
                        disabled=move || !allowed.get().close on:click=move |_| console.close()>
                        "Close"
                    </button>
                </div>
            </header>
            <p class="problem" role="alert" hidden=move || problem.with(Option::is_none)>
                {move || problem.get().unwrap_or_default()}
            </p>
            <div class="conv-body">
                <div class="thread">
                    <Transcript console/>
                    <Reply console can_reply=Signal::derive(move || allowed.get().reply)
                        can_attach=Signal::derive(move || allowed.get().attach)
                        closed=Signal::derive(move || {
                        detail.with(|d| d.as_ref().is_some_and(|d| d.state == ConversationState::Closed))
                    })/>
                </div>
                <BriefCard detail/>
            </div>
        </section>
    }
}

/// Hand the conversation to someone else on the team: a choice of the
/// other agents (the first preselected) and a button.
#[component]
fn Transfer(console: Console, allowed: Signal<bool>) -> impl IntoView {
    let targets: Memo<Vec<AgentRef>> =
        Memo::new(move |_| console.desk.with(|d| d.transfer_targets()));
    let chosen = RwSignal::new(None::<AgentId>);
    // What is chosen, if still on the team; else the first one.
    let target = move || {
        targets.with(|t| {
            chosen
                .get()
                .filter(|id| t.iter().any(|a| a.id == *id))
                .or_else(|| t.first().map(|a| a.id))
        })
    };
    view! {
        <span class="transfer">
            <select
                data-console="transfer"
                aria-label="Transfer to"
                title="Transfer to another agent"
                disabled=move || !allowed.get()
                on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())
                prop:value=move || target().map(|id| id.to_string()).unwrap_or_default()
            >
                {move || {
                    let t = targets.get();
                    if t.is_empty() {
                        view! { <option value="">"No one else on the team"</option> }.into_any()
                    } else {
                        t.into_iter()
                            .map(|a| view! { <option value=a.id.to_string()>{a.name}</option> })
                            .collect_view()
                            .into_any()
                    }
                }}
            </select>
            <button type="button" data-console="transfer-send"
                disabled=move || !allowed.get() || target().is_none()
                on:click=move |_| {
                    if let Some(to) = target() {
                        console.transfer(to);
                    }
                }>
                "Transfer"
            </button>
        </span>
    }
}

#[component]
fn Transcript(console: Console) -> impl IntoView {
    let lines = Memo::new(move |_| {
        console
            .desk
            .with(|d| d.opened.as_ref().map(|o| o.lines()).unwrap_or_default())
    });
    // The visitor's name as the host site gave it, else "Visitor"; a name
    // the site did not sign is labelled as a claim on every message.
    let identity = Memo::new(move |_| {
        console.desk.with(|d| {
            d.opened
                .as_ref()
                .and_then(|o| o.identity())
                .and_then(|i| Some((i.name.clone()?, i.verified)))
        })
    });
    let visitor = Memo::new(move |_| {
        identity.with(|i| {
            i.as_ref()
                .map_or_else(|| "Visitor".into(), |(name, _)| name.clone())
        })
    });
    let author = Memo::new(move |_| match identity.get() {
        Some((name, false)) => format!("{name} (unverified)"),
        _ => visitor.get(),
    });
    let seen = Memo::new(move |_| {
        console
            .desk
            .with(|d| d.opened.as_ref().and_then(|o| o.seen()))
    });
    let typing = Memo::new(move |_| {
        console
            .desk
            .with(|d| d.opened.as_ref().is_some_and(|o| o.visitor_typing))
    });
    let log = NodeRef::<html::Div>::new();
    Effect::new(move |_| {
        lines.track();
        typing.track();
        request_animation_frame(move || {
            if let Some(el) = log.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    });
    view! {
        <div class="transcript" data-console="transcript" aria-live="polite" node_ref=log>
            <For each=move || lines.get() key=Line::key children=move |line| view! { <Message line visitor=author seen/> }/>
            <Show when=move || typing.get()>
                <div class="typing" data-console="typing">
                    <span class="dots" aria-hidden="true"><i></i><i></i><i></i></span>
                    {move || format!("{} is typing…", visitor.get())}
                </div>
            </Show>
        </div>
    }
}

#[component]
fn Message(line: Line, visitor: Memo<String>, seen: Memo<Option<Seq>>) -> impl IntoView {
    let author = line.author;
    let seq = line.seq;
    let progress = desk::progress(&line);
    let pending = line.is_pending().then_some("true");
    let failed = line.failed.is_some().then_some("true");
    let meta = (author == Author::Assistant)
        .then(|| {
            let mut parts = Vec::new();
            if let Some(c) = line.confidence {
                parts.push(format!("confidence {c:.2}"));
            }
            if !line.articles.is_empty() {
                parts.push(format!("articles: {}", line.articles.join(", ")));
            }
            parts.join(" · ")
        })
        .filter(|m| !m.is_empty());
    let name = match author {
        Author::Notice => None,
        Author::Visitor => Some(Signal::derive(move || visitor.get())),
        _ => {
            let name = line.name.clone().unwrap_or_default();
            Some(Signal::derive(move || name.clone()))
        }
    };
    view! {
        <div
            class=format!("msg {}", author.as_str())
            data-console="message"
            data-author=author.as_str()
            data-seq=line.seq.map(|s| s.to_string())
            data-pending=pending
            data-failed=failed
            data-kind=line.kind
        >
            {name.map(|name| view! { <div class="author" data-console="author">{name}</div> })}
            {match line.attachment.clone() {
                Some(attachment) => view! { <FileView attachment/> }.into_any(),
                None => view! { <div class="text" data-console="text">{line.text}</div> }.into_any(),
            }}
            {progress.map(|p| view! { <div class="progress" data-console="progress">{p}</div> })}
            {meta.map(|meta| view! { <div class="meta">{meta}</div> })}
            {line.failed.map(|why| view! {
                <div class="failed" data-console="failed" role="alert">"Not sent: " {why}</div>
            })}
            <Show when=move || seq.is_some() && seen.get() == seq>
                <div class="seen" data-console="seen">"Seen"</div>
            </Show>
        </div>
    }
}

/// A file in the transcript: an image as a thumbnail that opens the full
/// size in a new tab, audio as a player, anything else as a download link
/// with its name and size; one still uploading (no id yet) as its name
/// and size. Names are text and `alt`, never markup.
#[component]
fn FileView(attachment: Attachment) -> impl IntoView {
    if attachment.id.is_empty() {
        return view! {
            <div class="file uploading" data-console="file" data-file="uploading">
                <span class="doc">
                    <PaperclipIcon/>
                    <span class="doc-name">{attachment.name.clone()}</span>
                    <span class="doc-size">{format::size(attachment.size)}</span>
                </span>
            </div>
        }
        .into_any();
    }
    let href = attachment.path();
    let name = attachment.name.clone();
    let label = format::file_label(&attachment.name, attachment.size);
    let kind = format::file_kind(&attachment.content_type);
    let body = match kind {
        FileKind::Image => {
            let full = href.clone();
            let title = format!("{label} (opens in a new tab)");
            view! {
                <a class="thumb" href=full target="_blank" rel="noopener noreferrer" title=title>
                    <img src=href alt=name data-console="thumbnail"/>
                </a>
            }
            .into_any()
        }
        FileKind::Audio => {
            let (src, aria, download) =
                (href.clone(), format!("Voice message: {name}"), name.clone());
            view! {
                <span class="voice-label">{format::attachment(&attachment)}</span>
                <audio controls preload="metadata" src=src aria-label=aria data-console="audio"></audio>
                <a class="file-meta" href=href download=download>{label}</a>
            }
            .into_any()
        }
        FileKind::File => view! {
            <a class="doc" href=href download=name data-console="download">
                <FileIcon/>
                <span class="doc-name">{attachment.name.clone()}</span>
                <span class="doc-size">{format::size(attachment.size)}</span>
            </a>
        }
        .into_any(),
    };
    let kind = match kind {
        FileKind::Image => "image",
        FileKind::Audio => "audio",
        FileKind::File => "file",
    };
    view! {
        <div class=format!("file {kind}") data-console="file" data-file=kind>{body}</div>
    }
    .into_any()
}

/// Icons are drawn, not emoji: a machine without an emoji font shows
/// emoji as empty boxes.
#[component]
fn PaperclipIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
            <path d="M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48"/>
        </svg>
    }
}

#[component]
fn FileIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
            <path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z"/>
            <path d="M14 2v6h6M16 13H8M16 17H8"/>
        </svg>
    }
}

#[component]
fn Reply(
    console: Console,
    can_reply: Signal<bool>,
    can_attach: Signal<bool>,
    closed: Signal<bool>,
) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let input = NodeRef::<html::Textarea>::new();
    // Leaving the conversation (or the page) stops "typing" there.
    on_cleanup(move || console.stop_typing());
    let send = move || {
        let text = draft.get_untracked();
        if can_reply.get_untracked() && !text.trim().is_empty() {
            console.reply(&text);
            draft.set(String::new());
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    // Claiming puts the cursor where the first reply goes.
    Effect::new(move |_| {
        if can_reply.get() {
            request_animation_frame(move || {
                if let Some(el) = input.get_untracked() {
                    let _ = el.focus();
                }
            });
        }
    });
    let placeholder = move || {
        if can_reply.get() {
            "Reply to the visitor… (Enter sends, Shift+Enter for a new line)"
        } else if closed.get() {
            "This conversation is closed."
        } else {
            "Claim the conversation to reply."
        }
    };
    let chooser = NodeRef::<html::Input>::new();
    let chosen = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        if let Some(list) = input.files() {
            for i in 0..list.length() {
                if let Some(file) = list.get(i) {
                    console.attach(file);
                }
            }
        }
        // The same file again is a new choice.
        input.set_value("");
    };
    view! {
        <div class="reply">
            <input
                type="file"
                class="chooser"
                data-console="attach-input"
                accept=files::ACCEPT
                multiple
                tabindex="-1"
                aria-hidden="true"
                aria-label="Choose a file to attach"
                disabled=move || !can_attach.get()
                node_ref=chooser
                on:change=chosen
            />
            <button type="button" class="attach" data-console="attach"
                aria-label="Attach a file" title="Attach a file (image, voice message, PDF or text)"
                disabled=move || !can_attach.get()
                on:click=move |_| {
                    if let Some(input) = chooser.get_untracked() {
                        input.click();
                    }
                }>
                <PaperclipIcon/>
            </button>
            <textarea
                data-console="reply-input"
                rows="3"
                aria-label="Reply"
                placeholder=placeholder
                disabled=move || !can_reply.get()
                node_ref=input
                prop:value=move || draft.get()
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    console.draft_changed(&text);
                    draft.set(text);
                }
                on:keydown=on_keydown
                on:blur=move |_| console.stop_typing()
            ></textarea>
            <button type="button" class="primary" data-console="reply-send"
                disabled=move || !can_reply.get() on:click=move |_| send()>
                "Send"
            </button>
        </div>
    }
}
