//! Wall-clock time as stored and sent: Unix milliseconds.

use baton_shared::Millis;

pub fn now() -> Millis {
    jiff::Timestamp::now().as_millisecond()
}
