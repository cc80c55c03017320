//! Money amounts in free text: "$1,200", "1.200,50 €", "300 dollars",
//! "CHF 200", "1.5k EUR", "two hundred euros".
//!
//! An amount is a number with a currency symbol or word right before or
//! after it (a space may separate them). Numbers without a currency are
//! ignored: in a support chat they are usually order numbers or sizes.
//! Separators are read the way people write them: with both `.` and `,` the
//! last one is the decimal point ("1.200,50", "1,200.50"); with one kind,
//! a single separator followed by exactly three digits groups thousands
//! ("1,200", "1.200") and otherwise marks decimals ("12.50", "12,5").

use super::defaults;
use super::policy::{Lists, effective};
use super::text::{fold, words};

/// An amount found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    pub value: f64,
    /// The currency's code as configured (`EUR`).
    pub currency: String,
}

impl Amount {
    /// "240 EUR", "1200.50 USD".
    pub fn describe(&self) -> String {
        format!("{} {}", number(self.value), self.currency)
    }
}

/// Formats a number without needless decimals: 240, 1200.5 → "1200.50".
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// The configured currencies, ready for matching.
#[derive(Debug, Clone)]
pub struct Currencies {
    /// (folded alias, code), longest alias first so "us$" wins over "$".
    aliases: Vec<(String, String)>,
}

impl Currencies {
    pub fn new(configured: &Lists) -> Self {
        let mut aliases: Vec<(String, String)> = effective(configured, defaults::CURRENCIES)
            .into_iter()
            .flat_map(|(code, list)| {
                list.into_iter()
                    .map(move |a| (fold(a.trim()), code.clone()))
            })
            .filter(|(a, _)| !a.is_empty())
            .collect();
        aliases.sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then(a.cmp(b)));
        Self { aliases }
    }

    /// The currency written at the end of `before` (e.g. "about €").
    fn before(&self, before: &str) -> Option<&str> {
        let text = before.trim_end();
        // At most one space between the currency and the number.
        if before.len() - text.len() > 1 {
            return None;
        }
        self.aliases.iter().find_map(|(alias, code)| {
            let rest = text.strip_suffix(alias.as_str())?;
            let bounded = !alias.ends_with(char::is_alphanumeric)
                || !alias.starts_with(char::is_alphanumeric)
                || !rest.ends_with(char::is_alphanumeric);
            bounded.then_some(code.as_str())
        })
    }

    /// The currency written at the start of `after` (e.g. " euros.").
    fn after(&self, after: &str) -> Option<&str> {
        let text = after.trim_start();
        if after.len() - text.len() > 1 {
            return None;
        }
        self.aliases.iter().find_map(|(alias, code)| {
            let rest = text.strip_prefix(alias.as_str())?;
            let bounded =
                !alias.ends_with(char::is_alphanumeric) || !rest.starts_with(char::is_alphanumeric);
            bounded.then_some(code.as_str())
        })
    }

    fn is_word_alias(&self, word: &str) -> Option<&str> {
        self.aliases
            .iter()
            .find(|(a, _)| a == word)
            .map(|(_, c)| c.as_str())
    }
}

const SPACES: [char; 3] = [' ', '\u{a0}', '\u{202f}'];

/// Reads a number written with separators; see the module docs.
fn parse_number(raw: &str) -> Option<f64> {
    let s: String = raw
        .chars()
        .filter(|c| !SPACES.contains(c) && *c != '\'' && *c != '’')
        .collect();
    let (dots, commas) = (s.matches('.').count(), s.matches(',').count());
    let normal = match (dots, commas) {
        (0, 0) => s,
        (_, 0) | (0, _) => {
            let sep = if dots > 0 { '.' } else { ',' };
            let after = s.rsplit(sep).next().unwrap_or("");
            if dots + commas > 1 || after.len() == 3 {
                s.replace(sep, "")
            } else {
                s.replace(sep, ".")
            }
        }
        _ => {
            let decimal = if s.rfind('.') > s.rfind(',') {
                '.'
            } else {
                ','
            };
            let thousands = if decimal == '.' { ',' } else { '.' };
            s.replace(thousands, "").replace(decimal, ".")
        }
    };
    normal.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Words that multiply the number before them ("2 thousand", "1.5k").
fn multiplier(word: &str) -> Option<f64> {
    Some(match word {
        "k" | "thousand" | "tausend" | "mille" | "mil" | "duizend" => 1e3,
        "hundred" => 1e2,
        "m" | "million" | "millions" | "mio" | "millionen" | "millones" | "miljoen" => 1e6,
        _ => return None,
    })
}

/// All amounts with a currency in `text`.
pub fn amounts(text: &str, currencies: &Currencies) -> Vec<Amount> {
    let folded = fold(text);
    let mut found = digit_amounts(&folded, currencies);
    found.extend(word_amounts(&folded, currencies));
    found
}

fn digit_amounts(folded: &str, currencies: &Currencies) -> Vec<Amount> {
    let chars: Vec<(usize, char)> = folded.char_indices().collect();
    let byte = |i: usize| chars.get(i).map_or(folded.len(), |&(b, _)| b);
    let digit = |i: usize| chars.get(i).is_some_and(|&(_, c)| c.is_ascii_digit());
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !digit(i) || (i > 0 && digit(i - 1)) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i;
        while digit(end) {
            end += 1;
        }
        loop {
            let sep = chars.get(end).map(|&(_, c)| c);
            match sep {
                Some('.' | ',' | '\'' | '’') if digit(end + 1) => {}
                // A space groups thousands only before exactly three digits.
                Some(c)
                    if SPACES.contains(&c)
                        && (1..=3).all(|k| digit(end + k))
                        && !digit(end + 4) => {}
                _ => break,
            }
            end += 1;
            while digit(end) {
                end += 1;
            }
        }
        let Some(mut value) = parse_number(&folded[byte(start)..byte(end)]) else {
            i = end;
            continue;
        };
        let mut tail = &folded[byte(end)..];
        // "300,-" and "300.-" are whole amounts.
        if let Some(rest) = tail.strip_prefix(",-").or_else(|| tail.strip_prefix(".-")) {
            tail = rest;
        }
        // A multiplier right after the number or after one space.
        let trimmed = tail.strip_prefix(SPACES).unwrap_or(tail);
        let word_end = trimmed
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(trimmed.len());
        if let Some(m) = multiplier(&trimmed[..word_end])
            && currencies.is_word_alias(&trimmed[..word_end]).is_none()
        {
            value *= m;
            tail = &trimmed[word_end..];
        }
        let currency = currencies
            .after(tail)
            .or_else(|| currencies.before(&folded[..byte(start)]));
        if let Some(code) = currency {
            out.push(Amount {
                value,
                currency: code.to_string(),
            });
        }
        i = end;
    }
    out
}

/// Number words followed by a currency word, in the policy's languages:
/// "two hundred euros", "dreihundert Euro", "trescientos euros",
/// "deux cents euros", "tweehonderd euro".
fn word_amounts(folded: &str, currencies: &Currencies) -> Vec<Amount> {
    let ws = words(folded);
    let mut out = Vec::new();
    // (thousands and millions so far, the part below a thousand)
    let mut acc: Option<(f64, f64)> = None;
    for (i, w) in ws.iter().enumerate() {
        let next = ws.get(i + 1).map(String::as_str);
        // "2 thousand euros" is the figures' business (see `amounts`).
        let after_figure = i > 0 && ws[i - 1].chars().all(|c| c.is_ascii_digit());
        if after_figure {
            acc = None;
            continue;
        }
        acc = match (w.as_str(), acc) {
            (w, acc) if below_thousand(w).is_some() => {
                let (t, c) = acc.unwrap_or((0.0, 0.0));
                Some((t, c + below_thousand(w).unwrap_or(0.0)))
            }
            // "a hundred", "a thousand": the article counts as one.
            ("a", _) if next.is_some_and(|n| HUNDREDS.contains(&n) || THOUSANDS.contains(&n)) => {
                Some((0.0, 1.0))
            }
            (w, Some((t, c))) if HUNDREDS.contains(&w) => Some((t, c.max(1.0) * 100.0)),
            // "hundert", "cent", "cien" on their own: one hundred.
            (w, None) if HUNDREDS.contains(&w) => Some((0.0, 100.0)),
            (w, acc) if THOUSANDS.contains(&w) => {
                let (t, c) = acc.unwrap_or((0.0, 1.0));
                Some((t + c.max(1.0) * 1e3, 0.0))
            }
            ("million" | "millionen" | "millon" | "millones" | "miljoen", Some((t, c))) => {
                Some((t + c.max(1.0) * 1e6, 0.0))
            }
            ("and" | "und" | "et" | "y" | "en", Some(acc)) => Some(acc),
            (w, Some((t, c))) => {
                if let Some(code) = currencies.is_word_alias(w) {
                    out.push(Amount {
                        value: t + c,
                        currency: code.to_string(),
                    });
                }
                None
            }
            _ => None,
        };
    }
    out
}

const HUNDREDS: &[&str] = &[
    "hundred", "hundert", "cent", "cents", "cien", "ciento", "honderd",
];
const THOUSANDS: &[&str] = &["thousand", "tausend", "mille", "mil", "duizend"];

/// 0–19 and the tens, per language (folded).
const UNITS: [&[&str]; 20] = [
    &["zero", "null", "zero", "cero", "nul"],
    &[
        "one", "eins", "ein", "eine", "un", "une", "uno", "una", "een",
    ],
    &["two", "zwei", "deux", "dos", "twee"],
    &["three", "drei", "trois", "tres", "drie"],
    &["four", "vier", "quatre", "cuatro"],
    &["five", "funf", "cinq", "cinco", "vijf"],
    &["six", "sechs", "seis", "zes"],
    &["seven", "sieben", "sept", "siete", "zeven"],
    &["eight", "acht", "huit", "ocho"],
    &["nine", "neun", "neuf", "nueve", "negen"],
    &["ten", "zehn", "dix", "diez", "tien"],
    &["eleven", "elf", "onze", "once"],
    &["twelve", "zwolf", "douze", "doce", "twaalf"],
    &["thirteen", "dreizehn", "treize", "trece", "dertien"],
    &["fourteen", "vierzehn", "quatorze", "catorce", "veertien"],
    &["fifteen", "funfzehn", "quinze", "quince", "vijftien"],
    &["sixteen", "sechzehn", "seize", "dieciseis", "zestien"],
    &[
        "seventeen",
        "siebzehn",
        "dixsept",
        "diecisiete",
        "zeventien",
    ],
    &["eighteen", "achtzehn", "dixhuit", "dieciocho", "achttien"],
    &["nineteen", "neunzehn", "dixneuf", "diecinueve", "negentien"],
];
const TENS: [&[&str]; 8] = [
    &["twenty", "zwanzig", "vingt", "veinte", "twintig"],
    &["thirty", "dreissig", "trente", "treinta", "dertig"],
    &["forty", "vierzig", "quarante", "cuarenta", "veertig"],
    &["fifty", "funfzig", "cinquante", "cincuenta", "vijftig"],
    &["sixty", "sechzig", "soixante", "sesenta", "zestig"],
    &["seventy", "siebzig", "soixantedix", "setenta", "zeventig"],
    &["eighty", "achtzig", "quatrevingt", "ochenta", "tachtig"],
    &["ninety", "neunzig", "quatrevingtdix", "noventa", "negentig"],
];
/// Spanish hundreds, one word each.
const SPANISH_HUNDREDS: [&str; 8] = [
    "doscientos",
    "trescientos",
    "cuatrocientos",
    "quinientos",
    "seiscientos",
    "setecientos",
    "ochocientos",
    "novecientos",
];

/// The value of a number word below a thousand, including the German and
/// Dutch compounds ("zweihundertfunfzig", "fünfundzwanzig",
/// "driehonderd") and Spanish hundreds ("trescientas").
fn below_thousand(w: &str) -> Option<f64> {
    let unit = |w: &str| UNITS.iter().position(|u| u.contains(&w)).map(|n| n as f64);
    let tens = |w: &str| {
        TENS.iter()
            .position(|t| t.contains(&w))
            .map(|n| (n as f64 + 2.0) * 10.0)
    };
    // Below a hundred: a unit, a ten, or "<unit>und<ten>" / "<unit>en<ten>".
    let below_hundred = |w: &str| {
        unit(w).or_else(|| tens(w)).or_else(|| {
            ["und", "en"].iter().find_map(|joint| {
                let (u, t) = w.split_once(joint)?;
                Some(unit(u)? + tens(t)?)
            })
        })
    };
    if let Some(n) = below_hundred(w) {
        return Some(n);
    }
    let masculine = w.replace("ientas", "ientos");
    if let Some(h) = SPANISH_HUNDREDS.iter().position(|h| *h == masculine) {
        return Some((h as f64 + 2.0) * 100.0);
    }
    for hundred in ["hundert", "honderd"] {
        if let Some((before, after)) = w.split_once(hundred)
            && (!before.is_empty() || !after.is_empty())
        {
            let times = if before.is_empty() {
                1.0
            } else {
                unit(before)?
            };
            let rest = if after.is_empty() {
                0.0
            } else {
                below_hundred(after)?
            };
            return Some(times * 100.0 + rest);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str) -> Vec<(f64, String)> {
        amounts(s, &Currencies::new(&Lists::new()))
            .into_iter()
            .map(|a| (a.value, a.currency))
            .collect()
    }

    fn one(s: &str) -> (f64, &'static str) {
        let f = found(s);
        assert_eq!(f.len(), 1, "{s}: {f:?}");
        let code: &'static str = Box::leak(f[0].1.clone().into_boxed_str());
        (f[0].0, code)
    }

    #[test]
    fn symbols_and_codes_either_side() {
        assert_eq!(one("I paid $1,200 for it"), (1200.0, "USD"));
        assert_eq!(one("€300"), (300.0, "EUR"));
        assert_eq!(one("300€"), (300.0, "EUR"));
        assert_eq!(one("300 €."), (300.0, "EUR"));
        assert_eq!(one("a refund of 240 EUR please"), (240.0, "EUR"));
        assert_eq!(one("EUR240"), (240.0, "EUR"));
        assert_eq!(one("£150"), (150.0, "GBP"));
        assert_eq!(one("CHF 200"), (200.0, "CHF"));
        assert_eq!(one("US$ 50"), (50.0, "USD"));
        assert_eq!(one("¥15000"), (15000.0, "JPY"));
        assert_eq!(one("₹ 2,500"), (2500.0, "INR"));
    }

    #[test]
    fn currency_words_in_several_languages() {
        assert_eq!(one("300 dollars"), (300.0, "USD"));
        assert_eq!(one("200 Euro zurück"), (200.0, "EUR"));
        assert_eq!(one("150 pounds"), (150.0, "GBP"));
        assert_eq!(one("300 dólares"), (300.0, "USD"));
        assert_eq!(one("120 Franken"), (120.0, "CHF"));
        assert_eq!(one("two hundred euros"), (200.0, "EUR"));
        assert_eq!(one("a hundred and fifty pounds"), (150.0, "GBP"));
        assert_eq!(one("trescientos euros"), (300.0, "EUR"));
        assert_eq!(one("doscientas cincuenta libras"), (250.0, "GBP"));
        assert_eq!(one("dreihundert Euro"), (300.0, "EUR"));
        assert_eq!(one("zweihundertfünfzig Franken"), (250.0, "CHF"));
        assert_eq!(one("hundertfünfundzwanzig euro"), (125.0, "EUR"));
        assert_eq!(one("deux cents euros"), (200.0, "EUR"));
        assert_eq!(one("tweehonderd euro"), (200.0, "EUR"));
        assert_eq!(one("mille euros"), (1000.0, "EUR"));
        assert!(found("un euro").iter().all(|(v, _)| *v < 100.0));
        assert_eq!(one("three thousand two hundred dollars"), (3200.0, "USD"));
    }

    #[test]
    fn separators_and_multipliers() {
        assert_eq!(one("1.200,50 €"), (1200.5, "EUR"));
        assert_eq!(one("1,200.50 USD"), (1200.5, "USD"));
        assert_eq!(one("1.200 EUR"), (1200.0, "EUR"));
        assert_eq!(one("12.50 EUR"), (12.5, "EUR"));
        assert_eq!(one("12,5 EUR"), (12.5, "EUR"));
        assert_eq!(one("1'200 CHF"), (1200.0, "CHF"));
        assert_eq!(one("1 200 €"), (1200.0, "EUR"));
        assert_eq!(one("1\u{202f}200 €"), (1200.0, "EUR"));
        assert_eq!(one("1,234,567 USD"), (1234567.0, "USD"));
        assert_eq!(one("1.5k EUR"), (1500.0, "EUR"));
        assert_eq!(one("2 thousand euros"), (2000.0, "EUR"));
        assert_eq!(one("300,- €"), (300.0, "EUR"));
    }

    #[test]
    fn numbers_without_currency_are_not_amounts() {
        assert!(found("order 12345, size 42").is_empty());
        assert!(found("300 eurovision fans").is_empty());
        assert!(found("in 2 weeks").is_empty());
        assert!(found("for 240").is_empty());
        assert!(found("").is_empty());
        assert!(found("$").is_empty());
        assert!(
            found(&format!("{} EUR", "9".repeat(400))).is_empty(),
            "too large to be an amount"
        );
    }

    #[test]
    fn configured_currencies() {
        let mut lists = Lists::new();
        lists.insert("BTC".into(), vec!["btc".into(), "₿".into()]);
        let c = Currencies::new(&lists);
        assert_eq!(amounts("0.5 BTC", &c)[0].currency, "BTC");
        assert_eq!(amounts("₿2", &c)[0].value, 2.0);
        assert_eq!(
            amounts("€2", &c)[0].currency,
            "EUR",
            "built-in currencies stay"
        );
    }

    #[test]
    fn describe() {
        assert_eq!(
            Amount {
                value: 240.0,
                currency: "EUR".into()
            }
            .describe(),
            "240 EUR"
        );
        assert_eq!(
            Amount {
                value: 1200.5,
                currency: "USD".into()
            }
            .describe(),
            "1200.50 USD"
        );
    }
}
