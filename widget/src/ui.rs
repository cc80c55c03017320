//! The widget's components: a panel with a header naming the responder, the
//! transcript (with the answer streaming in, the typing indicator and, after
//! the team closes, the rating prompt), and a footer with the status line,
//! the "Talk to a human" button and the composer (with buttons to attach a
//! file and to record a voice message); beside the panel, a screen-reader
//! announcement of what arrives. Shared files show as a thumbnail (images),
//! a player (audio) or a link with the name and size (anything else).
//!
//! The panel's frame is `view!`s. What inside it comes and goes (the lines,
//! the draft, the typing indicator, the rating prompt, shared files, the
//! announcement) is drawn with plain DOM calls from effects: each `view!`
//! shape costs the visitor kilobytes of generic code, and the widget has a
//! download budget (README, "Size"; `cargo xtask size`).
//!
//! The `data-baton` attributes are a contract with the end-to-end tests and
//! with host pages that script the widget: keep them. All text goes into text
//! nodes, never into HTML, so whatever people type shows literally.

use baton_shared::domain::{Attachment, ConversationState, Rating, Responder};
use baton_shared::protocol::DEFAULT_MAX_TEXT_CHARS;
use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::{JsCast, UnwrapThrowExt};
use web_sys::HtmlInputElement;

use crate::chat::{Chat, Config};
use crate::files;
use crate::i18n::Strings;
use crate::session::{HumanButton, Session, Status};
use crate::transcript::{Author, Line, THANKS};
use crate::upload;

/// The panel's CSS. It lives inside the shadow root, so the host page's CSS
/// cannot reach it and it cannot leak out. Minified by `build.rs`.
const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/style.css"));

/// `DEFAULT_MAX_TEXT_CHARS` as an attribute value, without formatting code.
const MAX_TEXT: &str = "4000";
const _: () = assert!(DEFAULT_MAX_TEXT_CHARS == 4000, "update MAX_TEXT");

#[component]
pub fn Widget(chat: Chat) -> impl IntoView {
    // Read receipts wait for the visitor to come back to the page.
    let visibility = window_event_listener_untyped("visibilitychange", move |_| chat.mark_read());
    on_cleanup(move || visibility.remove());
    // The site's choices: drawn as they are now. They change rarely (a
    // `Baton('set', …)`), and then the widget is mounted again (see
    // `entry.rs`): reactive text everywhere would cost the visitor more.
    let config = chat.config.get_untracked();
    let t = config.lang.strings();
    let lang = config.lang.code();
    view! {
        <style>{STYLE}</style>
        <Announcer chat t/>
        <section
            class="panel"
            data-baton="panel"
            role="dialog"
            aria-label=t.chat
            lang=lang
            hidden=move || !chat.open.get()
            on:keydown=move |ev: KeyboardEvent| {
                if ev.key() == "Escape" {
                    chat.minimise();
                }
            }
        >
            <Header chat t config=config.clone()/>
            <Transcript chat t config/>
            <Footer chat t/>
        </section>
    }
}

/// What a line says in the widget's language: notices the widget words
/// itself are translated; messages and the server's notices are as sent.
fn line_text(line: &Line, t: &Strings) -> String {
    // A clarifying question is asked in the widget's language; its
    // choices are the quick replies below the log.
    if !line.choices.is_empty() {
        return t.did_you_mean.to_owned();
    }
    if line.author != Author::Notice {
        return line.text.clone();
    }
    let after_name = match line.kind {
        Some("agent_joined") => t.joined,
        Some("agent_left") => t.handed_back,
        Some("assistant_resumed") => t.is_back,
        _ if line.text == THANKS => return t.thanks.to_owned(),
        _ => return line.text.clone(),
    };
    [line.name.as_deref().unwrap_or_default(), after_name].concat()
}

/// A line's author as the widget names it: the site's name for its
/// assistant, if it chose one.
fn author_name(line: &Line, config: &Config) -> String {
    match (line.author, &config.name) {
        (Author::Assistant, Some(name)) => name.clone(),
        _ => line.name.clone().unwrap_or_default(),
    }
}

/// Reads out what arrives (the team's messages and notices, not the
/// visitor's own), once, even while the panel is closed.
#[component]
fn Announcer(chat: Chat, t: &'static Strings) -> impl IntoView {
    let config = chat.config.get_untracked();
    let region = NodeRef::<html::Div>::new();
    // Written straight into the live region (no memo or reactive text:
    // code the visitor would download for one line of text). Not on the
    // first run: a widget drawn again (`Baton('set', …)`) says nothing new.
    Effect::new(move |ran: Option<bool>| {
        let seq = chat.news.get();
        if ran.is_none() {
            return true;
        }
        let said = seq.and_then(|seq| {
            let line = chat.session.with_untracked(|s| {
                s.transcript
                    .lines()
                    .into_iter()
                    .find(|l| l.seq == Some(seq))
            })?;
            Some(match line.author {
                Author::Visitor => return None,
                Author::Notice => line_text(&line, t),
                _ => [author_name(&line, &config).as_str(), ": ", &line.text].concat(),
            })
        });
        if let Some(region) = region.get_untracked() {
            region.set_text_content(said.as_deref());
        }
        true
    });
    view! { <div class="sr" role="status" aria-live="polite" data-baton="announce" node_ref=region></div> }
}

#[component]
fn Header(chat: Chat, t: &'static Strings, config: Config) -> impl IntoView {
    let responder = Memo::new(move |_| chat.session.with(|s| s.transcript.responder().cloned()));
    let queued = Memo::new(move |_| {
        chat.session
            .with(|s| s.transcript.state() == ConversationState::Queued)
    });
    let assistant = move || !matches!(responder.get(), Some(Responder::Agent { .. }));
    let name = {
        let own = config.name.clone();
        move || match (responder.get(), &own) {
            (Some(Responder::Assistant { .. }) | None, Some(own)) => own.clone(),
            (Some(r), _) => r.name().to_owned(),
            (None, None) => String::new(),
        }
    };
    let initial = {
        let name = name.clone();
        move || {
            // Upper case by CSS (`.avatar`): Rust's case tables would cost
            // the visitor 5 KB.
            name().chars().next().map(String::from).unwrap_or_default()
        }
    };
    let role = move || match responder.get() {
        Some(Responder::Agent { .. }) => t.team_role,
        // Handed off, or handed back to the team: nobody holds it yet.
        Some(Responder::Assistant { .. }) if queued.get() => t.queued_role,
        Some(Responder::Assistant { .. }) => t.assistant_role,
        None => "",
    };
    // The site's picture of its assistant, while the assistant answers.
    let avatar = config.avatar.map(|src| {
        view! { <img class="avatar" data-baton="avatar" src=src alt="" hidden=move || !assistant()/> }
    });
    let pictured = avatar.is_some();
    view! {
        // Not a <header>: inside the dialog it would be a second banner
        // landmark on the host page.
        <div class="head">
            {avatar}
            <div class="avatar" aria-hidden="true" hidden=move || pictured && assistant()>{initial}</div>
            <div class="who">
                <div class="name" data-baton="responder">{name}</div>
                <div class="role" data-baton="role">{role}</div>
            </div>
            <button
                type="button"
                class="icon"
                data-baton="close"
                aria-label=t.minimise
                on:click=move |_| chat.minimise()
            ></button>
        </div>
    }
}

#[component]
fn Transcript(chat: Chat, t: &'static Strings, config: Config) -> impl IntoView {
    let typing = Memo::new(move |_| chat.session.with(|s| s.typing().map(str::to_owned)));
    // The answer streaming in: its text (whose it is is read when drawn).
    let draft = Memo::new(move |_| {
        chat.session
            .with(|s| s.draft().map(|(_, text)| text.to_owned()))
    });
    let rating = Memo::new(move |_| chat.session.with(|s| s.rating_due()));
    let log = NodeRef::<html::Div>::new();
    // The newest line stays in view: on opening, and whenever the effects
    // below draw something.
    Effect::new(move |_| {
        chat.open.track();
        scroll_to_end(log);
    });
    let greeting = config
        .greeting
        .clone()
        .unwrap_or_else(|| t.greeting.to_owned());
    let own_name = config.name.clone();
    let list = NodeRef::<html::Div>::new();
    // The lines, kept in step with the session by key (a line's key
    // changes whenever it must be drawn again: acknowledged, stored,
    // refused, uploaded); before the first, the greeting. It runs on every
    // change to the session, as a memo of the lines would, and touches the
    // page only where a key changed: an unchanged line keeps its element,
    // so a voice message keeps playing. Plain DOM, as `message` says why.
    Effect::new(move |drawn: Option<Vec<(String, web_sys::Element)>>| {
        let lines = chat.session.with(Session::lines);
        let mut old = drawn.unwrap_or_default();
        let Some(parent) = list.get() else {
            return old;
        };
        if lines.is_empty() {
            if old.is_empty() && parent.child_element_count() > 0 {
                return old;
            }
            parent.set_text_content(None);
            child(
                &parent,
                "p",
                &[("class", "hint"), ("data-baton", "greeting")],
            )
            .set_text_content(Some(&greeting));
            return Vec::new();
        }
        if old.is_empty() {
            // The greeting goes.
            parent.set_text_content(None);
        }
        let mut changed = false;
        let mut next = Vec::new();
        for line in lines {
            let key = line.key();
            if let Some(at) = old.iter().position(|(k, _)| *k == key) {
                // Lines passed over are gone (or moved: drawn again).
                for (_, gone) in old.drain(..at) {
                    gone.remove();
                    changed = true;
                }
                next.push(old.remove(0));
            } else {
                let element = message(&line, t, &config, chat);
                let before = old.first().map(|(_, e)| web_sys::Node::from(e.clone()));
                let _ = parent.insert_before(&element, before.as_ref());
                next.push((key, element));
                changed = true;
            }
        }
        for (_, gone) in old {
            gone.remove();
            changed = true;
        }
        if changed {
            scroll_to_end(log);
        }
        next
    });
    let tail = NodeRef::<html::Div>::new();
    // After the lines: the answer streaming in, and who is typing. Drawn
    // again whenever either changes; plain DOM, as `message` says why.
    Effect::new(move |_| {
        let (draft, typing) = (draft.get(), typing.get());
        let Some(tail) = tail.get_untracked() else {
            return;
        };
        tail.set_text_content(None);
        if let Some(text) = draft {
            let row = child(
                &tail,
                "div",
                &[
                    ("class", "msg assistant"),
                    ("data-baton", "draft"),
                    ("aria-hidden", "true"),
                ],
            );
            let name = own_name.clone().or_else(|| {
                chat.session
                    .with_untracked(|s| s.draft().map(|(name, _)| name.to_owned()))
            });
            let name = name.unwrap_or_default();
            child(&row, "div", &[("class", "author")]).set_text_content(Some(&name));
            child(&row, "div", &[("class", "text")]).set_text_content(Some(&text));
        }
        if let Some(name) = typing {
            let row = child(
                &tail,
                "div",
                &[("class", "typing"), ("data-baton", "typing")],
            );
            let dots = child(&row, "span", &[("class", "dots"), ("aria-hidden", "true")]);
            for _ in 0..3 {
                child(&dots, "i", &[]);
            }
            child(&row, "span", &[]).set_text_content(Some(&[&name, t.is_typing].concat()));
        }
        scroll_to_end(log);
    });
    let prompt = NodeRef::<html::Div>::new();
    // The rating prompt, while a rating is due.
    Effect::new(move |_| {
        let due = rating.get();
        let slot = prompt.get_untracked()?;
        slot.set_text_content(None);
        scroll_to_end(log);
        due.then(|| rating_prompt(&slot, t))
    });

    view! {
        // Arrivals are read out by the announcer: the log itself is quiet.
        // Focusable, so it scrolls with the keyboard.
        <div class="log" data-baton="transcript" role="log" aria-live="off" aria-label=t.chat tabindex="0" node_ref=log on:click=move |ev| on_click(ev, chat)>
            // Slots the effects above keep; they take no room (CSS), so
            // what they hold lays out in the log.
            <div class="slot" node_ref=list></div>
            <div class="slot" node_ref=tail></div>
            <div class="slot" node_ref=prompt></div>
        </div>
    }
}

/// One line of the transcript, built with plain DOM calls: the same
/// elements as a `view!` would make, without the kilobytes of generic code
/// a keyed list of views costs the visitor. Text goes in as text only.
fn message(line: &Line, t: &'static Strings, config: &Config, chat: Chat) -> web_sys::Element {
    let author = line.author;
    let row = element(
        "div",
        &[
            ("class", &["msg ", author.as_str()].concat()),
            ("data-baton", "message"),
            ("data-author", author.as_str()),
        ],
    );
    if let Some(seq) = line.seq {
        let _ = row.set_attribute("data-seq", &seq.to_string());
    }
    if line.is_pending() {
        let _ = row.set_attribute("data-pending", "true");
    }
    if line.failed.is_some() {
        let _ = row.set_attribute("data-failed", "true");
    }
    let name = match author {
        Author::Notice => None,
        Author::Visitor => Some(("author sr", t.you.to_owned())),
        _ => Some(("author", author_name(line, config))),
    };
    if let Some((class, name)) = name {
        child(&row, "div", &[("class", class), ("data-baton", "author")])
            .set_text_content(Some(&name));
    }
    let body = child(&row, "div", &[("class", "text"), ("data-baton", "text")]);
    match &line.attachment {
        // A file's line names it (for the announcer, and the console); the
        // file itself shows instead.
        Some(file) => shared_file(
            &body,
            SharedFile {
                url: (!file.id.is_empty()).then(|| chat.file_url(&file.path())),
                file,
                uploading: line.is_uploading() && line.is_pending(),
                t,
            },
        ),
        None => body.set_text_content(Some(&line_text(line, t))),
    }
    if !line.choices.is_empty() {
        quick_replies(&row, &line.choices, t);
    }
    if let Some(why) = &line.failed {
        child(
            &row,
            "div",
            &[
                ("class", "failed"),
                ("data-baton", "failed"),
                ("role", "alert"),
            ],
        )
        .set_text_content(Some(&[t.not_sent, why].concat()));
    }
    row
}

/// Scrolls the log to its end once the browser has laid out what was just
/// drawn.
fn scroll_to_end(log: NodeRef<html::Div>) {
    request_animation_frame(move || {
        if let Some(el) = log.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
    });
}

/// A new element with these attributes.
fn element(tag: &str, attributes: &[(&str, &str)]) -> web_sys::Element {
    let element = document().create_element(tag).unwrap_throw();
    for (key, value) in attributes {
        let _ = element.set_attribute(key, value);
    }
    element
}

/// A new element with these attributes, added at the end of `parent`.
fn child(parent: &web_sys::Element, tag: &str, attributes: &[(&str, &str)]) -> web_sys::Element {
    let element = element(tag, attributes);
    let _ = parent.append_child(&element);
    element
}

/// What [`shared_file`] draws.
struct SharedFile<'a> {
    file: &'a Attachment,
    /// Where the server serves it; `None` while it uploads.
    url: Option<String>,
    uploading: bool,
    t: &'static Strings,
}

/// A shared file, drawn into its line's `body`: an image as a thumbnail
/// that opens the full image in a new tab, audio as a player, anything else
/// as a link with its name and size. While it uploads (no `url` yet) it is
/// the name and size, saying so. One shape for all, told apart by CSS
/// (`data-kind`, the link's class). Built with plain DOM calls, not a view:
/// a view's code costs the visitor kilobytes. Text goes in as text only.
fn shared_file(body: &web_sys::Element, shared: SharedFile) {
    let SharedFile {
        file,
        url,
        uploading,
        t,
    } = shared;
    let (kind, class) = match (file.is_image(), file.is_audio(), url.is_some()) {
        (true, _, true) => ("image", "thumb"),
        // The player says it all.
        (_, true, true) => ("audio", "gone"),
        (true, _, _) => ("image", "file"),
        (_, true, _) => ("audio", "file"),
        _ => ("file", "file"),
    };
    let name = file.name.as_str();
    for (key, value) in [
        ("class", "att"),
        ("data-baton", "attachment"),
        ("data-kind", kind),
    ] {
        let _ = body.set_attribute(key, value);
    }
    let url = url.as_deref();
    if let (Some(url), "audio") = (url, kind) {
        child(
            body,
            "audio",
            &[
                ("controls", ""),
                ("preload", "metadata"),
                ("src", url),
                ("aria-label", name),
                ("data-baton", "audio"),
            ],
        );
    }
    let link = child(
        body,
        "a",
        &[
            ("class", class),
            ("rel", "noopener noreferrer"),
            ("data-baton", "file"),
        ],
    );
    if let Some(url) = url {
        let _ = link.set_attribute("href", url);
        let _ = link.set_attribute("target", "_blank");
        if kind == "image" {
            child(
                &link,
                "img",
                &[("src", url), ("alt", name), ("data-baton", "thumbnail")],
            );
        }
    }
    child(&link, "span", &[("class", "fname")]).set_text_content(Some(name));
    let mut size = files::human_size(file.size, t);
    if uploading {
        size = [size.as_str(), " · ", t.uploading].concat();
    }
    child(&link, "span", &[("class", "fsize")]).set_text_content(Some(&size));
}

/// After the team closes: one click on a thumb rates, with the comment
/// above it if the visitor wrote one. Drawn into `slot` (plain DOM, as
/// `message` says why); the returned listener must live as long as it.
/// A clarifying question's quick replies, drawn under its text: one
/// button per article title, then "none of these" (clicks: [`on_click`]).
/// Shown only while the question is the last line (CSS): anything after
/// it answers it.
fn quick_replies(row: &web_sys::Element, choices: &[String], t: &Strings) {
    // The line's text above asks the question (`line_text`).
    let group = child(row, "div", &[("class", "choices")]);
    for choice in choices {
        child(
            &group,
            "button",
            &[("type", "button"), ("data-baton", "choice")],
        )
        .set_text_content(Some(choice));
    }
    child(
        &group,
        "button",
        &[("type", "button"), ("data-baton", "choice-none")],
    )
    .set_text_content(Some(t.none_of_these));
}

/// Every click on a button the transcript draws, heard once on the log:
/// the rating's thumbs (with the comment beside them), and a clarifying
/// question's quick replies — a title goes as the visitor's message (the
/// assistant answers it with that article), "none of these" asks for a
/// person.
fn on_click(ev: web_sys::MouseEvent, chat: Chat) {
    let button = event_target::<web_sys::Element>(&ev);
    // The comment box is just before the thumbs (`rating_prompt`).
    let comment = || {
        button
            .parent_element()
            .and_then(|thumbs| thumbs.previous_element_sibling())
            .map(|c| c.unchecked_into::<web_sys::HtmlTextAreaElement>().value())
            .unwrap_or_default()
    };
    match button.get_attribute("data-baton").as_deref() {
        Some("rate-good") => chat.rate(Rating::Good, &comment()),
        Some("rate-bad") => chat.rate(Rating::Bad, &comment()),
        Some("choice") => chat.say(&button.text_content().unwrap_or_default()),
        Some("choice-none") => chat.request_human(),
        _ => {}
    }
}

/// The rating prompt after a close: a comment box and two thumbs (clicks:
/// [`on_click`]).
fn rating_prompt(slot: &web_sys::Element, t: &'static Strings) {
    let prompt = child(
        slot,
        "div",
        &[
            ("class", "rating"),
            ("data-baton", "rating"),
            ("role", "group"),
            ("aria-label", t.rate_group),
        ],
    );
    child(&prompt, "p", &[("class", "q")]).set_text_content(Some(t.rate_question));
    child(
        &prompt,
        "textarea",
        &[
            ("data-baton", "rate-comment"),
            ("rows", "1"),
            ("placeholder", t.comment_placeholder),
            ("aria-label", t.comment),
            ("maxlength", MAX_TEXT),
        ],
    );
    // The thumbs are CSS icons (style.css): no emoji, no code.
    let thumbs = child(&prompt, "div", &[("class", "thumbs")]);
    for (class, key, label) in [("good", "rate-good", t.good), ("bad", "rate-bad", t.bad)] {
        child(
            &thumbs,
            "button",
            &[("type", "button"), ("class", class), ("data-baton", key)],
        )
        .set_text_content(Some(label));
    }
}

#[component]
fn Footer(chat: Chat, t: &'static Strings) -> impl IntoView {
    // What the status line says, if anything.
    let status = Memo::new(move |_| {
        chat.session
            .with(|s| s.status())
            .map(|status| match status {
                Status::Connecting => t.connecting.to_owned(),
                Status::Reconnecting => t.reconnecting.to_owned(),
                Status::Unavailable => t.unavailable.to_owned(),
                Status::Recording => t.recording.to_owned(),
                Status::Problem(why) => why,
            })
    });
    let human = Memo::new(move |_| chat.session.with(|s| s.human_button()));
    let draft = RwSignal::new(String::new());
    let can_attach = Memo::new(move |_| chat.session.with(Session::has_token));
    let on_pick = move |ev: leptos::ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        if let Some(list) = input.files() {
            for file in (0..list.length()).filter_map(|i| list.get(i)) {
                let (name, kind, size) = (file.name(), file.type_(), file.size() as u64);
                chat.send_file(file.into(), name, &kind, size);
            }
        }
        // The same file may be chosen again.
        input.set_value("");
    };
    let recording = move || chat.session.with(Session::recording);
    let can_record = upload::can_record();

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
                on:click=move |_| {
                    chat.request_human();
                    // The button is disabled now: keep the focus in the chat.
                    if let Some(input) = chat.input.get_untracked() {
                        let _ = input.focus();
                    }
                }
            >
                {move || match human.get() {
                    HumanButton::Offer => t.talk_to_human,
                    _ => t.on_the_way,
                }}
            </button>
        </div>
        <div class="composer">
            // Files wait for the conversation (uploads carry its token): one
            // `disabled` for the input and both buttons. Their icons are CSS
            // masks (style.css), as the thumbs: no code.
            <fieldset class="tools" disabled=move || !can_attach.get()>
                <input type="file" multiple accept=files::ACCEPT data-baton="file-input" hidden on:change=on_pick/>
                <button
                    type="button"
                    class="tool attach"
                    data-baton="attach"
                    aria-label=t.attach
                    // Opens the file input just before it.
                    on:click=|ev| {
                        let button: web_sys::Element = event_target(&ev);
                        if let Some(input) = button.previous_element_sibling() {
                            input.unchecked_into::<web_sys::HtmlElement>().click();
                        }
                    }
                ></button>
                // A toggle: pressed (and red) while recording; pressed again,
                // it sends. The status line says so too.
                <button
                    type="button"
                    class="tool mic"
                    data-baton="record"
                    hidden=!can_record
                    aria-label=t.record
                    aria-pressed=move || if recording() { "true" } else { "false" }
                    on:click=move |_| chat.toggle_recording()
                ></button>
            </fieldset>
            <textarea
                data-baton="input"
                rows="1"
                placeholder=t.placeholder
                aria-label=t.message
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
                aria-label=t.send
                disabled=move || draft.with(|d| d.trim().is_empty())
                on:click=move |_| send()
            ></button>
        </div>
    }
}
