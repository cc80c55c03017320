//! Just enough of the WebAssembly binary format to rename a module's
//! imports and exports and to drop exports, leaving every other byte as
//! it is (see `widget.rs` for why).

use std::collections::BTreeMap;

type Result<T> = std::result::Result<T, String>;

/// A module's sections, in order: (id, contents).
pub struct Module {
    sections: Vec<(u8, Vec<u8>)>,
}

/// One import: module and field name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    pub module: String,
    pub name: String,
}

const IMPORTS: u8 = 2;
const EXPORTS: u8 = 7;

impl Module {
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.get(..8) != Some(b"\0asm\x01\0\0\0") {
            return Err("not a WebAssembly module (version 1)".into());
        }
        let mut r = Reader { bytes, at: 8 };
        let mut sections = Vec::new();
        while !r.done() {
            let id = r.byte()?;
            let len = r.u32()? as usize;
            sections.push((id, r.take(len)?.to_vec()));
        }
        Ok(Self { sections })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = b"\0asm\x01\0\0\0".to_vec();
        for (id, body) in &self.sections {
            out.push(*id);
            leb(&mut out, body.len() as u64);
            out.extend_from_slice(body);
        }
        out
    }

    pub fn imports(&self) -> Result<Vec<Import>> {
        let mut found = Vec::new();
        if let Some((_, body)) = self.sections.iter().find(|(id, _)| *id == IMPORTS) {
            walk_imports(body, |import| found.push(import.clone()))?;
        }
        Ok(found)
    }

    /// Renames imports: `rename` gets each and may change its module and
    /// name.
    pub fn rename_imports(&mut self, rename: impl FnMut(&mut Import)) -> Result<()> {
        if let Some((_, body)) = self.sections.iter_mut().find(|(id, _)| *id == IMPORTS) {
            *body = walk_imports(body, rename)?;
        }
        Ok(())
    }

    /// Export names, in order.
    pub fn exports(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        if let Some((_, body)) = self.sections.iter().find(|(id, _)| *id == EXPORTS) {
            let mut r = Reader { bytes: body, at: 0 };
            for _ in 0..r.u32()? {
                names.push(r.name()?);
                r.byte()?;
                r.u32()?;
            }
        }
        Ok(names)
    }

    /// Keeps the exports `keep` says yes to, under the names in `rename`
    /// (or their own).
    pub fn edit_exports(
        &mut self,
        keep: impl Fn(&str) -> bool,
        rename: &BTreeMap<String, String>,
    ) -> Result<()> {
        let Some((_, body)) = self.sections.iter_mut().find(|(id, _)| *id == EXPORTS) else {
            return Ok(());
        };
        let mut r = Reader { bytes: body, at: 0 };
        let mut kept = Vec::new();
        for _ in 0..r.u32()? {
            let export = r.name()?;
            let kind = r.byte()?;
            let index = r.u32()?;
            if keep(&export) {
                let mut entry = Vec::new();
                name(&mut entry, rename.get(&export).unwrap_or(&export));
                entry.push(kind);
                leb(&mut entry, index as u64);
                kept.push(entry);
            }
        }
        let mut out = Vec::new();
        leb(&mut out, kept.len() as u64);
        kept.iter().for_each(|e| out.extend_from_slice(e));
        *body = out;
        Ok(())
    }
}

/// Reads an import section, letting `visit` change each import; returns
/// the section with the changes.
fn walk_imports(body: &[u8], mut visit: impl FnMut(&mut Import)) -> Result<Vec<u8>> {
    let mut r = Reader { bytes: body, at: 0 };
    let count = r.u32()?;
    let mut out = Vec::new();
    leb(&mut out, count as u64);
    for _ in 0..count {
        let mut import = Import {
            module: r.name()?,
            name: r.name()?,
        };
        let start = r.at;
        match r.byte()? {
            0 => drop(r.u32()?), // function: type index
            1 => {
                // table: reference type, limits
                r.byte()?;
                r.limits()?;
            }
            2 => r.limits()?, // memory
            3 => {
                // global: value type, mutability
                r.byte()?;
                r.byte()?;
            }
            4 => {
                // tag: attribute, type index
                r.byte()?;
                r.u32()?;
            }
            kind => return Err(format!("unknown import kind {kind}")),
        }
        let desc = &r.bytes[start..r.at];
        visit(&mut import);
        name(&mut out, &import.module);
        name(&mut out, &import.name);
        out.extend_from_slice(desc);
    }
    Ok(out)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn byte(&mut self) -> Result<u8> {
        let b = *self.bytes.get(self.at).ok_or("truncated module")?;
        self.at += 1;
        Ok(b)
    }

    fn take(&mut self, len: usize) -> Result<&[u8]> {
        let slice = self
            .bytes
            .get(self.at..self.at + len)
            .ok_or("truncated module")?;
        self.at += len;
        Ok(slice)
    }

    fn u64(&mut self) -> Result<u64> {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                return Err("bad LEB128 number".into());
            }
        }
    }

    fn u32(&mut self) -> Result<u32> {
        u32::try_from(self.u64()?).map_err(|_| "number too large".into())
    }

    fn name(&mut self) -> Result<String> {
        let len = self.u32()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| "a name is not UTF-8".into())
    }

    fn limits(&mut self) -> Result<()> {
        let flags = self.byte()?;
        self.u64()?;
        if flags & 1 != 0 {
            self.u64()?;
        }
        Ok(())
    }
}

fn leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let b = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn name(out: &mut Vec<u8>, s: &str) {
    leb(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Short identifiers: a, b, …, Z, aa, ba, …
pub fn short_name(mut n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut s = String::new();
    loop {
        s.push(ALPHABET[n % ALPHABET.len()] as char);
        n /= ALPHABET.len();
        if n == 0 {
            return s;
        }
        n -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (module "env" (func (import "wbg" "long_import_name")) (memory (import "wbg" "mem") 1 2))
    /// with exports "keep_me" and "drop_me".
    fn sample() -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        // type section: one func type () -> ()
        m.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]);
        let mut imports = vec![2];
        name(&mut imports, "wbg");
        name(&mut imports, "long_import_name");
        imports.extend_from_slice(&[0, 0]);
        name(&mut imports, "wbg");
        name(&mut imports, "mem");
        imports.extend_from_slice(&[2, 1, 1, 2]);
        m.push(2);
        leb(&mut m, imports.len() as u64);
        m.extend_from_slice(&imports);
        let mut exports = vec![2];
        name(&mut exports, "keep_me");
        exports.extend_from_slice(&[0, 0]);
        name(&mut exports, "drop_me");
        exports.extend_from_slice(&[0, 0]);
        m.push(7);
        leb(&mut m, exports.len() as u64);
        m.extend_from_slice(&exports);
        m
    }

    #[test]
    fn a_module_round_trips_byte_for_byte() {
        let bytes = sample();
        assert_eq!(Module::parse(&bytes).unwrap().to_bytes(), bytes);
    }

    #[test]
    fn imports_are_renamed_and_exports_dropped_and_renamed() {
        let mut module = Module::parse(&sample()).unwrap();
        module
            .rename_imports(|i| {
                if i.name == "long_import_name" {
                    i.name = "a".into();
                }
            })
            .unwrap();
        let rename = BTreeMap::from([("keep_me".to_string(), "k".to_string())]);
        module.edit_exports(|e| e != "drop_me", &rename).unwrap();
        let again = Module::parse(&module.to_bytes()).unwrap();
        let imports = again.imports().unwrap();
        assert_eq!(imports[0].name, "a");
        assert_eq!(imports[1].name, "mem", "a memory import's limits survive");
        assert_eq!(again.exports().unwrap(), ["k"]);
    }

    #[test]
    fn short_names_are_distinct() {
        let names: std::collections::BTreeSet<_> = (0..3000).map(short_name).collect();
        assert_eq!(names.len(), 3000);
        assert_eq!(short_name(0), "a");
        assert_eq!(short_name(52), "aa");
    }

    #[test]
    fn garbage_is_refused() {
        assert!(Module::parse(b"nope").is_err());
        let mut truncated = sample();
        truncated.truncate(20);
        assert!(Module::parse(&truncated).is_err());
    }
}
