//! The socket frame decoders (`baton::transport::decode_bytes`, the same
//! size check and parser both sockets run on every data frame) on
//! arbitrary bytes: they must never panic, never accept a frame over the
//! limit, always explain a refusal, and what they accept must survive a
//! round trip through JSON unchanged.

#![no_main]

use std::fmt::Debug;

use baton::transport::decode_bytes;
use baton_shared::{AgentRequest, DEFAULT_MAX_FRAME_BYTES, ErrorCode, VisitorRequest};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the socket, and sometimes a small limit so the
    // size check is reached by short inputs too.
    let Some((&selector, payload)) = data.split_first() else { return };
    let max = if selector & 0x80 != 0 { 16 + usize::from(selector & 0x3f) * 8 } else { DEFAULT_MAX_FRAME_BYTES };
    if selector & 1 == 0 {
        check::<VisitorRequest>(payload, max);
    } else {
        check::<AgentRequest>(payload, max);
    }
});

fn check<T: DeserializeOwned + Serialize + PartialEq + Debug>(payload: &[u8], max: usize) {
    let text = std::str::from_utf8(payload).ok();
    match decode_bytes::<T>(payload, max) {
        Ok(request) => {
            assert!(payload.len() <= max, "accepted {} bytes over a limit of {max}", payload.len());
            assert!(text.is_some(), "accepted a frame that is not UTF-8 text");
            let again = serde_json::to_vec(&request).expect("requests serialise");
            let back: T = serde_json::from_slice(&again).expect("a re-encoded request decodes");
            assert_eq!(back, request, "the round trip changed the request");
        }
        Err(reject) => {
            assert!(!reject.message.is_empty(), "a refusal without a message");
            if text.is_some() && payload.len() > max {
                assert_eq!(reject.code, ErrorCode::TooLarge, "{}", reject.message);
            }
        }
    }
}
