//! Real files for the attachment tests, made in code: a PNG the browser
//! decodes and a WAV it plays, so the server's content checks see genuine
//! bytes.

/// A `width`×`height` RGB gradient as a PNG (stored, uncompressed: one
/// deflate block, so at most about 21,000 pixels).
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut pixels = Vec::new();
    for y in 0..height {
        pixels.push(0); // no filter
        for x in 0..width {
            pixels.extend([
                (40 + x * 200 / width) as u8,
                (90 + y * 120 / height) as u8,
                200,
            ]);
        }
    }
    let stored = u16::try_from(pixels.len()).expect("one stored block");
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend(stored.to_le_bytes());
    zlib.extend((!stored).to_le_bytes());
    zlib.extend(&pixels);
    zlib.extend(adler32(&pixels).to_be_bytes());
    let mut header = Vec::new();
    header.extend(width.to_be_bytes());
    header.extend(height.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", &header), (b"IDAT", &zlib), (b"IEND", &Vec::new())] {
        png.extend((data.len() as u32).to_be_bytes());
        let mut typed = kind.to_vec();
        typed.extend(data);
        png.extend(&typed);
        png.extend(crc32(&typed).to_be_bytes());
    }
    png
}

/// `seconds` of a 440 Hz tone, 8 kHz mono 16-bit PCM, as a WAV file.
pub fn wav(seconds: f32) -> Vec<u8> {
    let rate = 8000u32;
    let samples: Vec<i16> = (0..(rate as f32 * seconds) as u32)
        .map(|i| ((i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 8000.0) as i16)
        .collect();
    let data = (samples.len() * 2) as u32;
    let mut wav = b"RIFF".to_vec();
    wav.extend((36 + data).to_le_bytes());
    wav.extend(b"WAVEfmt ");
    wav.extend(16u32.to_le_bytes());
    wav.extend(1u16.to_le_bytes()); // PCM
    wav.extend(1u16.to_le_bytes()); // mono
    wav.extend(rate.to_le_bytes());
    wav.extend((rate * 2).to_le_bytes());
    wav.extend(2u16.to_le_bytes());
    wav.extend(16u16.to_le_bytes());
    wav.extend(b"data");
    wav.extend(data.to_le_bytes());
    for sample in samples {
        wav.extend(sample.to_le_bytes());
    }
    wav
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}
