//! Fits the confidence of `knowledge::confidence` on the tuning sets.
//!
//! ```sh
//! cargo xtask model    # prints BATON_TEST_EMBEDDING_MODEL=…
//! cargo run --release -p baton-server --example calibrate -- MODEL_DIR eval/sets/travel eval/sets/bikes-de
//! ```
//!
//! Every answerable turn labelled with its article (`"article"` in the
//! case's turn) is a sample that is right when the best article is that
//! one; every turn a case expects to hand off on confidence is a sample
//! that is never right. A logistic regression over the best article's
//! signals (`Features`) is fitted on all the sets given, after each set
//! has been scored by a model fitted on the others (so the printed rates
//! are on data the weights did not see), and its constants printed for
//! `confidence.rs`.

use std::path::Path;
use std::sync::Arc;

use baton::handoff::{Candidate, Exchange, Turn};
use baton::knowledge::KnowledgeBase;
use baton::knowledge::confidence::Features;
use baton::knowledge::embedding::{Embedder, LocalModel, VectorCache};

const N: usize = Features::LEN;

/// One turn: its signals, whether the answer is right, whether it was
/// answerable at all.
struct Sample {
    set: usize,
    x: [f32; N],
    right: bool,
    answerable: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((model, sets)) = args.split_first().filter(|(_, s)| !s.is_empty()) else {
        eprintln!(
            "usage: calibrate MODEL_DIR SET… (a folder with kb.md and cases.jsonl, or KB.md:CASES.jsonl)"
        );
        std::process::exit(2);
    };
    let model = Arc::new(LocalModel::load(Path::new(model)).expect("the model"));
    let mut samples = Vec::new();
    for (set, dir) in sets.iter().enumerate() {
        // A folder with kb.md and cases.jsonl, or KB.md:CASES.jsonl.
        let (kb_path, cases_path) = match dir.split_once(':') {
            Some((kb, cases)) => (kb.into(), cases.into()),
            None => (
                Path::new(dir).join("kb.md"),
                Path::new(dir).join("cases.jsonl"),
            ),
        };
        let read = |path: &Path| {
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        let mut kb = KnowledgeBase::parse(&read(&kb_path)).expect("the knowledge base");
        kb.embed(Embedder::Local(model.clone()), &VectorCache::none())
            .expect("embedding the articles");
        for line in read(&cases_path).lines().filter(|l| !l.trim().is_empty()) {
            samples.extend(case_samples(&kb, set, line));
        }
    }
    eprintln!("{} samples", samples.len());
    for (set, dir) in sets.iter().enumerate() {
        let train: Vec<&Sample> = samples.iter().filter(|s| s.set != set).collect();
        let test: Vec<&Sample> = samples.iter().filter(|s| s.set == set).collect();
        if train.is_empty() {
            continue;
        }
        let (w, b) = fit(&train);
        println!("{dir}, scored by a fit on the other sets:");
        report(&test, &w, b);
    }
    let all: Vec<&Sample> = samples.iter().collect();
    let (w, b) = fit(&all);
    println!("all sets together:");
    report(&all, &w, b);
    println!(
        "pub const WEIGHTS: [f32; Features::LEN] = [{}];\npub const INTERCEPT: f32 = {b:.3};",
        w.iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// The samples of one case (a JSON line), its turns run as `baton eval`
/// runs them: each earlier turn in the history, answered.
fn case_samples(kb: &KnowledgeBase, set: usize, line: &str) -> Vec<Sample> {
    let case: serde_json::Value = serde_json::from_str(line).expect("a case");
    let expect = &case["expect"];
    let handoff_turn = expect["turn"].as_u64().map(|t| t as usize);
    let on_confidence = expect["mechanism"].as_str() == Some("confidence");
    let mut history = Vec::new();
    let mut out = Vec::new();
    for (i, turn) in case["turns"].as_array().into_iter().flatten().enumerate() {
        let n = i + 1;
        if handoff_turn.is_some_and(|t| n > t) {
            break;
        }
        let Some(text) = turn["text"].as_str() else {
            continue;
        };
        let gold = turn["article"].as_str();
        let unanswerable = on_confidence && handoff_turn == Some(n);
        let (candidate, features) = kb.assess(&history, text);
        if let (Some(features), true) = (features, gold.is_some() || unanswerable) {
            out.push(Sample {
                set,
                x: features.to_array(),
                right: gold.is_some() && candidate.articles.first().map(String::as_str) == gold,
                answerable: gold.is_some(),
            });
        }
        history.push(Exchange {
            turn: Turn {
                text: text.to_string(),
                ..Turn::default()
            },
            answer: Some(Candidate {
                confidence: 1.0,
                ..candidate
            }),
        });
    }
    out
}

/// Logistic regression on standardised features, L2-regularised, by
/// gradient descent; the weights returned apply to the raw features.
fn fit(samples: &[&Sample]) -> ([f32; N], f32) {
    let n = samples.len() as f64;
    let mut mean = [0f64; N];
    let mut sd = [0f64; N];
    for s in samples {
        for j in 0..N {
            mean[j] += s.x[j] as f64 / n;
        }
    }
    for s in samples {
        for j in 0..N {
            sd[j] += (s.x[j] as f64 - mean[j]).powi(2) / n;
        }
    }
    sd.iter_mut().for_each(|v| *v = v.sqrt().max(1e-9));
    let (mut w, mut b) = ([0f64; N], 0f64);
    for _ in 0..5000 {
        let (mut gw, mut gb) = ([0f64; N], 0f64);
        for s in samples {
            let z: f64 = (0..N)
                .map(|j| w[j] * (s.x[j] as f64 - mean[j]) / sd[j])
                .sum::<f64>()
                + b;
            let err = 1.0 / (1.0 + (-z).exp()) - f64::from(u8::from(s.right));
            for j in 0..N {
                gw[j] += err * (s.x[j] as f64 - mean[j]) / sd[j] / n;
            }
            gb += err / n;
        }
        for j in 0..N {
            w[j] -= 0.3 * (gw[j] + 1e-2 * w[j]);
        }
        b -= 0.3 * gb;
    }
    let raw: [f32; N] = std::array::from_fn(|j| (w[j] / sd[j]) as f32);
    let intercept = b - (0..N).map(|j| w[j] * mean[j] / sd[j]).sum::<f64>();
    (raw, intercept as f32)
}

/// What thresholds do with these samples.
fn report(samples: &[&Sample], w: &[f32; N], b: f32) {
    let p = |s: &Sample| {
        let z: f32 = w.iter().zip(s.x).map(|(w, x)| w * x).sum::<f32>() + b;
        1.0 / (1.0 + (-z).exp())
    };
    let answerable: Vec<&&Sample> = samples.iter().filter(|s| s.answerable).collect();
    let unanswerable: Vec<&&Sample> = samples.iter().filter(|s| !s.answerable).collect();
    let right = answerable.iter().filter(|s| s.right).count();
    println!(
        "  {} answerable (best article right for {:.0}%), {} not answerable",
        answerable.len(),
        100.0 * right as f32 / answerable.len().max(1) as f32,
        unanswerable.len()
    );
    for threshold in [0.3, 0.5, 0.6, 0.7, 0.8, 0.9] {
        let share = |of: &[&&Sample], keep: &dyn Fn(&Sample) -> bool| {
            100.0 * of.iter().filter(|s| keep(s)).count() as f32 / of.len().max(1) as f32
        };
        println!(
            "  threshold {threshold:.1}: answerable handed off {:3.0}%, wrong article shown {:3.0}%, unanswerable handed off {:3.0}%",
            share(&answerable, &|s| p(s) < threshold),
            share(&answerable, &|s| p(s) >= threshold && !s.right),
            share(&unanswerable, &|s| p(s) < threshold),
        );
    }
}
