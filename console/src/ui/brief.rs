//! The brief: why a conversation came to a person and what they need to
//! pick it up without asking the visitor to repeat themselves — and the
//! agent's verdict on the handoff, which `baton export` turns into the
//! expectation of an eval case, and (when the assistant could have
//! answered) the lesson that teaches it.

use baton_shared::domain::{Brief, ConversationDetail, Identity, Metadata, Verdict};
use leptos::prelude::*;

use super::identity::Who;
use super::teach::Teach;
use crate::connection::Console;
use crate::format;

#[component]
pub fn BriefCard(detail: Memo<Option<ConversationDetail>>) -> impl IntoView {
    let brief = Memo::new(move |_| detail.with(|d| d.as_ref().and_then(|d| d.brief.clone())));
    let page = Memo::new(move |_| detail.with(|d| d.as_ref().and_then(|d| d.page.clone())));
    // As the host site last said (a later `identify` counts), else as the
    // brief recorded it.
    let identity = Memo::new(move |_| {
        detail.with(|d| {
            let d = d.as_ref()?;
            d.identity
                .clone()
                .or_else(|| d.brief.as_ref()?.identity.clone())
        })
    });
    // As the host page last said (`Baton('set', {metadata})`).
    let metadata = Memo::new(move |_| {
        detail.with(|d| d.as_ref().map(|d| d.metadata.clone()).unwrap_or_default())
    });
    view! {
        <aside class="brief" data-console="brief" aria-label="Brief">
            <h3>"Brief"</h3>
            {move || match brief.get() {
                Some(brief) => view! {
                    <Facts brief identity metadata/>
                    <VerdictButtons detail/>
                    <Show when=move || detail.with(|d| d.as_ref().is_some_and(|d| {
                        d.verdict == Some(Verdict::AssistantCouldHaveAnswered) || !d.lessons.is_empty()
                    }))>
                        <Teach detail/>
                    </Show>
                }.into_any(),
                None => view! {
                    <p class="muted">"No handoff yet: the assistant has handled this conversation."</p>
                    <dl>
                        <dt>"Visitor"</dt>
                        <dd data-console="identity">{move || visitor(identity.get())}</dd>
                        {move || context(metadata.get())}
                        <dt>"Page"</dt>
                        <dd data-console="page">{move || page.get().map(|p| view! { <Page url=p/> })}</dd>
                    </dl>
                }.into_any(),
            }}
        </aside>
    }
}

/// Was a person needed? Two buttons showing the current choice; any agent
/// may set it, the latest counts.
#[component]
fn VerdictButtons(detail: Memo<Option<ConversationDetail>>) -> impl IntoView {
    let console = use_context::<Console>();
    let verdict = Memo::new(move |_| detail.with(|d| d.as_ref().and_then(|d| d.verdict)));
    let choice = move |choice: Verdict, hook: &'static str, text: &'static str| {
        let chosen = move || verdict.get() == Some(choice);
        view! {
            <button type="button" data-console=hook
                class:chosen=chosen
                aria-pressed=move || chosen().to_string()
                disabled=console.is_none()
                on:click=move |_| {
                    if let Some(console) = console {
                        console.verdict(choice);
                    }
                }>
                {text}
            </button>
        }
    };
    view! {
        <div class="verdict" role="group" aria-labelledby="verdict-title">
            <h4 id="verdict-title">"Was this handoff right?"</h4>
            {choice(Verdict::HandoffRight, "verdict-right", "Handoff was right")}
            {choice(Verdict::AssistantCouldHaveAnswered, "verdict-assistant", "The assistant could have answered this")}
            <p class="muted">"Your answer becomes the expectation when the team exports this conversation as a test case."</p>
        </div>
    }
}

/// Who the visitor is, with whether the host site vouched for it.
fn visitor(identity: Option<Identity>) -> impl IntoView {
    match identity {
        Some(identity) => view! { <Who identity/> }.into_any(),
        None => view! { <span class="muted">"Anonymous"</span> }.into_any(),
    }
}

/// What the host page said about the visitor's context, name by name;
/// nothing when it said nothing.
fn context(metadata: Metadata) -> impl IntoView {
    (!metadata.is_empty()).then(|| {
        view! {
            <dt>"Context"</dt>
            <dd data-console="metadata">
                <ul class="context">
                    {metadata
                        .into_iter()
                        .map(|(name, value)| view! {
                            <li><span class="muted">{name}": "</span>{value}</li>
                        })
                        .collect_view()}
                </ul>
            </dd>
        }
    })
}

#[component]
fn Facts(
    brief: Brief,
    identity: Memo<Option<Identity>>,
    metadata: Memo<Metadata>,
) -> impl IntoView {
    let confidence = format::confidence(&brief);
    let tried = brief.tried.clone();
    view! {
        <dl>
            <dt>"Visitor"</dt>
            <dd data-console="identity">{move || visitor(identity.get())}</dd>
            {move || context(metadata.get())}
            <dt>"Mechanism"</dt>
            <dd data-console="mechanism" data-mechanism=brief.mechanism.as_str()>
                {format::mechanism(brief.mechanism, brief.rule.as_deref())}
                <span class="muted">{format!(" · turn {}", brief.turn)}</span>
            </dd>
            <dt>"Reason"</dt>
            <dd data-console="reason">{brief.reason.clone()}</dd>
            <dt>"Intent"</dt>
            <dd data-console="intent">{brief.intent.clone()}</dd>
            {confidence.map(|c| view! {
                <dt>"Confidence"</dt>
                <dd data-console="confidence">{c}</dd>
            })}
            <dt>"Tried"</dt>
            <dd data-console="tried">
                {brief.tried_summary.clone().map(|summary| view! {
                    <p data-console="tried-summary">{summary}</p>
                })}
                {if tried.is_empty() {
                    view! { <span class="muted">"Nothing yet."</span> }.into_any()
                } else {
                    view! {
                        <ol>
                            {tried.into_iter().map(|a| view! {
                                <li>
                                    <q>{a.question}</q>
                                    <p>{a.answer}</p>
                                    <p class="muted">
                                        {format!("confidence {:.2}", a.confidence)}
                                        {(!a.articles.is_empty()).then(|| format!(" · articles: {}", a.articles.join(", ")))}
                                    </p>
                                </li>
                            }).collect_view()}
                        </ol>
                    }.into_any()
                }}
            </dd>
            {brief.withheld_draft.clone().map(|draft| view! {
                <dt>"Withheld draft"</dt>
                <dd data-console="draft" class="draft">{draft}</dd>
            })}
            <dt>"Next step"</dt>
            <dd data-console="next-step">{brief.next_step.clone()}</dd>
            {brief.summarised_by.clone().map(|model| view! {
                <dd class="muted" data-console="summarised-by">
                    {format!("Intent, what was tried and the next step written by {model}.")}
                </dd>
            })}
            <dt>"Page"</dt>
            <dd data-console="page">{brief.page.clone().map(|p| view! { <Page url=p/> })}</dd>
            {brief.out_of_hours.clone().map(|back| view! {
                <dt>"Out of hours"</dt>
                <dd>{format!("People are back {back}")}</dd>
            })}
        </dl>
    }
}

#[component]
fn Page(url: String) -> impl IntoView {
    match format::safe_link(&url) {
        Some(href) => {
            let href = href.to_owned();
            view! { <a href=href target="_blank" rel="noopener noreferrer">{url}</a> }.into_any()
        }
        None => view! { <span>{url}</span> }.into_any(),
    }
}
