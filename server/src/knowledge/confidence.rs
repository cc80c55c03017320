//! How sure the assistant is that the article it found answers the turn,
//! when an embedding model is there (without one, the lexical confidence
//! of the module docs stands alone).
//!
//! Closeness by meaning alone does not say "this article answers this
//! question": a question the knowledge base does not answer, asked next
//! to the article on the same topic ("does express delivery work to a PO
//! box?"), is as close to it as a paraphrase of the article's own
//! question. So several signals of the best article are combined, each
//! carrying something the others miss:
//!
//! - `closeness`: its closeness by meaning (question, passage and
//!   sentence, averaged; see [`super::semantic::Closeness`]);
//! - `margin`: how far it leads the runner-up in the fused ranking — two
//!   articles neck and neck mean the turn is not clearly about either;
//! - `lexical`, `coverage`: the lexical confidence and the share of the
//!   turn's words the article contains (strong when the turn is in the
//!   knowledge base's language, silent when it is not);
//! - `standout`: how far its closeness stands above the other articles'
//!   (in standard deviations) — a greeting is about equally close to all;
//! - `agreement`: how many of the four rankings (question, passage,
//!   sentence closeness, lexical) put it first;
//! - `leans`: the turn is a follow-up read in context;
//! - `uncovered`: how much of the turn is in the knowledge base's own
//!   words (the share of its words the knowledge base uses at all) yet
//!   not covered by the article — `known × (1 − coverage)`. A turn in
//!   another language is not "uncovered" for want of shared words, but a
//!   turn in the knowledge base's language that the article does not
//!   cover ("can I give them *admin rights*?") is not answered by it.
//!
//! They are weighed by a logistic regression fitted on the tuning sets
//! (`eval/sets/README.md`: `travel` and `bikes-de`, with each answerable
//! turn labelled with the article that answers it): the confidence is the
//! fitted probability that the answer shown is right. Refit with
//! `cargo run --release -p baton-server --example calibrate` (it prints
//! the constants below); the held-out sets never take part.

/// The best article's signals for a turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Features {
    pub closeness: f32,
    pub margin: f32,
    pub lexical: f32,
    pub coverage: f32,
    pub standout: f32,
    pub agreement: f32,
    pub leans: f32,
    pub uncovered: f32,
}

impl Features {
    /// How many signals there are.
    pub const LEN: usize = 8;

    pub fn to_array(self) -> [f32; Self::LEN] {
        [
            self.closeness,
            self.margin,
            self.lexical,
            self.coverage,
            self.standout,
            self.agreement,
            self.leans,
            self.uncovered,
        ]
    }
}

/// How much the lexical confidence counts beside closeness (a sum of
/// three cosines) when ranking articles: enough to break near ties
/// toward the article that shares the visitor's words.
pub const LEXICAL_IN_RANKING: f32 = 0.3;

/// How far behind the best article (in the fused ranking: summed
/// closeness plus [`LEXICAL_IN_RANKING`] of the lexical confidence)
/// another may be and still be offered in a clarifying question.
pub const CLOSE_BEHIND: f32 = 0.2;

/// The fitted weights, in [`Features::to_array`] order, and the intercept
/// (`examples/calibrate.rs`).
pub const WEIGHTS: [f32; Features::LEN] =
    [27.179, -1.127, -1.307, 1.876, 0.794, 0.392, -1.115, -3.539];
pub const INTERCEPT: f32 = -25.376;

/// The probability that the answer is right, in [0, 1].
pub fn calibrated(features: &Features) -> f32 {
    let z: f32 = WEIGHTS
        .iter()
        .zip(features.to_array())
        .map(|(w, x)| w * x)
        .sum::<f32>()
        + INTERCEPT;
    let p = 1.0 / (1.0 + (-z).exp());
    if p.is_finite() { p } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typical() -> Features {
        Features {
            closeness: 0.88,
            margin: 0.05,
            lexical: 0.5,
            coverage: 0.5,
            standout: 2.5,
            agreement: 3.0,
            leans: 0.0,
            uncovered: 0.5,
        }
    }

    #[test]
    fn closer_agreed_and_covered_means_surer() {
        let base = calibrated(&typical());
        let closer = calibrated(&Features {
            closeness: 0.92,
            ..typical()
        });
        let agreed = calibrated(&Features {
            agreement: 4.0,
            ..typical()
        });
        let uncovered = calibrated(&Features {
            uncovered: 0.9,
            ..typical()
        });
        assert!(closer > base && agreed > base && uncovered < base);
    }

    #[test]
    fn the_confidence_stays_a_probability() {
        for f in [
            Features::default(),
            Features {
                closeness: 10.0,
                ..typical()
            },
            Features {
                closeness: f32::NAN,
                ..typical()
            },
        ] {
            let p = calibrated(&f);
            assert!((0.0..=1.0).contains(&p), "{f:?}: {p}");
        }
    }
}
