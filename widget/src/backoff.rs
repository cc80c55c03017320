//! When to reconnect after a socket drops.
//!
//! Bounded exponential backoff with jitter: the nominal delay starts at
//! [`FIRST_MS`] and doubles per failed attempt up to [`MAX_MS`]; the actual
//! delay is drawn from the upper half of it, so a server restart does not get
//! every widget back in the same millisecond. A connection that stayed up for
//! [`STABLE_MS`] counts as healthy and starts the sequence over.
//!
//! Time and randomness are passed in, so the policy is tested natively.

pub const FIRST_MS: f64 = 500.0;
pub const MAX_MS: f64 = 10_000.0;
pub const STABLE_MS: f64 = 10_000.0;

#[derive(Clone, Debug, Default)]
pub struct Backoff {
    /// Failed attempts since the last stable connection.
    attempt: u32,
    /// When the current connection opened, if it is open.
    opened_at: Option<f64>,
}

impl Backoff {
    /// The socket opened at `now_ms`.
    pub fn opened(&mut self, now_ms: f64) {
        self.opened_at = Some(now_ms);
    }

    /// The socket closed (or failed to open) at `now_ms`: how long to wait
    /// before the next attempt. `random` is uniform in `[0, 1)`.
    pub fn next_delay_ms(&mut self, now_ms: f64, random: f64) -> f64 {
        if let Some(opened) = self.opened_at.take()
            && now_ms - opened >= STABLE_MS
        {
            self.attempt = 0;
        }
        let nominal = (FIRST_MS * 2f64.powi(self.attempt.min(16) as i32)).min(MAX_MS);
        self.attempt = self.attempt.saturating_add(1);
        nominal * (0.5 + 0.5 * random.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_half_a_second_up_to_ten() {
        let mut b = Backoff::default();
        let delays: Vec<f64> = (0..8).map(|_| b.next_delay_ms(0.0, 1.0)).collect();
        assert_eq!(
            delays,
            [
                500.0, 1000.0, 2000.0, 4000.0, 8000.0, 10_000.0, 10_000.0, 10_000.0
            ]
        );
    }

    #[test]
    fn jitter_stays_within_the_upper_half_of_the_nominal_delay() {
        let mut low = Backoff::default();
        let mut high = Backoff::default();
        for _ in 0..10 {
            let (l, h) = (low.next_delay_ms(0.0, 0.0), high.next_delay_ms(0.0, 0.999));
            assert!(l > 0.0 && l <= h && h <= MAX_MS);
            assert!(l >= h / 2.0 - 1.0);
        }
    }

    #[test]
    fn a_stable_connection_resets_the_sequence() {
        let mut b = Backoff::default();
        for _ in 0..5 {
            b.next_delay_ms(0.0, 1.0);
        }
        b.opened(1_000.0);
        assert_eq!(b.next_delay_ms(1_000.0 + STABLE_MS, 1.0), FIRST_MS);
    }

    #[test]
    fn a_connection_that_drops_at_once_keeps_backing_off() {
        let mut b = Backoff::default();
        assert_eq!(b.next_delay_ms(0.0, 1.0), 500.0);
        b.opened(600.0);
        assert_eq!(
            b.next_delay_ms(700.0, 1.0),
            1000.0,
            "a flapping server is not hammered"
        );
    }
}
