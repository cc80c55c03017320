//! The Analytics page (`#/analytics`): where the assistant falls short, from
//! the handoff records of a range of days (`GET /api/analytics/handoffs`) —
//! handoffs per day by mechanism, the rules that fire most, how confident
//! the assistant was when it stepped back, how fast a person replied, what
//! became of the handoffs, and the rules whose handoffs went back to the
//! assistant without a person writing a word (too eager, probably).

use baton_shared::analytics::{AggressiveRule, HandoffAnalytics};
use baton_shared::domain::Mechanism;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;

use super::chart::{Bar, Bars, Histogram, Series, Shares, StackedColumns, percent};
use crate::api;

const MECHANISMS: [Series; 3] = [
    Series {
        key: "user",
        label: "User request",
        color: "#3b82f6",
    },
    Series {
        key: "rule",
        label: "Policy rule",
        color: "#ef4444",
    },
    Series {
        key: "confidence",
        label: "Low confidence",
        color: "#f59e0b",
    },
];

const OUTCOMES: [Series; 5] = [
    Series {
        key: "resolved_by_human",
        label: "Resolved by a person",
        color: "#10b981",
    },
    Series {
        key: "returned_to_assistant",
        label: "Returned to the assistant",
        color: "#6366f1",
    },
    Series {
        key: "abandoned",
        label: "Abandoned",
        color: "#9ca3af",
    },
    Series {
        key: "superseded",
        label: "Superseded",
        color: "#d1d5db",
    },
    Series {
        key: "open",
        label: "Open",
        color: "#38bdf8",
    },
];

#[derive(Clone, Debug, PartialEq)]
enum Load {
    Loading,
    Failed(String),
    Loaded(Box<HandoffAnalytics>),
}

#[component]
pub fn Analytics() -> impl IntoView {
    // Empty until the first answer says which range the server chose.
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let state = RwSignal::new(Load::Loading);
    let fetch = move || {
        let (f, t) = (from.get_untracked(), to.get_untracked());
        state.set(Load::Loading);
        spawn_local(async move {
            let loaded = load(&f, &t).await;
            if let Load::Loaded(a) = &loaded {
                from.set(a.from.clone());
                to.set(a.to.clone());
            }
            state.set(loaded);
        });
    };
    fetch();
    view! {
        <section class="analytics" data-console="analytics" aria-label="Analytics">
            <header class="an-head">
                <h2>"Handoffs"</h2>
                <form class="range" on:submit=move |ev| {
                    ev.prevent_default();
                    fetch();
                }>
                    <label>"From"
                        <input type="date" data-console="analytics-from" prop:value=move || from.get()
                            on:change=move |ev| from.set(event_target_value(&ev))/>
                    </label>
                    <label>"To"
                        <input type="date" data-console="analytics-to" prop:value=move || to.get()
                            on:change=move |ev| to.set(event_target_value(&ev))/>
                    </label>
                    <button type="submit" data-console="analytics-show">"Show"</button>
                </form>
                <span class="muted">"UTC days"</span>
            </header>
            {move || match state.get() {
                Load::Loading => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Load::Failed(message) => view! {
                    <p class="error" role="alert" data-console="analytics-error">{message}</p>
                }.into_any(),
                Load::Loaded(a) => view! { <Report a=*a/> }.into_any(),
            }}
        </section>
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

async fn load(from: &str, to: &str) -> Load {
    let query: Vec<String> = [("from", from), ("to", to)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", js_sys::encode_uri_component(v)))
        .collect();
    let mut path = "/api/analytics/handoffs".to_string();
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    match api::call("GET", &path, None).await {
        Ok((200, body)) => serde_json::from_str(&body).map_or_else(
            |_| Load::Failed("The server's answer makes no sense; reload the page.".into()),
            |a| Load::Loaded(Box::new(a)),
        ),
        Ok((401, _)) => Load::Failed("Your session has ended: sign in again.".into()),
        Ok((_, body)) => Load::Failed(
            serde_json::from_str::<ErrorBody>(&body)
                .map_or_else(|_| "The analytics could not be loaded.".into(), |b| b.error),
        ),
        Err(e) => Load::Failed(e.message()),
    }
}

#[component]
fn Report(a: HandoffAnalytics) -> impl IntoView {
    let total = a.total;
    let median = a.first_reply.median_ms;
    let outcomes = a.outcomes;
    let abandoned = outcomes.abandoned;

    let labels: Vec<String> = a.per_day.iter().map(|d| d.day.clone()).collect();
    let per_day: Vec<Vec<u64>> = a
        .per_day
        .iter()
        .map(|d| {
            [Mechanism::User, Mechanism::Rule, Mechanism::Confidence]
                .map(|m| d.handoffs.get(m))
                .to_vec()
        })
        .collect();
    let per_day_summary = format!(
        "Handoffs per day from {} to {}: {} by user request, {} by policy rule, {} by low confidence",
        a.from, a.to, a.by_mechanism.user, a.by_mechanism.rule, a.by_mechanism.confidence
    );

    let rules: Vec<Bar> = a
        .top_rules
        .iter()
        .map(|r| Bar {
            key: r.rule.clone(),
            label: r.rule.clone(),
            value: r.handoffs,
            note: String::new(),
            color: MECHANISMS[1].color,
        })
        .collect();

    let bins: Vec<(f64, f64, u64)> = a
        .confidence
        .buckets
        .iter()
        .map(|b| (b.from, b.to, b.handoffs))
        .collect();
    let threshold = a
        .confidence
        .threshold
        .map(|t| (t, format!("threshold {t:.2}")));
    let confident = a.confidence.handoffs;
    // The threshold in force, marked in the curve.
    let current = a.confidence.threshold;

    let shares: Vec<(Series, u64)> = OUTCOMES
        .into_iter()
        .zip([
            outcomes.resolved_by_human,
            outcomes.returned_to_assistant,
            outcomes.abandoned,
            outcomes.superseded,
            outcomes.open,
        ])
        .collect();

    let eager: Vec<Bar> = a.too_aggressive.iter().map(eager_bar).collect();

    view! {
        <div class="tiles">
            <div class="tile" data-console="total-handoffs" data-value=total.to_string()>
                <span class="label">"Handoffs"</span>
                <strong>{total.to_string()}</strong>
                <span class="muted">{format!("{} user · {} rule · {} confidence",
                    a.by_mechanism.user, a.by_mechanism.rule, a.by_mechanism.confidence)}</span>
            </div>
            <div class="tile" data-console="median-first-reply"
                data-ms=median.map(|ms| ms.to_string()).unwrap_or_default()>
                <span class="label">"Median time to first human reply"</span>
                <strong>{median.map_or_else(|| "—".to_string(), duration)}</strong>
                <span class="muted">{format!("{} handoffs answered by a person", a.first_reply.replied)}</span>
            </div>
            <div class="tile" data-console="abandoned" data-value=abandoned.to_string()>
                <span class="label">"Abandoned"</span>
                <strong>{format!("{}%", percent(abandoned, total))}</strong>
                <span class="muted">{format!("{abandoned} visitors left before a person replied")}</span>
            </div>
            <div class="tile" data-console="csat">
                <span class="label">"Satisfaction"</span>
                <strong>{match a.csat.good + a.csat.bad {
                    0 => "—".to_string(),
                    rated => format!("{}% good", percent(a.csat.good, rated)),
                }}</strong>
                <span class="muted">{format!("{} good · {} bad ratings", a.csat.good, a.csat.bad)}</span>
            </div>
            <div class="tile" data-console="verdicts">
                <span class="label">"Verdicts"</span>
                <strong>{format!("{} right", a.verdicts.handoff_right)}</strong>
                <span class="muted">{format!("{} the assistant could have answered · {} not judged",
                    a.verdicts.assistant_could_have_answered, a.verdicts.none)}</span>
            </div>
        </div>
        <div class="charts">
            <figure class="chart wide" data-console="chart-per-day">
                <figcaption>"Handoffs per day, by mechanism"</figcaption>
                <StackedColumns labels series=MECHANISMS.to_vec() values=per_day summary=per_day_summary/>
            </figure>
            <figure class="chart" data-console="chart-rules">
                <figcaption>"Top rules"</figcaption>
                {if rules.is_empty() {
                    view! { <p class="muted">"No policy rule handed off in this range."</p> }.into_any()
                } else {
                    let summary = "Policy rules by number of handoffs".to_string();
                    view! { <Bars bars=rules summary/> }.into_any()
                }}
            </figure>
            <figure class="chart" data-console="chart-confidence">
                <figcaption>"Confidence when the assistant stepped back"</figcaption>
                <Histogram bins marker=threshold color=MECHANISMS[2].color
                    summary=format!("Confidence of {confident} low-confidence handoffs")/>
                <p class="muted">{format!("{confident} low-confidence handoffs; each bar is a range of 0.1.")}</p>
            </figure>
            <figure class="chart" data-console="threshold-curve">
                <figcaption>"Other thresholds, by the team's verdicts"</figcaption>
                {if a.verdicts.handoff_right + a.verdicts.assistant_could_have_answered == 0 {
                    view! { <p class="muted">"No handoff judged yet: the verdicts in the brief fill this in."</p> }.into_any()
                } else {
                    view! {
                        <table class="curve">
                            <thead><tr>
                                <th scope="col">"Threshold"</th>
                                <th scope="col">"Still handed off, though answerable"</th>
                                <th scope="col">"Answered, though a person was needed"</th>
                            </tr></thead>
                            <tbody>
                                {a.threshold_curve.iter().map(|p| view! {
                                    <tr data-threshold=format!("{:.2}", p.threshold)
                                        class:current=current.is_some_and(|t| (t - p.threshold).abs() < 0.001)>
                                        <th scope="row">{format!("{:.2}", p.threshold)}</th>
                                        <td data-console="false-handoffs">{p.false_handoffs.to_string()}</td>
                                        <td data-console="missed-handoffs">{p.missed_handoffs.to_string()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <p class="muted">"Judged low-confidence handoffs only: above the threshold in force, answered turns were never judged, so the right column is a floor. baton eval --sweep shows the same on a case file."</p>
                    }.into_any()
                }}
            </figure>
            <figure class="chart" data-console="chart-outcomes">
                <figcaption>"Outcomes"</figcaption>
                <Shares parts=shares summary=format!("What became of {total} handoffs")/>
            </figure>
            <figure class="chart" data-console="chart-aggressive">
                <figcaption>"Handed back without a human reply"</figcaption>
                {if eager.is_empty() {
                    view! { <p class="muted">"No rule's handoffs went back to the assistant unanswered."</p> }.into_any()
                } else {
                    let summary = "Rules whose handoffs most often went back to the assistant without a reply".to_string();
                    view! {
                        <Bars bars=eager summary/>
                        <p class="muted">"Rules the team keeps handing back unanswered may be too eager."</p>
                    }.into_any()
                }}
            </figure>
        </div>
    }
}

fn eager_bar(r: &AggressiveRule) -> Bar {
    let (key, label, color) = match &r.rule {
        Some(rule) => (rule.clone(), rule.clone(), MECHANISMS[1].color),
        None => (
            "confidence".to_string(),
            "low confidence".to_string(),
            MECHANISMS[2].color,
        ),
    };
    Bar {
        key,
        label,
        value: r.returned_without_reply,
        note: format!("of {}", r.handoffs),
        color,
    }
}

/// A wait, coarse enough to read at a glance: "0.4 s", "42 s",
/// "3 min 5 s", "2 h 10 min".
pub fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..10_000 => format!("{:.1} s", ms as f64 / 1000.0),
        10_000..60_000 => format!("{} s", ms / 1000),
        60_000..3_600_000 => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{} h {} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(79), "0.1 s");
        assert_eq!(duration(4_260), "4.3 s");
        assert_eq!(duration(42_900), "42 s");
        assert_eq!(duration(185_000), "3 min 5 s");
        assert_eq!(duration(7_800_000), "2 h 10 min");
        assert_eq!(duration(-5), "0.0 s");
    }
}
