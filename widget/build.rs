//! Minifies `src/style.css` into `$OUT_DIR/style.css`, which `ui.rs`
//! embeds: the comments and indentation are for the people who edit it,
//! not for the visitors who download it.

use std::{env, fs, path::Path};

fn main() {
    let source = "src/style.css";
    println!("cargo::rerun-if-changed={source}");
    let css = fs::read_to_string(source).expect("reading src/style.css");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("style.css");
    fs::write(out, minify(&css)).expect("writing the minified CSS");
}

/// Drops comments, collapses whitespace to one space, and drops it beside
/// `{ } ; ,` and after `:` where nothing can depend on it. Whitespace
/// before `:` stays (`.panel :focus-visible` is not `.panel:focus-visible`);
/// so does everything inside quotes and `url(…)` (which have none to drop).
fn minify(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, tail)| tail);
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        if c == '"' || c == '\'' {
            let end = rest[1..].find(c).map_or(rest.len(), |i| i + 2);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        rest = &rest[c.len_utf8()..];
        if c.is_whitespace() {
            let next = rest.trim_start().chars().next();
            let last = out.chars().last();
            let droppable = |c: Option<char>| c.is_none_or(|c| "{};,".contains(c));
            if !droppable(last) && !droppable(next) && last != Some(':') {
                out.push(' ');
            }
            continue;
        }
        out.push(c);
    }
    out
}
