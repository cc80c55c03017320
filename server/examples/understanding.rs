//! What the embedding model costs: start-up (loading it, embedding the
//! articles with and without the vector cache), memory, and the time it
//! adds to a turn — the numbers in BENCHMARKS.md.
//!
//! ```sh
//! cargo xtask model    # prints BATON_TEST_EMBEDDING_MODEL=…
//! cargo run --release -p baton-server --example understanding -- MODEL_DIR [SET…]
//! ```
//!
//! A set is a folder with `kb.md` and `cases.jsonl` (default: the four in
//! `eval/sets`). Every case's first turn is answered once to warm up, then
//! each is timed `ROUNDS` times: words only, then words and meaning. A turn
//! here is exactly what the knowledge-base assistant computes per visitor
//! message (`KnowledgeBase::answer`); the rest of a turn (store, engine,
//! socket) is the same with or without the model.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::knowledge::KnowledgeBase;
use baton::knowledge::embedding::{Embedder, LocalModel, VectorCache};

const ROUNDS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((model_dir, sets)) = args.split_first() else {
        eprintln!("usage: understanding MODEL_DIR [SET…]");
        std::process::exit(2);
    };
    let sets: Vec<PathBuf> = if sets.is_empty() {
        ["travel", "bikes-de", "telco", "clinic"]
            .iter()
            .map(|s| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../eval/sets")
                    .join(s)
            })
            .collect()
    } else {
        sets.iter().map(PathBuf::from).collect()
    };
    println!(
        "cores: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("memory before the model: {} MB", rss_mb("VmRSS"));
    let started = Instant::now();
    let model = Arc::new(LocalModel::load(Path::new(model_dir)).expect("the model"));
    println!("model load: {:.2} s", started.elapsed().as_secs_f64());
    println!("memory with the model: {} MB", rss_mb("VmRSS"));

    let cache_dir = tempfile::tempdir().expect("a temp dir");
    let cache = VectorCache::new(cache_dir.path());
    let mut words = Vec::new();
    let mut meaning = Vec::new();
    for set in &sets {
        let read = |file: &str| {
            std::fs::read_to_string(set.join(file))
                .unwrap_or_else(|e| panic!("{}: {e}", set.join(file).display()))
        };
        let markdown = read("kb.md");
        let questions: Vec<String> = read("cases.jsonl")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| {
                let case: serde_json::Value = serde_json::from_str(l).ok()?;
                Some(case["turns"][0]["text"].as_str()?.to_string())
            })
            .filter(|t| !t.trim().is_empty())
            .collect();
        let lexical = KnowledgeBase::parse(&markdown).expect("the knowledge base");
        let mut kb = KnowledgeBase::parse(&markdown).expect("the knowledge base");
        let started = Instant::now();
        let computed = kb
            .embed(Embedder::Local(model.clone()), &cache)
            .expect("embedding");
        let cold = started.elapsed();
        let started = Instant::now();
        let again = KnowledgeBase::parse(&markdown)
            .unwrap()
            .embed(Embedder::Local(model.clone()), &cache)
            .expect("embedding");
        let warm = started.elapsed();
        println!(
            "{}: {} articles; embedding {computed} texts {:.2} s, from the cache ({again} computed) {:.3} s",
            set.file_name().unwrap().to_string_lossy(),
            kb.articles(),
            cold.as_secs_f64(),
            warm.as_secs_f64()
        );
        for q in &questions {
            kb.answer(&[], q);
        }
        for _ in 0..ROUNDS {
            for q in &questions {
                words.push(time(|| lexical.answer(&[], q)));
                meaning.push(time(|| kb.answer(&[], q)));
            }
        }
    }
    println!("peak memory: {} MB", rss_mb("VmHWM"));
    println!();
    println!(
        "| per turn ({} turns) | p50 | p90 | p99 | max |",
        words.len()
    );
    println!("|---|---|---|---|---|");
    for (name, times) in [
        ("words only", &mut words),
        ("words and meaning", &mut meaning),
    ] {
        times.sort();
        let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        println!(
            "| {name} | {} | {} | {} | {} |",
            ms(at(0.5)),
            ms(at(0.9)),
            ms(at(0.99)),
            ms(at(1.0))
        );
    }
}

fn time<T>(f: impl FnOnce() -> T) -> Duration {
    let started = Instant::now();
    std::hint::black_box(f());
    started.elapsed()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A line of `/proc/self/status`, in MB.
fn rss_mb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}
