//! Rate limits with governor's GCRA limiters: new sockets per remote
//! address, frames per socket, and agent sign-in attempts per address.
//!
//! Over a limit the client is told so with a `rate_limited` error frame,
//! never dropped silently: a socket over its address's limit is upgraded
//! only to receive that frame and a 1013 ("try again later") close, and a
//! frame over its socket's limit is answered and not carried out, the
//! socket staying open. Both sockets share one per-address budget, so a
//! reconnect loop on either counts.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::ws::{Message, WebSocket};
use axum::http::HeaderMap;
use baton_shared::ErrorCode;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::frames::{Reject, close_with};
use crate::config::Limits;

/// Forget idle addresses every this many admissions, so the table does not
/// grow with every address ever seen.
const SWEEP_EVERY: u64 = 1024;

/// The server's limits; one per server, shared by every socket.
pub struct RateLimits {
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    logins: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_socket: Option<Quota>,
    trust_forwarded_for: bool,
    admissions: AtomicU64,
}

impl RateLimits {
    pub fn new(limits: &Limits) -> Self {
        let per_address = NonZeroU32::new(limits.connections_per_minute)
            .map(|n| RateLimiter::keyed(Quota::per_minute(n)));
        let per_socket = NonZeroU32::new(limits.frames_per_second).map(|rate| {
            // Validated: a burst of 0 with a rate set is refused at start.
            let burst = NonZeroU32::new(limits.frame_burst).unwrap_or(rate);
            Quota::per_second(rate).allow_burst(burst)
        });
        let logins = NonZeroU32::new(limits.logins_per_minute)
            .map(|n| RateLimiter::keyed(Quota::per_minute(n)));
        Self {
            per_address,
            logins,
            per_socket,
            trust_forwarded_for: limits.trust_forwarded_for,
            admissions: AtomicU64::new(0),
        }
    }

    /// Counts a new socket from `peer`; `Err` when its address is over the
    /// limit.
    pub fn admit(&self, peer: SocketAddr, headers: &HeaderMap) -> Result<(), Reject> {
        let Some(limiter) = &self.per_address else {
            return Ok(());
        };
        if self.admissions.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let address = client_address(peer, headers, self.trust_forwarded_for);
        limiter.check_key(&address).map_err(|_| {
            Reject::new(
                ErrorCode::RateLimited,
                "too many connections from your address; try again in a minute",
            )
        })
    }

    /// Counts a sign-in attempt from `peer`; `Err` when its address made
    /// too many lately.
    pub fn admit_login(&self, peer: SocketAddr, headers: &HeaderMap) -> Result<(), Reject> {
        let Some(limiter) = &self.logins else {
            return Ok(());
        };
        let address = client_address(peer, headers, self.trust_forwarded_for);
        limiter.check_key(&address).map_err(|_| {
            Reject::new(
                ErrorCode::RateLimited,
                "too many sign-in attempts; try again in a minute",
            )
        })
    }

    /// The frame budget of one new socket.
    pub fn socket(&self) -> FrameGate {
        FrameGate(self.per_socket.map(RateLimiter::direct))
    }
}

/// One socket's frame budget.
pub struct FrameGate(Option<DefaultDirectRateLimiter>);

impl FrameGate {
    /// Counts one received frame; `Err` when the socket is sending too fast.
    /// Close frames are free: saying goodbye is never refused.
    pub fn check(&self, message: &Message) -> Result<(), Reject> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        if matches!(message, Message::Close(_)) {
            return Ok(());
        }
        limiter.check().map_err(|_| {
            Reject::new(
                ErrorCode::RateLimited,
                "too many frames; slow down and send this again",
            )
        })
    }
}

/// Answers a socket its address may not open: the error frame, then 1013.
pub async fn refuse(socket: WebSocket, error_frame: Message) {
    close_with(socket, error_frame, 1013, "rate limited; try again later").await;
}

/// The address to count a socket against. IPv6 clients are counted per
/// /64, the block one subscriber usually holds, so rotating addresses
/// within it does not escape the limit.
fn client_address(peer: SocketAddr, headers: &HeaderMap, trust_forwarded_for: bool) -> IpAddr {
    let forwarded = trust_forwarded_for
        .then(|| headers.get_all("x-forwarded-for").iter().next_back())
        .flatten()
        .and_then(|value| value.to_str().ok())
        // The proxy appends the address it saw: the last entry is the only
        // one the client cannot choose.
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok());
    match forwarded.unwrap_or(peer.ip()).to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn limits(frames_per_second: u32, frame_burst: u32, connections_per_minute: u32) -> Limits {
        Limits {
            frames_per_second,
            frame_burst,
            connections_per_minute,
            ..Limits::default()
        }
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40000)
    }

    #[test]
    fn a_socket_gets_its_burst_then_is_refused() {
        let gate = RateLimits::new(&limits(1, 3, 0)).socket();
        let frame = Message::Text("{}".into());
        for _ in 0..3 {
            assert!(gate.check(&frame).is_ok());
        }
        let refused = gate.check(&frame).unwrap_err();
        assert_eq!(refused.code, ErrorCode::RateLimited);
        assert!(
            gate.check(&Message::Close(None)).is_ok(),
            "closing is never refused"
        );
    }

    #[test]
    fn addresses_are_counted_apart_and_zero_means_no_limit() {
        let per_address = RateLimits::new(&limits(0, 0, 2));
        let headers = HeaderMap::new();
        assert!(per_address.admit(peer("10.0.0.1"), &headers).is_ok());
        assert!(per_address.admit(peer("10.0.0.1"), &headers).is_ok());
        assert_eq!(
            per_address
                .admit(peer("10.0.0.1"), &headers)
                .unwrap_err()
                .code,
            ErrorCode::RateLimited
        );
        assert!(
            per_address.admit(peer("10.0.0.2"), &headers).is_ok(),
            "another address has its own budget"
        );

        let open = RateLimits::new(&limits(0, 0, 0));
        for _ in 0..1000 {
            assert!(open.admit(peer("10.0.0.1"), &headers).is_ok());
            assert!(open.socket().check(&Message::Text("{}".into())).is_ok());
        }
    }

    #[test]
    fn the_forwarded_address_counts_only_when_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9"),
        );
        let proxy = peer("127.0.0.1");
        assert_eq!(client_address(proxy, &headers, false), proxy.ip());
        assert_eq!(
            client_address(proxy, &headers, true),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        headers.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(
            client_address(proxy, &headers, true),
            proxy.ip(),
            "unparsable: the peer counts"
        );
    }

    #[test]
    fn ipv6_is_counted_per_64_block() {
        let headers = HeaderMap::new();
        let a = client_address(peer("2001:db8:1:2::1"), &headers, false);
        let b = client_address(peer("2001:db8:1:2:ffff::9"), &headers, false);
        let c = client_address(peer("2001:db8:1:3::1"), &headers, false);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            client_address(peer("::ffff:10.1.2.3"), &headers, false),
            "10.1.2.3".parse::<IpAddr>().unwrap()
        );
    }
}
