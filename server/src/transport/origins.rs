//! Which pages may embed the widget, and how a page that may not is told.
//!
//! Browsers name the embedding page's origin (`Origin`) on the widget's
//! socket upgrade and on its uploads. By default any site may embed the
//! widget, as with Intercom or Crisp: the visitor socket carries no ambient
//! credential (the conversation token travels in `hello`), so another site
//! gains nothing but a chat of its own. `visitors.allowed_origins`
//! restricts it to the server's own pages and the sites listed.
//!
//! A refused page must learn why: a browser hides a refused upgrade's
//! status and body from the page (it only sees "connection failed"), and
//! the site owner is the one who can fix it. So the upgrade is accepted
//! only to send an `origin_not_allowed` error frame naming the origin and
//! the setting, then closed with 1008 (policy violation) before any frame
//! of the page is read; the widget shows "unavailable", logs that line to
//! the browser console and stops retrying. The server says the same at
//! WARN, once per origin per minute.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderMap, header};
use baton_shared::ErrorCode;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::frames::Reject;

/// The close code a refused page's socket gets (RFC 6455: policy violation).
pub const CLOSE_REFUSED: u16 = 1008;

/// Longest origin quoted in logs and error frames; real ones are far
/// shorter, and a header is no place for an essay.
const MAX_QUOTED: usize = 200;

/// Forget origins not warned about lately every this many refusals.
const SWEEP_EVERY: u64 = 256;

/// The origin (`scheme://host[:port]`, lower-case) of a URL such as the
/// configured `public_url`.
pub fn origin_of(url: &str) -> String {
    let url = url.trim().to_ascii_lowercase();
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            format!("{scheme}://{authority}")
        }
        None => url,
    }
}

/// An origin as quoted back: at most [`MAX_QUOTED`] characters.
pub fn quoted(origin: &[u8]) -> String {
    String::from_utf8_lossy(origin)
        .chars()
        .take(MAX_QUOTED)
        .collect()
}

/// The sites that may embed the widget.
pub struct Origins {
    /// `None`: any site. Listed origins are lower-case, without a trailing
    /// slash.
    listed: Option<Vec<String>>,
    /// One warning per refused origin per minute.
    warned: DefaultKeyedRateLimiter<String>,
    refusals: AtomicU64,
}

/// A page the configuration does not let embed the widget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// As the browser sent it, cut to [`MAX_QUOTED`] characters.
    pub origin: String,
}

impl Origins {
    /// From `visitors.allowed_origins` (validated at start): `None`, or a
    /// list with `"*"`, allows any site.
    pub fn new(allowed: Option<&[String]>) -> Self {
        let listed = allowed
            .filter(|list| !list.iter().any(|o| o == "*"))
            .map(|list| {
                list.iter()
                    .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                    .collect()
            });
        Self {
            listed,
            warned: RateLimiter::keyed(Quota::per_minute(NonZeroU32::MIN)),
            refusals: AtomicU64::new(0),
        }
    }

    /// Whether a page at `origin` may embed the widget (the server's own
    /// pages aside, see [`check`](Self::check)).
    pub fn allows(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/');
        self.listed
            .as_ref()
            .is_none_or(|listed| listed.iter().any(|o| o.eq_ignore_ascii_case(origin)))
    }

    /// Whether the page behind a socket upgrade may open the chat. Clients
    /// that send no `Origin` are not browsers: there is no page to protect.
    /// A refusal is logged (see the module doc).
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Refused> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        // Not visible ASCII: no site's origin, and nothing to quote.
        let origin = origin.to_str().unwrap_or("(unreadable)");
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let same_origin = origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host));
        if same_origin || self.allows(origin) {
            return Ok(());
        }
        let refused = Refused {
            origin: origin.chars().take(MAX_QUOTED).collect(),
        };
        self.warn(&refused);
        Err(refused)
    }

    /// Logs the refusal unless this origin was logged within the minute;
    /// says whether it did.
    fn warn(&self, refused: &Refused) -> bool {
        if self.refusals.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.warned.retain_recent();
            self.warned.shrink_to_fit();
        }
        let due = self.warned.check_key(&refused.origin).is_ok();
        if due {
            tracing::warn!(origin = %refused.origin, "{}", refused.advice());
        }
        due
    }

    /// Who may embed the widget, for `baton serve` to print at start;
    /// `own` is the server's own origin.
    pub fn describe(&self, own: &str) -> String {
        match &self.listed {
            None => "any site (to allow only yours: [visitors] allowed_origins)".into(),
            Some(listed) => std::iter::once(own)
                .chain(listed.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

impl Refused {
    /// What the owner should do, naming the origin and the setting.
    pub fn advice(&self) -> String {
        format!(
            "the page at {origin} may not open the chat: add \"{origin}\" to \
             [visitors] allowed_origins in Baton's config (or BATON_ALLOWED_ORIGINS)",
            origin = self.origin
        )
    }

    /// The error frame the page's socket gets before it is closed.
    pub fn reject(&self) -> Reject {
        Reject::new(ErrorCode::OriginNotAllowed, self.advice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_urls_origin_is_scheme_and_authority() {
        assert_eq!(
            origin_of("https://Chat.Example.com/"),
            "https://chat.example.com"
        );
        assert_eq!(
            origin_of("http://10.0.0.5:8080/support?x=1"),
            "http://10.0.0.5:8080"
        );
        assert_eq!(
            origin_of("https://chat.example.com"),
            "https://chat.example.com"
        );
    }

    fn upgrade(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, host.parse().unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, origin.parse().unwrap());
        }
        headers
    }

    #[test]
    fn any_site_may_embed_until_the_owner_lists_theirs() {
        let open = Origins::new(None);
        assert!(
            open.check(&upgrade(Some("https://a.example"), "chat.b"))
                .is_ok()
        );
        assert!(open.check(&upgrade(Some("null"), "chat.b")).is_ok());
        let star = Origins::new(Some(&["*".into()]));
        assert!(star.allows("https://a.example"));
    }

    #[test]
    fn a_list_admits_its_sites_and_the_servers_own_pages_only() {
        let origins = Origins::new(Some(&["https://Shop.example/".into()]));
        assert!(origins.allows("https://shop.example"));
        assert!(
            origins
                .check(&upgrade(Some("https://shop.example"), "chat.example"))
                .is_ok()
        );
        assert!(
            origins
                .check(&upgrade(
                    Some("http://chat.example:8080"),
                    "chat.example:8080"
                ))
                .is_ok(),
            "the server's own pages"
        );
        assert!(
            origins.check(&upgrade(None, "chat.example")).is_ok(),
            "not a browser"
        );
        let refused = origins
            .check(&upgrade(Some("https://evil.example"), "chat.example"))
            .unwrap_err();
        assert_eq!(refused.origin, "https://evil.example");
        let reject = refused.reject();
        assert_eq!(reject.code, ErrorCode::OriginNotAllowed);
        assert!(
            reject.message.contains("\"https://evil.example\"")
                && reject.message.contains("allowed_origins"),
            "{}",
            reject.message
        );
        assert!(
            origins
                .check(&upgrade(Some("null"), "chat.example"))
                .is_err()
        );
        assert!(!origins.allows("https://shop.example.evil.example"));
    }

    #[test]
    fn a_refused_origin_is_logged_once_a_minute() {
        let origins = Origins::new(Some(&[]));
        let evil = Refused {
            origin: "https://evil.example".into(),
        };
        let other = Refused {
            origin: "https://other.example".into(),
        };
        assert!(origins.warn(&evil));
        assert!(!origins.warn(&evil), "again within the minute");
        assert!(origins.warn(&other), "each origin on its own");
    }

    #[test]
    fn an_endless_origin_is_quoted_short() {
        let origins = Origins::new(Some(&[]));
        let long = format!("https://{}.example", "a".repeat(5000));
        let refused = origins.check(&upgrade(Some(&long), "chat")).unwrap_err();
        assert_eq!(refused.origin.len(), MAX_QUOTED);
    }

    #[test]
    fn start_up_says_who_may_embed() {
        assert!(
            Origins::new(None)
                .describe("http://x")
                .starts_with("any site")
        );
        assert_eq!(
            Origins::new(Some(&["https://shop.example".into()])).describe("http://x:1"),
            "http://x:1, https://shop.example"
        );
    }
}
