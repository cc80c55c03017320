//! What the visitor downloads, made small, and its size budget.
//!
//! `trunk` builds the widget (cargo, wasm-bindgen); then [`shrink`] makes
//! what the visitor downloads smaller, in ways trunk cannot:
//!
//! 1. Drops the exports of `wasm-streams` (pulled in by leptos's
//!    `server_fn`, unused by the widget) so `wasm-opt` removes their code —
//!    refusing if anything in the widget still reaches them.
//! 2. Renames the wasm's imports and exports to one- or two-letter names,
//!    in the wasm and in wasm-bindgen's JS glue alike (wasm-bindgen names
//!    them `__wbg_addEventListener_847fd86b8c33ec43` and so on, twice
//!    over, incompressible hashes included).
//! 3. `wasm-opt -Oz`, then drops the glue's import functions the
//!    optimised wasm no longer imports.
//! 4. Minifies the glue with esbuild (tree-shaking what the loader does
//!    not call) and the loader (`widget/loader.js`, served as `widget.js`).
//! 5. Names the files by their content hash again, and writes `.gz` and
//!    `.br` siblings of every file for the server to send as they are.
//!
//! [`report`] measures what a visitor downloads (the loader; on first open
//! the glue JS, the wasm and any CSS), gzip-compressed as the server sends
//! it, and fails over budget.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::wasm::{Module, short_name};
use crate::{Result, Tools};

/// `widget.js` as served, gzip-compressed: 3 KB. Budgets are in decimal
/// kilobytes, the stricter reading of the issue's "KB" (and what browsers'
/// developer tools show).
pub const LOADER_BUDGET: usize = 3_000;
/// Everything fetched on first open (glue JS, wasm, CSS), gzip-compressed:
/// 90 KB.
pub const FIRST_OPEN_BUDGET: usize = 90_000;

/// The wasm-bindgen classes `wasm-streams` exports (server functions'
/// streaming bodies); the widget has no server functions.
const UNUSED_EXPORTS: &str = "intounderlying";

/// The glue JS and the wasm trunk wrote into `dir` (`<stem>.js`,
/// `<stem>_bg.wasm`).
fn built(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let mut js = None;
    let mut wasm = None;
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.ends_with("_bg.wasm") {
            wasm = Some(path);
        } else if name.ends_with(".js") && name != "loader.js" {
            js = Some(path);
        }
    }
    match (js, wasm) {
        (Some(js), Some(wasm)) => Ok((js, wasm)),
        _ => Err(format!(
            "no widget build in {} (glue .js and _bg.wasm)",
            dir.display()
        )),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result {
    fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned()
}

/// Steps 1–5 above, in place in `dir` (trunk's `dist/widget`).
pub fn shrink(tools: &Tools, dir: &Path, loader_source: &Path) -> Result {
    let (js_path, wasm_path) = built(dir)?;
    let (old_js, old_wasm) = (file_name(&js_path), file_name(&wasm_path));
    let work = crate::root().join("target/widget-shrink");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| e.to_string())?;

    let mut glue = String::from_utf8(read(&js_path)?).map_err(|_| "the glue is not UTF-8")?;
    let mut module = Module::parse(&read(&wasm_path)?)?;

    // 1 and 2: exports. Only those the glue reads as `wasm.<name>` are
    // renamed; the rest keep their names.
    let exports = module.exports()?;
    let mut export_names = BTreeMap::new();
    for export in &exports {
        if !export.contains(UNUSED_EXPORTS)
            && export.len() > 2
            && glue.contains(&format!("wasm.{export}"))
        {
            export_names.insert(
                export.clone(),
                format!("x{}", short_name(export_names.len())),
            );
        }
    }
    module.edit_exports(|e| !e.contains(UNUSED_EXPORTS), &export_names)?;
    glue = replace_identifiers(&glue, |word, before| {
        before
            .ends_with("wasm.")
            .then(|| export_names.get(word).cloned())
            .flatten()
    });

    // 2: imports, and the module they come from.
    let mut import_names = BTreeMap::new();
    let mut modules = BTreeSet::new();
    let mut next = 0;
    module.rename_imports(|import| {
        modules.insert(import.module.clone());
        let short = import_names
            .entry(import.name.clone())
            .or_insert_with(|| {
                next += 1;
                short_name(next - 1)
            })
            .clone();
        import.name = short;
        import.module = "w".into();
    })?;
    if modules.len() != 1 {
        return Err(format!(
            "the wasm imports from {modules:?}; expected one module"
        ));
    }
    let import_module = modules.into_iter().next().unwrap_or_default();
    let quoted = format!("\"{import_module}\": import0");
    if !glue.contains(&quoted) {
        return Err(format!(
            "the glue does not name the import module {import_module}"
        ));
    }
    glue = glue.replace(&quoted, "\"w\": import0");
    let originals: BTreeMap<String, String> = import_names
        .iter()
        .map(|(long, short)| (short.clone(), long.clone()))
        .collect();
    glue = replace_identifiers(&glue, |word, before| {
        // Keys of the import object: `        <name>: function`.
        before
            .ends_with("        ")
            .then(|| import_names.get(word).cloned())
            .flatten()
    });

    // 3: optimise; what the wasm no longer imports leaves the glue too.
    let renamed = work.join("renamed.wasm");
    let optimised = work.join("optimised.wasm");
    write(&renamed, module.to_bytes())?;
    tools.run(
        tools
            .command("wasm-opt")
            .args([
                "-Oz",
                // Until nothing shrinks any more (a kilobyte more than once).
                "--converge",
                // True of wasm-bindgen's modules: memory starts zeroed and
                // Rust's data lies above 1 MiB (the stack is below it).
                "--zero-filled-memory",
                "--low-memory-unused",
                "--strip-debug",
                "--strip-producers",
                "--strip-target-features",
            ])
            .arg(&renamed)
            .arg("-o")
            .arg(&optimised),
    )?;
    let wasm = read(&optimised)?;
    let imported: BTreeSet<String> = Module::parse(&wasm)?
        .imports()?
        .into_iter()
        .map(|i| i.name)
        .collect();
    if let Some(streams) = imported
        .iter()
        .filter_map(|short| originals.get(short))
        .find(|long| long.contains(UNUSED_EXPORTS))
    {
        return Err(format!(
            "the widget uses wasm-streams ({streams}): its exports cannot be dropped"
        ));
    }
    glue = keep_imports(&glue, &imported)?;
    // The glue's finalizers of the dropped classes are free to drop too,
    // and so are the classes once nothing gives them a `Symbol.dispose`.
    glue = glue.replace(
        "new FinalizationRegistry(",
        "/* @__PURE__ */ new FinalizationRegistry(",
    );
    glue = glue
        .split_inclusive('\n')
        .filter(|line| {
            !(line.starts_with("if (Symbol.dispose) ")
                && line.to_ascii_lowercase().contains(UNUSED_EXPORTS))
        })
        .collect();

    // 4: minify, keeping what the loader calls (`default`, `mount`).
    write(&work.join("glue.js"), &glue)?;
    write(
        &work.join("entry.js"),
        "export { default, mount } from \"./glue.js\";\n",
    )?;
    let minified = work.join("glue.min.js");
    tools.run(
        tools
            .command("esbuild")
            .arg(work.join("entry.js"))
            .args([
                "--bundle",
                "--minify",
                "--format=esm",
                "--log-level=warning",
            ])
            .arg(format!("--outfile={}", minified.display())),
    )?;
    let glue = String::from_utf8(read(&minified)?).map_err(|_| "esbuild wrote non-UTF-8")?;

    // 5: content-hashed names, as trunk's were.
    let stem = format!("baton-widget-{:016x}", fnv1a(&[glue.as_bytes(), &wasm]));
    let (new_js, new_wasm) = (format!("{stem}.js"), format!("{stem}_bg.wasm"));
    let glue = glue.replace(&old_wasm, &new_wasm);
    for old in [&js_path, &wasm_path] {
        fs::remove_file(old).map_err(|e| e.to_string())?;
    }
    write(&dir.join(&new_js), &glue)?;
    write(&dir.join(&new_wasm), &wasm)?;
    let index = dir.join("index.html");
    if index.exists() {
        let html = String::from_utf8(read(&index)?).map_err(|_| "index.html is not UTF-8")?;
        write(
            &index,
            html.replace(&old_js, &new_js).replace(&old_wasm, &new_wasm),
        )?;
    }

    // The loader, minified; the server prefers it to its built-in copy.
    tools.run(
        tools
            .command("esbuild")
            .arg(loader_source)
            .args(["--minify", "--log-level=warning"])
            .arg(format!("--outfile={}", dir.join("loader.js").display())),
    )?;
    let loader = String::from_utf8(read(&dir.join("loader.js"))?).unwrap_or_default();
    if !loader.contains("__BATON_ASSETS__") {
        return Err("the minified loader lost its __BATON_ASSETS__ placeholder".into());
    }
    Ok(())
}

/// Replaces identifiers (`[A-Za-z0-9_$]+` words) for which `replace(word,
/// text before it)` says so.
fn replace_identifiers(text: &str, replace: impl Fn(&str, &str) -> Option<String>) -> String {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_ident) {
        out.push_str(&rest[..start]);
        let word_end = rest[start..]
            .find(|c: char| !is_ident(c))
            .map_or(rest.len(), |e| start + e);
        let word = &rest[start..word_end];
        match replace(word, &out) {
            Some(short) => out.push_str(&short),
            None => out.push_str(word),
        }
        rest = &rest[word_end..];
    }
    out.push_str(rest);
    out
}

/// Drops the entries of wasm-bindgen's import object (`const import0 = {
/// … };`, one entry per import, each starting on a line indented by eight
/// spaces) that the wasm does not import; checks that every import it does
/// is there.
fn keep_imports(glue: &str, imported: &BTreeSet<String>) -> Result<String> {
    let start = glue
        .find("const import0 = {\n")
        .ok_or("the glue has no import object (wasm-bindgen changed its output?)")?
        + "const import0 = {\n".len();
    let end = start
        + glue[start..]
            .find("\n    };\n")
            .ok_or("the glue's import object does not end as expected")?
        + 1;
    let mut kept = String::new();
    let mut keep = true;
    let mut present = BTreeSet::new();
    for line in glue[start..end].split_inclusive('\n') {
        if let Some(key) = line
            .strip_prefix("        ")
            .filter(|l| !l.starts_with(' '))
            .and_then(|l| l.split_once(':'))
            .map(|(key, _)| key)
        {
            keep = key == "__proto__" || imported.contains(key);
            if keep {
                present.insert(key.to_owned());
            }
        }
        if keep {
            kept.push_str(line);
        }
    }
    if let Some(missing) = imported.iter().find(|i| !present.contains(*i)) {
        return Err(format!("the glue does not provide the import {missing}"));
    }
    Ok([&glue[..start], &kept, &glue[end..]].concat())
}

/// FNV-1a, 64 bits: a stable content hash for file names.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in parts.iter().flat_map(|p| p.iter()) {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// gzip as the server sends it: Zopfli's encoder, which any gzip reader
/// reads and which packs about 6% tighter than `gzip -9`, at a few seconds
/// per build.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Gzip,
        bytes,
        &mut out,
    )
    .expect("writing to memory");
    out
}

pub fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        encoder.write_all(bytes).expect("writing to memory");
    }
    out
}

/// Writes `<file>.gz` and `<file>.br` beside every text and wasm file in
/// `dir`, for the server to send precompressed.
pub fn precompress(dir: &Path) -> Result {
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "js" | "wasm" | "css" | "html" | "svg" | "json"));
        if !compressible {
            continue;
        }
        let bytes = read(&path)?;
        let with = |ext: &str| PathBuf::from(format!("{}.{ext}", path.display()));
        write(&with("gz"), gzip(&bytes))?;
        write(&with("br"), brotli(&bytes))?;
    }
    Ok(())
}

/// One downloaded file's sizes.
struct Size {
    what: String,
    raw: usize,
    gzip: usize,
    brotli: usize,
}

impl Size {
    fn of(what: String, bytes: &[u8]) -> Self {
        Self {
            what,
            raw: bytes.len(),
            gzip: gzip(bytes).len(),
            brotli: brotli(bytes).len(),
        }
    }
}

/// Prints what a visitor downloads from `dir` (`dist/widget`) and fails
/// when the loader or the first open is over budget.
pub fn report(dir: &Path) -> Result {
    let (js, wasm) = built(dir)?;
    let loader = dir.join("loader.js");
    let template =
        String::from_utf8(read(&loader)?).map_err(|_| "loader.js is not UTF-8".to_string())?;
    // As the server sends it: with the asset names filled in.
    let assets = format!(
        "{{\"js\":\"/widget/{}\",\"wasm\":\"/widget/{}\"}}",
        file_name(&js),
        file_name(&wasm)
    );
    let loader = Size::of(
        "widget.js (loader)".into(),
        template.replace("__BATON_ASSETS__", &assets).as_bytes(),
    );
    let mut first_open = vec![
        Size::of(file_name(&js), &read(&js)?),
        Size::of(file_name(&wasm), &read(&wasm)?),
    ];
    for entry in fs::read_dir(dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "css") {
            first_open.push(Size::of(file_name(&path), &read(&path)?));
        }
    }
    let total = Size {
        what: "first open, total".into(),
        raw: first_open.iter().map(|s| s.raw).sum(),
        gzip: first_open.iter().map(|s| s.gzip).sum(),
        brotli: first_open.iter().map(|s| s.brotli).sum(),
    };
    println!(
        "{:<44} {:>9} {:>9} {:>9}",
        "widget download (bytes)", "raw", "gzip", "brotli"
    );
    for size in std::iter::once(&loader).chain(&first_open).chain([&total]) {
        println!(
            "{:<44} {:>9} {:>9} {:>9}",
            size.what, size.raw, size.gzip, size.brotli
        );
    }
    let mut over = Vec::new();
    for (size, budget) in [(&loader, LOADER_BUDGET), (&total, FIRST_OPEN_BUDGET)] {
        let verdict = if size.gzip <= budget {
            "ok"
        } else {
            "OVER BUDGET"
        };
        println!(
            "{}: {} B gzip, budget {} B ({} KB): {verdict}",
            size.what,
            size.gzip,
            budget,
            budget / 1000
        );
        if size.gzip > budget {
            over.push(format!(
                "{} is {} B gzip, over its budget of {budget} B by {} B",
                size.what,
                size.gzip,
                size.gzip - budget
            ));
        }
    }
    if over.is_empty() {
        Ok(())
    } else {
        Err(over.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLUE: &str = "function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg_used_123: function(arg0) {
            return arg0;
        },
        __wbg_unused_456: function() { return handleError(function (arg0) {
            arg0.x();
        }, arguments); },
        __wbg_last_789: function(arg0) {
            return wasm.__wbindgen_malloc(arg0);
        },
    };
    return {
        __proto__: null,
        \"./baton-widget_bg.js\": import0,
    };
}
";

    #[test]
    fn unused_import_functions_leave_the_glue_and_used_ones_stay() {
        let imported = BTreeSet::from(["__wbg_used_123".to_string(), "__wbg_last_789".into()]);
        let glue = keep_imports(GLUE, &imported).unwrap();
        assert!(glue.contains("__wbg_used_123: function(arg0) {\n            return arg0;"));
        assert!(glue.contains("__wbg_last_789"));
        assert!(!glue.contains("unused"), "{glue}");
        assert!(glue.contains("__proto__: null,\n        __wbg_used_123"));
        assert!(glue.ends_with("import0,\n    };\n}\n"));

        let missing = BTreeSet::from(["__wbg_elsewhere".to_string()]);
        assert!(
            keep_imports(GLUE, &missing).is_err(),
            "a missing import is an error"
        );
        assert!(keep_imports("no imports here", &imported).is_err());
    }

    #[test]
    fn identifiers_are_replaced_only_where_asked() {
        let glue = replace_identifiers(GLUE, |word, before| {
            (word == "__wbindgen_malloc" && before.ends_with("wasm.")).then(|| "xa".into())
        });
        assert!(glue.contains("wasm.xa(arg0)"));
        let keys = replace_identifiers(GLUE, |word, before| {
            (word == "__wbg_used_123" && before.ends_with("        ")).then(|| "a".into())
        });
        assert!(keys.contains("\n        a: function(arg0)"));
    }

    #[test]
    fn compression_round_trips_and_hashes_are_stable() {
        let text = b"hello hello hello hello".repeat(20);
        let mut back = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&gzip(&text)[..]),
            &mut back,
        )
        .unwrap();
        assert_eq!(back, text);
        assert!(brotli(&text).len() < text.len());
        assert_eq!(fnv1a(&[b"a", b"b"]), fnv1a(&[b"ab"]));
        assert_ne!(fnv1a(&[b"ab"]), fnv1a(&[b"ba"]));
    }
}
