//! The whole handoff journey in real Chromium: a visitor on the demo page
//! chats with the assistant, asks for a person, an agent in the console
//! claims, replies and hands back, and the visitor's transcript stays one
//! unbroken thread — across a page reload too.
//!
//! Run alone: `cargo test -p baton-e2e --test journey` (after
//! `cargo xtask build`; `cargo xtask test` does both).

use baton_e2e::{Browser, Driver, Server, eventually};
use fantoccini::Locator;

const ASSISTANT: &str = "Nova";
const AGENT: &str = "Mia";

#[tokio::test]
async fn a_visitor_is_handed_to_a_person_and_back_without_a_seam() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let visitor = driver.browser(1280, 900).await;
    let agent = driver.browser(1400, 900).await;

    // The site's one script tag draws a launcher; opening it loads the widget.
    visitor.open_widget(&server.url("/")).await;
    assert_responder(&visitor, ASSISTANT).await;

    // The assistant answers a knowledge-base question.
    visitor
        .ask_assistant("How long does shipping take?", "business days")
        .await;

    // One click on "Talk to a human": the visitor is told a person is coming.
    visitor
        .widget("[data-baton=human]")
        .await
        .click()
        .await
        .unwrap();
    visitor.handoff_notice().await;
    visitor.screenshot("journey-1-handoff").await;

    // The agent signs in and finds the conversation in the queue.
    agent.goto(&server.url("/console/")).await;
    agent
        .page("[data-console=email]")
        .await
        .send_keys("demo@baton.local")
        .await
        .unwrap();
    agent
        .page("[data-console=password]")
        .await
        .send_keys("baton-demo")
        .await
        .unwrap();
    agent
        .page("[data-console=login]")
        .await
        .click()
        .await
        .unwrap();
    let entry = agent.page("[data-console=queue-entry]").await;
    let entry_text = entry.text().await.unwrap();
    assert!(
        entry_text.contains("shipping"),
        "the queue shows the visitor's intent: {entry_text}"
    );
    entry.click().await.unwrap();

    // The brief says why, what the visitor wants and what was tried.
    let mechanism = agent.page_text("[data-console=mechanism]").await;
    assert!(mechanism.to_lowercase().contains("user"), "{mechanism}");
    let tried = agent.page_text("[data-console=tried]").await;
    assert!(
        tried.contains("business days"),
        "what the assistant answered: {tried}"
    );
    let transcript = agent.page_text("[data-console=transcript]").await;
    assert!(
        transcript.contains("How long does shipping take?"),
        "{transcript}"
    );
    agent.screenshot("journey-2-brief").await;

    // Claim: the widget's responder becomes the agent.
    agent
        .page("[data-console=claim]")
        .await
        .click()
        .await
        .unwrap();
    assert_responder(&visitor, AGENT).await;

    // The agent replies; the visitor sees it under the agent's name.
    let reply = "Hi, I'm Mia. Your parcel left our warehouse this morning.";
    let input = agent.page("[data-console=reply-input]").await;
    eventually("the reply box to be enabled", || async {
        input.is_enabled().await.ok().filter(|e| *e)
    })
    .await;
    input.send_keys(reply).await.unwrap();
    agent
        .page("[data-console=reply-send]")
        .await
        .click()
        .await
        .unwrap();
    visitor
        .widget_text_until(
            "[data-baton=message][data-author=agent]",
            "the agent's reply",
            |t| t.contains(reply),
        )
        .await;
    visitor.screenshot("journey-3-agent").await;

    // One click hands back to the assistant, which answers the next question.
    agent
        .page("[data-console=resume]")
        .await
        .click()
        .await
        .unwrap();
    assert_responder(&visitor, ASSISTANT).await;
    visitor
        .type_message("Which payment methods do you accept?")
        .await;
    visitor
        .widget_text_until(
            "[data-baton=message][data-author=assistant]",
            "the assistant's next answer",
            |t| t.contains("PayPal"),
        )
        .await;
    visitor.screenshot("journey-4-back").await;

    // Every message in order, one thread, nothing like "session ended".
    let expected = expected_transcript(reply);
    let seen = wait_for_transcript(&visitor, &expected).await;
    let whole = visitor
        .widget("[data-baton=panel]")
        .await
        .text()
        .await
        .unwrap()
        .to_lowercase();
    assert!(
        !whole.contains("session ended") && !whole.contains("new conversation"),
        "{whole}"
    );

    // A reload restores the same conversation and transcript.
    visitor.client.refresh().await.unwrap();
    if visitor
        .find_in_widget("[data-baton=panel]")
        .await
        .is_empty()
    {
        visitor
            .widget("[data-baton=launcher]")
            .await
            .click()
            .await
            .unwrap();
    }
    let restored = wait_for_transcript(&visitor, &expected).await;
    assert_eq!(restored, seen);

    visitor.close().await;
    agent.close().await;
}

async fn assert_responder(visitor: &Browser, name: &str) {
    visitor
        .widget_text_until(
            "[data-baton=responder]",
            &format!("the responder to be {name}"),
            |t| t.trim() == name,
        )
        .await;
}

/// (author kind, text fragment) for every visible message, in order.
fn expected_transcript(reply: &str) -> Vec<(&'static str, String)> {
    vec![
        ("visitor", "How long does shipping take?".into()),
        ("assistant", "business days".into()),
        ("notice", String::new()),
        ("notice", AGENT.into()),
        ("agent", reply.into()),
        ("notice", ASSISTANT.into()),
        ("visitor", "Which payment methods do you accept?".into()),
        ("assistant", "PayPal".into()),
    ]
}

/// Waits until the widget shows exactly the expected entries in order
/// (pending messages settled), and returns them.
async fn wait_for_transcript(
    visitor: &Browser,
    expected: &[(&str, String)],
) -> Vec<(String, String, String)> {
    eventually("the full transcript in order", || async {
        let seen = visitor.widget_transcript().await;
        let matches = seen.len() == expected.len()
            && seen
                .iter()
                .zip(expected)
                .all(|((kind, _, text), (want_kind, fragment))| {
                    kind == want_kind && text.contains(fragment.as_str())
                });
        let named = seen.iter().all(|(kind, name, _)| match kind.as_str() {
            "assistant" => name == ASSISTANT,
            "agent" => name == AGENT,
            _ => true,
        });
        (matches && named).then_some(seen)
    })
    .await
}

/// Unsure which article the visitor means, the assistant asks with the
/// titles as quick replies: one click on the right one answers, and
/// "None of these" brings a person, whose brief shows what was offered.
#[tokio::test]
async fn a_clarifying_question_is_answered_by_a_click_or_handed_to_a_person() {
    let server = Server::start().await;
    let driver = Driver::start().await;
    let visitor = driver.browser(420, 760).await;
    let agent = driver.browser(1400, 900).await;

    visitor.open_widget(&server.url("/")).await;
    // The demo knowledge base has three shipping articles; this fits each
    // a little.
    visitor.type_message("how much for shipping my bike").await;
    let choice = choice_named(&visitor, "How much does shipping cost?").await;
    visitor.screenshot("journey-clarify-1-choices").await;
    choice.click().await.unwrap();
    visitor
        .widget_text_until(
            "[data-baton=message][data-author=assistant]",
            "the picked article's answer",
            |t| t.contains("4.90 EUR"),
        )
        .await;
    assert!(
        visitor.find_in_widget(OPEN_CHOICE).await.is_empty(),
        "the question is answered"
    );
    let transcript = visitor.widget_transcript().await;
    assert!(
        transcript
            .iter()
            .any(|(author, _, text)| author == "visitor" && text == "How much does shipping cost?"),
        "the pick is the visitor's message: {transcript:?}"
    );

    // Asked again about something no article answers: none of these.
    visitor.type_message("shipping to mars").await;
    choice_named(&visitor, "How long does shipping take?").await;
    visitor.widget(NONE_OF_THESE).await.click().await.unwrap();
    visitor.handoff_notice().await;
    visitor.screenshot("journey-clarify-2-none").await;

    agent
        .sign_in(&server, "demo@baton.local", "baton-demo")
        .await;
    agent.open_first_in_queue().await;
    let reason = agent.page_text("[data-console=reason]").await;
    assert!(reason.contains("none of those offered fit"), "{reason}");
    let tried = agent.page_text("[data-console=tried]").await;
    assert!(
        tried.contains("shipping to mars") && tried.contains("How long does shipping take?"),
        "the brief shows the choices offered: {tried}"
    );
    let intent = agent.page_text("[data-console=intent]").await;
    assert_eq!(intent, "shipping to mars");
}

/// The quick replies shown: those of a question that is the last line.
const OPEN_CHOICE: &str = "[data-baton=message]:last-child [data-baton=choice]";
const NONE_OF_THESE: &str = "[data-baton=message]:last-child [data-baton=choice-none]";

/// The quick reply with this title, once the widget shows it.
async fn choice_named(browser: &Browser, title: &str) -> fantoccini::elements::Element {
    eventually(&format!("the choice {title:?}"), || async {
        for choice in browser.find_in_widget(OPEN_CHOICE).await {
            if choice.text().await.ok().as_deref() == Some(title) {
                return Some(choice);
            }
        }
        None
    })
    .await
}

/// The feedback loop in the console: a handoff the assistant could have
/// answered is judged so, the agent picks the article that answers it and
/// teaches the visitor's wording; the next visitor who asks it that way is
/// answered by the assistant.
#[tokio::test]
async fn a_handoff_the_assistant_could_have_answered_is_taught_in_the_console() {
    let wording = "Will my sneakers be with me before the weekend?";
    let server = Server::start().await;
    let driver = Driver::start().await;
    let visitor = driver.browser(420, 760).await;
    let agent = driver.browser(1400, 900).await;

    visitor.open_widget(&server.url("/")).await;
    visitor.type_message(wording).await;
    visitor.handoff_notice().await;

    agent
        .sign_in(&server, "demo@baton.local", "baton-demo")
        .await;
    agent.open_first_in_queue().await;
    agent
        .page("[data-console=verdict-assistant]")
        .await
        .click()
        .await
        .unwrap();
    // The form starts from the visitor's own words.
    let phrasing = agent.page("[data-console=teach-phrasing]").await;
    assert_eq!(
        phrasing.prop("value").await.unwrap().as_deref(),
        Some(wording)
    );
    let articles = eventually("the articles to pick from", || async {
        let select = agent.page("[data-console=teach-article]").await;
        let options = select.find_all(Locator::Css("option")).await.ok()?;
        (options.len() > 2).then_some(select)
    })
    .await;
    articles
        .select_by_label("How long does shipping take?")
        .await
        .unwrap();
    agent
        .page("[data-console=teach-send]")
        .await
        .click()
        .await
        .unwrap();
    let lesson = eventually("the lesson listed", || async {
        let text = agent.page_text("[data-console=lesson]").await;
        text.contains("How long does shipping take?")
            .then_some(text)
    })
    .await;
    assert!(
        lesson.contains(wording) && lesson.contains("Mia"),
        "{lesson}"
    );
    agent.screenshot("journey-teach-console").await;

    // The next visitor who asks it that way gets the answer.
    let next = driver.browser(420, 760).await;
    next.open_widget(&server.url("/")).await;
    next.ask_assistant(wording, "business days").await;
    assert!(
        next.find_in_widget("[data-baton=message][data-author=notice]")
            .await
            .is_empty(),
        "no handoff this time"
    );
}
