//! The widget's panel in a real browser: mounted inside an open shadow root
//! as the loader does it, driven by clicks and typed text, with the server
//! played by feeding frames through [`Chat::link_event`].
//!
//! Run in headless Chromium:
//! `CHROMEDRIVER=/usr/bin/chromedriver
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! cargo test --target wasm32-unknown-unknown -p baton-widget`.

use std::cell::RefCell;
use std::rc::Rc;

use baton_shared::domain::{Attachment, ConversationState, Event, EventBody, Rating, Responder};
use baton_shared::protocol::{ErrorCode, VisitorRequest, VisitorUpdate};
use baton_widget::chat::{Chat, Config, Wire};
use baton_widget::i18n::Lang;
use baton_widget::link::LinkEvent;
use baton_widget::session::Session;
use baton_widget::ui::Widget;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{
    HtmlButtonElement, HtmlElement, HtmlTextAreaElement, ShadowRoot, ShadowRootInit, ShadowRootMode,
};

wasm_bindgen_test_configure!(run_in_browser);

/// Records what the widget sends instead of opening a socket.
#[derive(Default)]
struct FakeWire {
    connects: RefCell<u32>,
    stops: RefCell<u32>,
    sent: RefCell<Vec<VisitorRequest>>,
}

impl Wire for FakeWire {
    fn connect(&self, _chat: Chat) {
        *self.connects.borrow_mut() += 1;
    }
    fn send(&self, frame: &VisitorRequest) {
        self.sent.borrow_mut().push(frame.clone());
    }
    fn restart(&self) {}
    fn stop(&self) {
        *self.stops.borrow_mut() += 1;
    }
}

struct Page {
    root: ShadowRoot,
    chat: Chat,
    wire: Rc<FakeWire>,
}

impl Page {
    fn mount() -> Self {
        Self::mount_with(Config::default())
    }

    /// Mounted with the site's settings, as `Baton('set', …)` gives them.
    fn mount_with(config: Config) -> Self {
        let document = window().document().unwrap();
        let host = document.create_element("div").unwrap();
        document.body().unwrap().append_child(&host).unwrap();
        let init = ShadowRootInit::new(ShadowRootMode::Open);
        let root = host.attach_shadow(&init).unwrap();
        let container: HtmlElement = document.create_element("div").unwrap().unchecked_into();
        root.append_child(&container).unwrap();

        let wire = Rc::new(FakeWire::default());
        let chat = Chat::new(Session::new(None), wire.clone(), None);
        chat.config.set(config);
        leptos::mount::mount_to(container, move || view! { <Widget chat/> }).forget();
        Self { root, chat, wire }
    }

    fn server(&self, update: VisitorUpdate) {
        self.chat
            .link_event(LinkEvent::Message(serde_json::to_string(&update).unwrap()));
    }

    /// The socket opens and the server welcomes a new conversation with
    /// the assistant Nora.
    fn welcomed(&self) {
        self.chat.link_event(LinkEvent::Opened);
        self.server(VisitorUpdate::Welcome {
            token: Some("tok".into()),
            state: ConversationState::Assistant,
            responder: Responder::Assistant {
                name: "Nora".into(),
            },
        });
    }

    fn event(&self, seq: u64, body: EventBody) {
        self.server(VisitorUpdate::Event {
            event: Event { seq, at: 0, body },
        });
    }

    fn find<T: JsCast>(&self, selector: &str) -> T {
        self.root
            .query_selector(selector)
            .unwrap()
            .unwrap_or_else(|| panic!("no {selector}"))
            .unchecked_into()
    }

    fn text(&self, selector: &str) -> String {
        self.find::<HtmlElement>(selector)
            .text_content()
            .unwrap_or_default()
    }

    fn count(&self, selector: &str) -> u32 {
        self.root.query_selector_all(selector).unwrap().length()
    }

    fn type_text(&self, text: &str) {
        let input: HtmlTextAreaElement = self.find("[data-baton=input]");
        input.set_value(text);
        input
            .dispatch_event(&web_sys::Event::new("input").unwrap())
            .unwrap();
    }

    fn last_sent(&self) -> VisitorRequest {
        self.wire
            .sent
            .borrow()
            .last()
            .cloned()
            .expect("nothing sent")
    }

    /// The last frame sent that is not a typing or read notice.
    fn last_action(&self) -> VisitorRequest {
        self.wire
            .sent
            .borrow()
            .iter()
            .rev()
            .find(|f| {
                !matches!(
                    f,
                    VisitorRequest::Typing { .. } | VisitorRequest::Read { .. }
                )
            })
            .cloned()
            .expect("nothing sent")
    }

    fn sent_where(&self, keep: impl Fn(&VisitorRequest) -> bool) -> Vec<VisitorRequest> {
        self.wire
            .sent
            .borrow()
            .iter()
            .filter(|f| keep(f))
            .cloned()
            .collect()
    }

    fn exists(&self, selector: &str) -> bool {
        self.root.query_selector(selector).unwrap().is_some()
    }

    /// Opened, connected and welcomed into a conversation with Nora.
    async fn live() -> Self {
        Self::live_with(Config::default()).await
    }

    async fn live_with(config: Config) -> Self {
        let page = Self::mount_with(config);
        page.chat.set_open(true);
        page.welcomed();
        settle().await;
        page
    }
}

/// Lets effects run and the DOM update.
async fn settle() {
    leptos::task::tick().await;
    // Past the animation frame the focus and scroll effects wait for.
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 20)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_visitor_chats_asks_for_a_person_and_sees_the_responder_change() {
    let page = Page::mount();
    settle().await;
    assert!(
        page.find::<HtmlElement>("[data-baton=panel]").hidden(),
        "closed until opened"
    );
    assert_eq!(
        *page.wire.connects.borrow(),
        0,
        "a new visitor connects only on opening"
    );

    page.chat.set_open(true);
    settle().await;
    assert!(!page.find::<HtmlElement>("[data-baton=panel]").hidden());
    assert_eq!(*page.wire.connects.borrow(), 1, "opening connects");
    assert_eq!(page.text("[data-baton=status]"), "Connecting…");

    page.chat.link_event(LinkEvent::Opened);
    assert!(matches!(
        page.last_sent(),
        VisitorRequest::Hello {
            token: None,
            last_seq: 0,
            ..
        }
    ));
    page.server(VisitorUpdate::Welcome {
        token: Some("tok".into()),
        state: ConversationState::Assistant,
        responder: Responder::Assistant {
            name: "Nora".into(),
        },
    });
    settle().await;
    assert_eq!(page.text("[data-baton=responder]"), "Nora");
    assert!(page.find::<HtmlElement>("[data-baton=status]").hidden());
    let input: HtmlElement = page.find("[data-baton=input]");
    assert_eq!(
        page.root.active_element().as_ref(),
        Some(input.as_ref()),
        "the input has focus"
    );

    // A message shows at once as pending, then takes its seq from the server.
    page.type_text("<img src=x onerror=alert(1)> where is my order?");
    settle().await;
    page.find::<HtmlButtonElement>("[data-baton=send]").click();
    settle().await;
    let VisitorRequest::Say { client_id, text } = page.last_action() else {
        panic!("no say")
    };
    assert_eq!(text, "<img src=x onerror=alert(1)> where is my order?");
    let pending: HtmlElement = page.find("[data-baton=message][data-pending=true]");
    assert_eq!(
        pending.get_attribute("data-author").as_deref(),
        Some("visitor")
    );
    assert_eq!(
        page.find::<HtmlTextAreaElement>("[data-baton=input]")
            .value(),
        "",
        "the box is cleared"
    );

    page.server(VisitorUpdate::Ack {
        client_id: client_id.clone(),
        seq: 1,
    });
    page.event(
        1,
        EventBody::Visitor {
            client_id,
            text: text.clone(),
        },
    );
    page.event(
        2,
        EventBody::Assistant {
            name: "Nora".into(),
            text: "Let me check.".into(),
            articles: vec![],
            confidence: None,
            choices: vec![],
        },
    );
    settle().await;
    assert_eq!(page.count("[data-baton=message][data-pending]"), 0);
    assert_eq!(
        page.text("[data-baton=message][data-seq='1'] [data-baton=text]"),
        text,
        "shown as text"
    );
    assert_eq!(page.count("img"), 0, "never parsed as HTML");
    assert_eq!(
        page.text("[data-baton=message][data-seq='2'] [data-baton=author]"),
        "Nora"
    );

    // "Talk to a human": one click, then the button says a person is coming.
    let human: HtmlButtonElement = page.find("[data-baton=human]");
    assert_eq!(human.text_content().unwrap(), "Talk to a human");
    human.click();
    settle().await;
    assert!(matches!(
        page.last_action(),
        VisitorRequest::RequestHuman { .. }
    ));
    assert!(human.disabled());
    assert_eq!(human.text_content().unwrap(), "A person is on the way");

    page.event(
        3,
        EventBody::HandoffStarted {
            notice: "Connecting you with a person…".into(),
        },
    );
    page.event(4, EventBody::AgentJoined { name: "Mia".into() });
    settle().await;
    assert_eq!(page.text("[data-baton=responder]"), "Mia");
    assert!(
        human.hidden(),
        "no button while a person has the conversation"
    );
    let notice: HtmlElement = page.find("[data-baton=message][data-seq='4']");
    assert_eq!(
        notice.get_attribute("data-author").as_deref(),
        Some("notice")
    );
    assert_eq!(
        notice.text_content().unwrap(),
        "Mia joined the conversation"
    );
    assert!(
        notice
            .query_selector("[data-baton=author]")
            .unwrap()
            .is_none()
    );

    page.event(
        5,
        EventBody::AssistantResumed {
            name: "Nora".into(),
        },
    );
    settle().await;
    assert_eq!(page.text("[data-baton=responder]"), "Nora");
    assert_eq!(
        page.count("[data-baton=message]"),
        5,
        "one continuous transcript"
    );

    // Dropped: the transcript stays, the status says so.
    page.chat.link_event(LinkEvent::Closed { was_open: true });
    settle().await;
    assert_eq!(page.text("[data-baton=status]"), "Reconnecting…");
    assert_eq!(page.count("[data-baton=message]"), 5);

    page.find::<HtmlButtonElement>("[data-baton=close]").click();
    settle().await;
    assert!(page.find::<HtmlElement>("[data-baton=panel]").hidden());
}

#[wasm_bindgen_test]
async fn a_page_the_server_refuses_says_the_chat_is_unavailable_and_stops_trying() {
    let page = Page::mount_with(Config {
        lang: Lang::De,
        ..Config::default()
    });
    page.chat.set_open(true);
    page.chat.link_event(LinkEvent::Opened);
    page.server(VisitorUpdate::Error {
        code: ErrorCode::OriginNotAllowed,
        message: "add \"http://shop\" to [visitors] allowed_origins".into(),
        client_id: None,
    });
    page.chat.link_event(LinkEvent::Closed { was_open: true });
    settle().await;
    assert_eq!(
        page.text("[data-baton=status]"),
        "Der Chat ist auf dieser Website gerade nicht verfügbar."
    );
    assert_eq!(*page.wire.stops.borrow(), 1, "no more attempts");
}

#[wasm_bindgen_test]
async fn enter_sends_shift_enter_does_not_and_escape_closes() {
    let page = Page::mount();
    page.chat.set_open(true);
    page.welcomed();
    page.type_text("first line");
    settle().await;
    let input: HtmlTextAreaElement = page.find("[data-baton=input]");
    let shift_enter = keydown("Enter", true);

    input.dispatch_event(&shift_enter).unwrap();
    assert!(
        !shift_enter.default_prevented(),
        "Shift+Enter types a newline"
    );
    assert!(
        matches!(page.last_action(), VisitorRequest::Hello { .. }),
        "only hello (and typing) so far"
    );

    let enter = keydown("Enter", false);
    input.dispatch_event(&enter).unwrap();
    assert!(enter.default_prevented());
    assert!(matches!(page.last_action(), VisitorRequest::Say { text, .. } if text == "first line"));

    input.dispatch_event(&keydown("Escape", false)).unwrap();
    settle().await;
    assert!(
        page.find::<HtmlElement>("[data-baton=panel]").hidden(),
        "Escape closes the panel"
    );
}

fn keydown(key: &str, shift: bool) -> web_sys::KeyboardEvent {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_shift_key(shift);
    init.set_cancelable(true);
    init.set_bubbles(true);
    web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap()
}

#[wasm_bindgen_test]
async fn the_team_typing_shows_and_goes() {
    let page = Page::live().await;
    assert!(!page.exists("[data-baton=typing]"));
    page.server(VisitorUpdate::Typing {
        name: "Mia".into(),
        typing: true,
    });
    settle().await;
    assert_eq!(page.text("[data-baton=typing]").trim(), "Mia is typing…");
    page.server(VisitorUpdate::Typing {
        name: "Mia".into(),
        typing: false,
    });
    settle().await;
    assert!(!page.exists("[data-baton=typing]"));
}

#[wasm_bindgen_test]
async fn the_visitor_typing_is_reported_on_changes_only() {
    let page = Page::live().await;
    let typing = || page.sent_where(|f| matches!(f, VisitorRequest::Typing { .. }));
    page.type_text("w");
    page.type_text("wh");
    page.type_text("whe");
    assert_eq!(
        typing(),
        [VisitorRequest::Typing { typing: true }],
        "once, not per key"
    );
    page.type_text("");
    assert_eq!(
        typing().last(),
        Some(&VisitorRequest::Typing { typing: false })
    );

    page.type_text("where is my order");
    settle().await;
    page.find::<HtmlButtonElement>("[data-baton=send]").click();
    settle().await;
    assert_eq!(
        typing()[2..],
        [
            VisitorRequest::Typing { typing: true },
            VisitorRequest::Typing { typing: false }
        ],
        "sending stops it"
    );

    page.type_text("and another");
    let input: HtmlTextAreaElement = page.find("[data-baton=input]");
    input
        .dispatch_event(&web_sys::Event::new("blur").unwrap())
        .unwrap();
    assert_eq!(
        typing().last(),
        Some(&VisitorRequest::Typing { typing: false }),
        "leaving the box stops it"
    );

    page.type_text("one more");
    assert_eq!(
        typing().last(),
        Some(&VisitorRequest::Typing { typing: true })
    );
    page.chat.set_open(false);
    assert_eq!(
        typing().last(),
        Some(&VisitorRequest::Typing { typing: false }),
        "hiding the panel stops it"
    );
}

#[wasm_bindgen_test]
async fn what_the_visitor_has_seen_is_reported_while_the_panel_is_open() {
    let page = Page::live().await;
    let reads = || page.sent_where(|f| matches!(f, VisitorRequest::Read { .. }));
    page.event(
        1,
        EventBody::Assistant {
            name: "Nora".into(),
            text: "Hi".into(),
            articles: vec![],
            confidence: None,
            choices: vec![],
        },
    );
    assert_eq!(reads(), [VisitorRequest::Read { seq: 1 }]);

    page.chat.set_open(false);
    page.event(2, EventBody::AgentJoined { name: "Mia".into() });
    assert_eq!(reads().len(), 1, "not while the panel is closed");
    page.chat.set_open(true);
    assert_eq!(
        reads().last(),
        Some(&VisitorRequest::Read { seq: 2 }),
        "on opening"
    );
}

#[wasm_bindgen_test]
async fn a_refused_message_shows_as_failed_with_the_reason() {
    let page = Page::live().await;
    page.type_text("a very long message");
    settle().await;
    page.find::<HtmlButtonElement>("[data-baton=send]").click();
    settle().await;
    let VisitorRequest::Say { client_id, .. } = page.last_action() else {
        panic!("no say")
    };
    page.server(VisitorUpdate::Error {
        code: ErrorCode::Invalid,
        message: "Messages are limited to 4000 characters.".into(),
        client_id: Some(client_id),
    });
    settle().await;
    let failed: HtmlElement = page.find("[data-baton=message][data-failed=true]");
    assert!(!failed.has_attribute("data-pending"), "no longer pending");
    assert!(
        failed
            .text_content()
            .unwrap()
            .contains("Messages are limited to 4000 characters."),
        "says why"
    );
}

#[wasm_bindgen_test]
async fn after_the_close_one_click_rates_and_thanks() {
    let page = Page::live().await;
    page.event(1, EventBody::AgentJoined { name: "Mia".into() });
    settle().await;
    assert!(!page.exists("[data-baton=rating]"));
    page.event(2, EventBody::Closed);
    settle().await;
    assert!(page.exists("[data-baton=rating]"), "asked after the close");

    let comment: HtmlTextAreaElement = page.find("[data-baton=rate-comment]");
    comment.set_value("Mia was <b>quick</b>");
    comment
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    page.find::<HtmlButtonElement>("[data-baton=rate-good]")
        .click();
    settle().await;
    let VisitorRequest::Rate {
        client_id,
        rating,
        comment,
    } = page.last_action()
    else {
        panic!("no rate")
    };
    assert_eq!(
        (rating, comment.as_deref()),
        (Rating::Good, Some("Mia was <b>quick</b>"))
    );
    assert!(!page.exists("[data-baton=rating]"), "one click is enough");
    assert!(
        page.text("[data-baton=transcript]")
            .contains("Thanks for your feedback")
    );

    page.server(VisitorUpdate::Ack {
        client_id: client_id.clone(),
        seq: 3,
    });
    page.event(
        3,
        EventBody::Rated {
            client_id,
            rating,
            comment,
        },
    );
    settle().await;
    assert!(!page.exists("[data-baton=rating]"));
    assert_eq!(
        page.text("[data-baton=message][data-seq='3']"),
        "Thanks for your feedback"
    );
    assert_eq!(page.count("b"), 0, "the comment is never HTML");
}

#[wasm_bindgen_test]
async fn a_bad_rating_needs_no_comment() {
    let page = Page::live().await;
    page.event(1, EventBody::Closed);
    settle().await;
    page.find::<HtmlButtonElement>("[data-baton=rate-bad]")
        .click();
    settle().await;
    assert!(matches!(
        page.last_action(),
        VisitorRequest::Rate {
            rating: Rating::Bad,
            comment: None,
            ..
        }
    ));
}

#[wasm_bindgen_test]
async fn an_agent_handing_back_to_the_team_is_announced() {
    let page = Page::live().await;
    page.event(1, EventBody::AgentJoined { name: "Mia".into() });
    page.event(2, EventBody::AgentLeft { name: "Mia".into() });
    settle().await;
    assert_eq!(
        page.text("[data-baton=message][data-seq='2']"),
        "Mia handed your conversation back to the team"
    );
    assert_eq!(page.text("[data-baton=responder]"), "Nora");
    let human: HtmlButtonElement = page.find("[data-baton=human]");
    assert!(
        human.disabled() && !human.hidden(),
        "a person is on the way"
    );
}

fn nora_says(text: &str) -> EventBody {
    EventBody::Assistant {
        name: "Nora".into(),
        text: text.into(),
        articles: vec![],
        confidence: None,
        choices: vec![],
    }
}

#[wasm_bindgen_test]
async fn the_widget_speaks_the_chosen_language() {
    let page = Page::live_with(Config {
        lang: Lang::De,
        ..Config::default()
    })
    .await;
    let panel: HtmlElement = page.find("[data-baton=panel]");
    assert_eq!(panel.get_attribute("lang").as_deref(), Some("de"));
    assert_eq!(panel.get_attribute("aria-label").as_deref(), Some("Chat"));
    assert_eq!(
        page.text("[data-baton=human]"),
        "Mit einem Menschen sprechen"
    );
    let input: HtmlTextAreaElement = page.find("[data-baton=input]");
    assert_eq!(input.placeholder(), "Nachricht schreiben…");
    assert_eq!(
        page.find::<HtmlElement>("[data-baton=send]")
            .get_attribute("aria-label")
            .as_deref(),
        Some("Senden")
    );
    assert!(page.text("[data-baton=greeting]").starts_with("Hallo!"));

    page.event(1, EventBody::AgentJoined { name: "Mia".into() });
    settle().await;
    assert_eq!(
        page.text("[data-baton=message][data-seq='1']"),
        "Mia ist dem Gespräch beigetreten",
        "the widget's own notices are translated"
    );
    assert_eq!(page.text("[data-baton=role]"), "Support-Team");
    page.chat.link_event(LinkEvent::Closed { was_open: true });
    settle().await;
    assert_eq!(page.text("[data-baton=status]"), "Verbinde erneut…");
}

#[wasm_bindgen_test]
async fn the_site_names_its_assistant_and_shows_its_picture_and_greeting() {
    let page = Page::live_with(Config {
        name: Some("Ava".into()),
        avatar: Some("data:image/gif;base64,R0lGODlhAQABAAAAACw=".into()),
        greeting: Some("Welcome to Northwind!".into()),
        ..Config::default()
    })
    .await;
    assert_eq!(page.text("[data-baton=greeting]"), "Welcome to Northwind!");
    assert_eq!(
        page.text("[data-baton=responder]"),
        "Ava",
        "not the server's Nora"
    );
    let avatar: HtmlElement = page.find("[data-baton=avatar]");
    assert!(!avatar.hidden());
    assert_eq!(
        avatar.get_attribute("alt").as_deref(),
        Some(""),
        "decorative"
    );

    page.event(1, nora_says("Hello!"));
    settle().await;
    assert_eq!(
        page.text("[data-baton=message][data-seq='1'] [data-baton=author]"),
        "Ava"
    );
    assert!(
        !page.exists("[data-baton=greeting]"),
        "gone once people talk"
    );

    page.event(2, EventBody::AgentJoined { name: "Mia".into() });
    settle().await;
    assert_eq!(page.text("[data-baton=responder]"), "Mia");
    assert!(
        avatar.hidden(),
        "the assistant's picture goes with the assistant"
    );
}

#[wasm_bindgen_test]
async fn what_arrives_is_read_out_once_and_the_visitors_own_words_are_not() {
    let page = Page::live().await;
    let told = Rc::new(RefCell::new(Vec::new()));
    {
        let told = told.clone();
        page.chat.on_event(Rc::new(move |event: &Event| {
            told.borrow_mut().push(event.seq)
        }));
    }
    page.type_text("hello");
    settle().await;
    page.find::<HtmlButtonElement>("[data-baton=send]").click();
    settle().await;
    let VisitorRequest::Say { client_id, text } = page.last_action() else {
        panic!("no say")
    };
    page.event(1, EventBody::Visitor { client_id, text });
    settle().await;
    assert_eq!(
        page.text("[data-baton=announce]"),
        "",
        "not the visitor's own"
    );

    page.event(
        2,
        EventBody::Agent {
            name: "Mia".into(),
            client_id: "m".into(),
            text: "Hi, I'm Mia".into(),
        },
    );
    settle().await;
    let announce: HtmlElement = page.find("[data-baton=announce]");
    assert_eq!(
        announce.get_attribute("aria-live").as_deref(),
        Some("polite")
    );
    assert_eq!(page.text("[data-baton=announce]"), "Mia: Hi, I'm Mia");

    page.event(3, EventBody::AgentLeft { name: "Mia".into() });
    settle().await;
    assert_eq!(
        page.text("[data-baton=announce]"),
        "Mia handed your conversation back to the team"
    );
    // A replay (after a reconnect) is neither read out nor told again.
    page.event(2, EventBody::AgentJoined { name: "Mia".into() });
    settle().await;
    assert_eq!(*told.borrow(), [1, 2, 3], "the page hears each event once");
}

#[wasm_bindgen_test]
async fn a_streamed_answer_grows_in_place_and_gives_way_to_the_stored_one() {
    let page = Page::live().await;
    page.server(VisitorUpdate::Draft {
        name: "Nora".into(),
        text: "Refunds".into(),
    });
    settle().await;
    assert_eq!(page.text("[data-baton=draft] .text"), "Refunds");
    page.server(VisitorUpdate::Draft {
        name: "Nora".into(),
        text: "Refunds take 5 days".into(),
    });
    settle().await;
    assert_eq!(page.count("[data-baton=draft]"), 1);
    assert_eq!(page.text("[data-baton=draft] .text"), "Refunds take 5 days");
    page.event(1, nora_says("Refunds take 5 days."));
    settle().await;
    assert!(!page.exists("[data-baton=draft]"));
    assert_eq!(
        page.text("[data-baton=message][data-seq='1'] [data-baton=text]"),
        "Refunds take 5 days."
    );
}

#[wasm_bindgen_test]
async fn a_pending_message_is_marked_until_acknowledged() {
    let page = Page::live().await;
    page.type_text("is it shipped?");
    settle().await;
    page.find::<HtmlButtonElement>("[data-baton=send]").click();
    settle().await;
    let VisitorRequest::Say { client_id, text } = page.last_action() else {
        panic!("no say")
    };
    let pending: HtmlElement = page.find("[data-baton=message][data-author=visitor]");
    assert_eq!(
        pending.get_attribute("data-pending").as_deref(),
        Some("true")
    );
    assert_eq!(pending.get_attribute("data-seq"), None);
    page.server(VisitorUpdate::Ack {
        client_id: client_id.clone(),
        seq: 1,
    });
    settle().await;
    let acked: HtmlElement = page.find("[data-baton=message][data-author=visitor]");
    assert_eq!(acked.get_attribute("data-pending"), None, "acknowledged");
    assert_eq!(acked.get_attribute("data-seq").as_deref(), Some("1"));
    page.event(1, EventBody::Visitor { client_id, text });
    settle().await;
    assert_eq!(
        page.count("[data-baton=message][data-author=visitor]"),
        1,
        "no duplicate"
    );
}

fn file(id: &str, name: &str, content_type: &str, size: u64) -> Attachment {
    Attachment {
        id: id.into(),
        name: name.into(),
        content_type: content_type.into(),
        size,
    }
}

#[wasm_bindgen_test]
async fn shared_files_show_as_a_thumbnail_a_player_or_a_link_from_the_server() {
    let page = Page::live().await;
    page.chat.set_server("https://chat.example/");
    let hostile = r#"<img src=x onerror="window.__xss=1">.png"#;
    page.event(
        1,
        EventBody::VisitorAttachment {
            client_id: "f1".into(),
            attachment: file("p1", hostile, "image/png", 2048),
        },
    );
    page.event(
        2,
        EventBody::AgentAttachment {
            name: "Mia".into(),
            client_id: "m1".into(),
            attachment: file("a1", "voice.webm", "audio/webm", 9000),
        },
    );
    page.event(
        3,
        EventBody::AgentAttachment {
            name: "Mia".into(),
            client_id: "m2".into(),
            attachment: file("d1", "Invoice 42.pdf", "application/pdf", 1_572_864),
        },
    );
    settle().await;

    // The visitor's picture, on the visitor's side: a thumbnail opening the
    // full picture in a new tab; its name is text, never markup.
    let img: HtmlElement =
        page.find("[data-author=visitor] [data-kind=image] img[data-baton=thumbnail]");
    assert_eq!(img.get_attribute("alt").as_deref(), Some(hostile));
    assert_eq!(
        img.get_attribute("src").as_deref(),
        Some("https://chat.example/api/uploads/p1")
    );
    let link: HtmlElement = page.find("[data-author=visitor] a.thumb");
    assert_eq!(
        (
            link.get_attribute("href").as_deref(),
            link.get_attribute("target").as_deref()
        ),
        (Some("https://chat.example/api/uploads/p1"), Some("_blank"))
    );
    assert_eq!(page.count("img"), 1, "the name made no element");

    // The agent's voice message: a player under their name.
    let audio: HtmlElement = page.find("[data-author=agent] audio[data-baton=audio]");
    assert!(audio.has_attribute("controls"));
    assert_eq!(
        audio.get_attribute("aria-label").as_deref(),
        Some("voice.webm")
    );
    assert_eq!(
        audio.get_attribute("src").as_deref(),
        Some("https://chat.example/api/uploads/a1")
    );
    assert_eq!(page.text("[data-seq='2'] [data-baton=author]"), "Mia");

    // Anything else: a link with the name and the size.
    let document: HtmlElement = page.find("[data-seq='3'] a[data-baton=file]");
    assert_eq!(
        document.text_content().as_deref(),
        Some("Invoice 42.pdf1.5 MB")
    );
    assert_eq!(
        document.get_attribute("href").as_deref(),
        Some("https://chat.example/api/uploads/d1")
    );
    // What arrived is read out with the file's name.
    assert_eq!(page.text("[data-baton=announce]"), "Mia: Invoice 42.pdf");
}

#[wasm_bindgen_test]
async fn a_file_shows_while_it_uploads_and_says_why_it_was_not_sent() {
    let page = Page::mount();
    page.chat.set_open(true);
    settle().await;
    let attach: HtmlElement = page.find("[data-baton=attach]");
    assert!(
        attach.matches(":disabled").unwrap(),
        "no conversation yet: nothing to attach to"
    );
    assert_eq!(
        attach.get_attribute("aria-label").as_deref(),
        Some("Attach a file")
    );
    page.welcomed();
    settle().await;
    assert!(!attach.matches(":disabled").unwrap());
    assert_eq!(
        page.find::<HtmlElement>("[data-baton=file-input]")
            .get_attribute("accept")
            .as_deref(),
        Some(baton_widget::files::ACCEPT)
    );

    page.chat.session.update(|s| {
        s.upload_started("u1".into(), "receipt.pdf", "application/pdf", 300);
        s.upload_started("u2".into(), "huge.png", "image/png", 50_000_000);
    });
    settle().await;
    let uploading: HtmlElement = page.find("[data-baton=message][data-pending]");
    assert_eq!(
        uploading.text_content().as_deref(),
        Some("Youreceipt.pdf300 B · Uploading…")
    );

    let frame = page.chat.session.try_update(|s| {
        s.upload_failed("u2", "The file is too large.".into());
        s.uploaded("u1", file("r1", "receipt.pdf", "application/pdf", 300))
    });
    settle().await;
    assert_eq!(
        frame.flatten(),
        Some(VisitorRequest::Attach {
            client_id: "u1".into(),
            upload: "r1".into()
        })
    );
    assert_eq!(
        page.text("[data-failed] [data-baton=failed]"),
        "Not sent: The file is too large."
    );
    let shared: HtmlElement = page.find("[data-pending] a[data-baton=file]");
    assert_eq!(
        shared.get_attribute("href").as_deref(),
        Some("/api/uploads/r1")
    );
}

/// Whether the log shows its end (within a pixel).
fn at_end(log: &HtmlElement) -> bool {
    (log.scroll_top() + log.client_height() - log.scroll_height()).abs() <= 1
}

#[wasm_bindgen_test]
async fn the_newest_line_stays_in_view() {
    let page = Page::live().await;
    let answer = |seq: u64| EventBody::Assistant {
        name: "Nora".into(),
        text: ["Answer number ", &seq.to_string()].concat(),
        articles: vec![],
        confidence: None,
        choices: vec![],
    };
    for seq in 1..=30 {
        page.event(seq, answer(seq));
    }
    settle().await;
    let log: HtmlElement = page.find("[data-baton=transcript]");
    assert!(
        log.scroll_height() > log.client_height() + 100,
        "the log overflows"
    );
    assert!(at_end(&log), "the newest line is in view");

    // The visitor scrolls back to read; what arrives next brings them
    // back to the end: a line, then a draft streaming in.
    log.set_scroll_top(0);
    page.event(31, answer(31));
    settle().await;
    assert!(at_end(&log), "a new line is in view");
    log.set_scroll_top(0);
    page.server(VisitorUpdate::Draft {
        name: "Nora".into(),
        text: "Checking your order".into(),
    });
    settle().await;
    assert!(page.exists("[data-baton=draft]"));
    assert!(at_end(&log), "the draft is in view");
}

#[wasm_bindgen_test]
async fn a_clarifying_question_is_answered_with_one_click() {
    let page = Page::live().await;
    let ask = |seq| {
        page.event(
            seq,
            EventBody::Assistant {
                name: "Nora".into(),
                text: "I'm not sure which of these you mean.".into(),
                articles: vec![],
                confidence: Some(0.5),
                choices: vec![
                    "How long does shipping take?".into(),
                    "How much does shipping cost?".into(),
                ],
            },
        )
    };
    ask(1);
    settle().await;
    assert_eq!(page.count(OPEN_CHOICES), 2);
    assert!(page.exists(NONE_OF_THESE));
    assert!(
        page.text("[data-baton=message][data-seq='1']")
            .contains("Did you mean one of these?"),
        "asked in the widget's words"
    );

    // A choice goes as the visitor's message, word for word, and the
    // choices are gone at once.
    page.root
        .query_selector_all(OPEN_CHOICES)
        .unwrap()
        .item(1)
        .unwrap()
        .unchecked_into::<HtmlButtonElement>()
        .click();
    settle().await;
    let VisitorRequest::Say { text, client_id } = page.last_action() else {
        panic!("no say")
    };
    assert_eq!(text, "How much does shipping cost?");
    assert_eq!(page.count(OPEN_CHOICES), 0, "answered");
    assert!(
        !shown(&page.find("[data-baton=choice]")),
        "kept in the line, hidden"
    );

    // Asked again: "none of these" asks for a person.
    page.event(2, EventBody::Visitor { client_id, text });
    ask(3);
    settle().await;
    page.find::<HtmlButtonElement>(NONE_OF_THESE).click();
    settle().await;
    assert!(
        matches!(page.last_action(), VisitorRequest::RequestHuman { .. }),
        "{:?}",
        page.last_action()
    );
    page.event(
        4,
        EventBody::HandoffStarted {
            notice: "A person will join you soon.".into(),
        },
    );
    settle().await;
    assert!(!page.exists(NONE_OF_THESE), "answered by the handoff");
}

/// The quick replies of a question that is the last line (the only ones shown).
const OPEN_CHOICES: &str = "[data-baton=message]:last-child [data-baton=choice]";
const NONE_OF_THESE: &str = "[data-baton=message]:last-child [data-baton=choice-none]";

fn shown(element: &HtmlElement) -> bool {
    element.offset_height() > 0
}
