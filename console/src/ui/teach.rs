//! Teaching the assistant from a handoff it could have answered: the
//! visitor's wording (editable) and the article that answers it — the one
//! the withheld draft came from, preselected — or a new article the agent
//! writes. The lessons already taught from this conversation are listed
//! under it.

use baton_shared::domain::{ArticleRef, ConversationDetail, Lesson};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::connection::Console;

/// The `<select>` value for "a new article".
const NEW_ARTICLE: &str = "\u{0}new";

/// Which article the agent means, as the form stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Nothing chosen yet.
    None,
    Article(String),
    /// A new article: its title and answer.
    New {
        title: String,
        answer: String,
    },
}

/// What to send for the form's state: `(article, phrasing, answer)`, or
/// why the button is not ready.
pub fn lesson(
    phrasing: &str,
    target: &Target,
) -> Result<(String, String, Option<String>), &'static str> {
    let phrasing = phrasing.trim();
    if phrasing.is_empty() {
        return Err("Write the visitor's wording.");
    }
    match target {
        Target::None => Err("Pick the article that answers it."),
        Target::Article(title) => Ok((title.clone(), phrasing.into(), None)),
        Target::New { title, answer } if title.trim().is_empty() || answer.trim().is_empty() => {
            Err("Give the new article a title and an answer.")
        }
        Target::New { title, answer } => Ok((
            title.trim().into(),
            phrasing.into(),
            Some(answer.trim().into()),
        )),
    }
}

/// The article to preselect: the withheld draft's, else the first the
/// assistant offered or answered with, if the knowledge base has it.
pub fn suggested(detail: &ConversationDetail, articles: &[ArticleRef]) -> Option<String> {
    let brief = detail.brief.as_ref()?;
    brief
        .withheld_article
        .iter()
        .chain(brief.tried.iter().rev().flat_map(|a| a.articles.iter()))
        .find(|t| articles.iter().any(|a| &a.title == *t))
        .cloned()
}

#[component]
pub fn Teach(detail: Memo<Option<ConversationDetail>>) -> impl IntoView {
    let console = use_context::<Console>();
    let articles = RwSignal::new(None::<Result<Vec<ArticleRef>, String>>);
    spawn_local(async move {
        let loaded = api::articles().await.map_err(|e| e.message());
        articles.set(Some(loaded));
    });
    let intent = move || {
        detail.with(|d| {
            d.as_ref()
                .and_then(|d| d.brief.as_ref())
                .map(|b| b.intent.clone())
                .unwrap_or_default()
        })
    };
    let phrasing = RwSignal::new(intent());
    // `None`: not touched yet, so the suggestion stands.
    let picked = RwSignal::new(None::<String>);
    let title = RwSignal::new(String::new());
    let answer = RwSignal::new(String::new());
    let choice = move || {
        picked.get().or_else(|| {
            let list = articles.with(|a| a.as_ref().and_then(|a| a.as_ref().ok()).cloned())?;
            detail.with(|d| d.as_ref().and_then(|d| suggested(d, &list)))
        })
    };
    let target = move || match choice() {
        None => Target::None,
        Some(c) if c == NEW_ARTICLE => Target::New {
            title: title.get(),
            answer: answer.get(),
        },
        Some(c) => Target::Article(c),
    };
    let ready = move || lesson(&phrasing.get(), &target());
    let lessons = Memo::new(move |_| {
        detail.with(|d| d.as_ref().map(|d| d.lessons.clone()).unwrap_or_default())
    });
    view! {
        <section class="teach" data-console="teach" aria-labelledby="teach-title">
            <h4 id="teach-title">"Teach the assistant"</h4>
            <p class="muted">"The wording becomes another way of asking the article you pick: the assistant answers it from the next message on."</p>
            <label>"Wording"
                <textarea data-console="teach-phrasing" rows="2" maxlength="300"
                    prop:value=move || phrasing.get()
                    on:input=move |ev| phrasing.set(event_target_value(&ev))></textarea>
            </label>
            <label>"Answered by"
                {move || match articles.get() {
                    None => view! { <span class="muted">" Loading the articles…"</span> }.into_any(),
                    Some(Err(message)) => view! {
                        <span class="error" role="alert">{message}</span>
                    }.into_any(),
                    Some(Ok(list)) => view! {
                        <select data-console="teach-article"
                            prop:value=move || choice().unwrap_or_default()
                            on:change=move |ev| picked.set(Some(event_target_value(&ev)))>
                            <option value="" disabled=true>"Pick the article…"</option>
                            {list.into_iter().map(|a| {
                                let title = a.title.clone();
                                view! { <option value=title title=a.summary>{a.title}</option> }
                            }).collect_view()}
                            <option value=NEW_ARTICLE>"A new article…"</option>
                        </select>
                    }.into_any(),
                }}
            </label>
            <Show when=move || matches!(target(), Target::New { .. })>
                <label>"Title"
                    <input type="text" data-console="teach-title" maxlength="300"
                        placeholder="The question, as a heading"
                        prop:value=move || title.get()
                        on:input=move |ev| title.set(event_target_value(&ev))/>
                </label>
                <label>"Answer"
                    <textarea data-console="teach-answer" rows="4"
                        prop:value=move || answer.get()
                        on:input=move |ev| answer.set(event_target_value(&ev))></textarea>
                </label>
            </Show>
            <button type="button" data-console="teach-send"
                disabled=move || console.is_none() || ready().is_err()
                title=move || ready().err().unwrap_or_default()
                on:click=move |_| {
                    if let (Some(console), Ok((article, phrasing, answer))) = (console, ready()) {
                        console.teach(article, phrasing, answer);
                    }
                }>
                "Teach"
            </button>
            <Show when=move || lessons.with(|l| !l.is_empty())>
                <ul class="lessons" data-console="lessons">
                    {move || lessons.get().into_iter().map(|l| view! { <LessonLine l/> }).collect_view()}
                </ul>
            </Show>
        </section>
    }
}

#[component]
fn LessonLine(l: Lesson) -> impl IntoView {
    let new = l.answer.is_some();
    view! {
        <li data-console="lesson">
            <q>{l.phrasing}</q>
            " → "
            <strong>{l.article}</strong>
            <span class="muted">{format!(" · {}taught by {}", if new { "new article, " } else { "" }, l.by.name)}</span>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(title: &str) -> ArticleRef {
        ArticleRef {
            title: title.into(),
            summary: String::new(),
            phrasings: Vec::new(),
            taught: false,
        }
    }

    fn detail(withheld: Option<&str>, tried: &[&[&str]]) -> ConversationDetail {
        serde_json::from_value(serde_json::json!({
            "id": 1, "state": "queued", "agent": null,
            "responder": {"kind": "assistant", "name": "Nova"},
            "page": null, "started_at": 0, "identity": null, "visitor_read": 0,
            "brief": {
                "mechanism": "confidence", "rule": null, "reason": "low", "confidence": 0.4,
                "threshold": 0.8, "turn": 2, "intent": "q", "withheld_draft": "d",
                "withheld_article": withheld, "next_step": "s", "identity": null,
                "page": null, "out_of_hours": null, "at": 0,
                "tried": tried.iter().map(|articles| serde_json::json!({
                    "question": "q", "answer": "a", "articles": articles, "confidence": 0.5
                })).collect::<Vec<_>>(),
            }
        }))
        .unwrap()
    }

    #[test]
    fn the_article_suggested_is_the_drafts_else_the_latest_offered_that_exists() {
        let kb = [article("Returns"), article("Shipping"), article("Sizes")];
        assert_eq!(
            suggested(&detail(Some("Shipping"), &[&["Sizes"]]), &kb).as_deref(),
            Some("Shipping")
        );
        assert_eq!(
            suggested(&detail(None, &[&["Returns"], &["Sizes", "Shipping"]]), &kb).as_deref(),
            Some("Sizes")
        );
        // A title the knowledge base no longer has is not offered.
        assert_eq!(
            suggested(&detail(Some("Gone"), &[&["Returns"]]), &kb).as_deref(),
            Some("Returns")
        );
        assert_eq!(suggested(&detail(None, &[]), &kb), None);
    }

    #[test]
    fn a_lesson_needs_a_wording_and_an_article() {
        let article = Target::Article("Returns".into());
        assert_eq!(
            lesson("  do you take paypal ", &article),
            Ok(("Returns".into(), "do you take paypal".into(), None))
        );
        assert!(lesson("  ", &article).is_err());
        assert!(lesson("do you take paypal", &Target::None).is_err());
        let new = |title: &str, answer: &str| Target::New {
            title: title.into(),
            answer: answer.into(),
        };
        assert!(lesson("gift cards?", &new("", "Yes.")).is_err());
        assert!(lesson("gift cards?", &new("Gift cards", " ")).is_err());
        assert_eq!(
            lesson("gift cards?", &new(" Gift cards ", " Yes, from 10 EUR. ")),
            Ok((
                "Gift cards".into(),
                "gift cards?".into(),
                Some("Yes, from 10 EUR.".into())
            ))
        );
    }
}
