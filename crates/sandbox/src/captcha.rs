//! Captchas: a short text drawn into a small grayscale PNG (with noise), sent as base64.
//!
//! A captcha belongs to one login challenge; fetching a new one replaces the earlier one, any
//! login-challenge attempt uses it up (right or wrong), and it expires. Answers compare
//! case-insensitively and in constant time. The text is drawn with a built-in 5×7 bitmap font
//! (A–Z, 0–9), scaled and jittered; the PNG encoding is the `png` crate's.
//!
//! ```
//! use login_sandbox::captcha::{CaptchaPolicy, Captcha};
//! use login_sandbox::time::Timestamp;
//!
//! let policy = CaptchaPolicy { fixed: Some("ABCD".into()), ..CaptchaPolicy::default() };
//! let (captcha, png) = Captcha::generate(&policy, Timestamp(0)).unwrap();
//! assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
//! assert!(captcha.check(&captcha.id.clone(), "abcd", Timestamp(1)));
//! assert!(!captcha.check(&captcha.id.clone(), "ABCE", Timestamp(1)));
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::secret::{Secret, ct_eq};
use crate::time::Timestamp;
use crate::tokens::{opaque_token, random_bytes};

/// How captchas are made.
#[derive(Clone, Debug)]
pub struct CaptchaPolicy {
    /// Lifetime of one captcha (default 2 minutes).
    pub lifetime: Duration,
    /// Characters in a random answer (default 5).
    pub length: usize,
    /// Test mode: every answer is this text.
    pub fixed: Option<String>,
}

impl Default for CaptchaPolicy {
    fn default() -> Self {
        CaptchaPolicy {
            lifetime: Duration::from_secs(120),
            length: 5,
            fixed: None,
        }
    }
}

/// An issued captcha: its id, the answer and its expiry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Captcha {
    /// The `captchaId` the client sends back.
    pub id: String,
    /// The text in the image.
    pub answer: Secret,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// The answer alphabet: no look-alikes (no I, O, 0, 1).
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

impl Captcha {
    /// A new captcha and its PNG image.
    ///
    /// # Errors
    /// When PNG encoding fails (it does not for these sizes).
    pub fn generate(
        policy: &CaptchaPolicy,
        now: Timestamp,
    ) -> Result<(Captcha, Vec<u8>), png::EncodingError> {
        let answer = match &policy.fixed {
            Some(text) => text.clone(),
            None => (0..policy.length)
                .map(|_| char::from(ALPHABET[usize::from(random_bytes::<1>()[0]) % ALPHABET.len()]))
                .collect(),
        };
        let image = render_png(&answer)?;
        let captcha = Captcha {
            id: opaque_token().expose().to_owned(),
            answer: Secret::new(answer),
            expires_at: now.plus(policy.lifetime),
        };
        Ok((captcha, image))
    }

    /// Whether `id` and `answer` match and the captcha has not expired.
    pub fn check(&self, id: &str, answer: &str, now: Timestamp) -> bool {
        let id_ok = ct_eq(self.id.as_bytes(), id.as_bytes());
        let answer_ok = ct_eq(
            self.answer.expose().to_ascii_uppercase().as_bytes(),
            answer.trim().to_ascii_uppercase().as_bytes(),
        );
        id_ok & answer_ok & (now < self.expires_at)
    }
}

/// Glyph scale factor, cell width and image height in pixels.
const SCALE: usize = 4;
const CELL: usize = 6 * SCALE + 2;
const HEIGHT: usize = 7 * SCALE + 16;
const MARGIN: usize = 8;

/// Draws `text` into a grayscale PNG.
fn render_png(text: &str) -> Result<Vec<u8>, png::EncodingError> {
    let chars: Vec<char> = text.chars().collect();
    let width = MARGIN * 2 + CELL * chars.len().max(1);
    let noise = random_noise(width * HEIGHT + chars.len() + 16);
    let mut pixels: Vec<u8> = noise[..width * HEIGHT]
        .iter()
        .map(|n| 200 + n % 56)
        .collect();
    for (i, c) in chars.iter().enumerate() {
        let dy = usize::from(noise[width * HEIGHT + i] % 9);
        let glyph = glyph(*c);
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..5 {
                if bits & (0b10000 >> col) == 0 {
                    continue;
                }
                for sy in 0..SCALE {
                    for sx in 0..SCALE {
                        let x = MARGIN + i * CELL + col * SCALE + sx;
                        let y = 4 + dy + row * SCALE + sy;
                        pixels[y * width + x] = 40;
                    }
                }
            }
        }
    }
    // Two strike-through lines at random heights.
    let tail = &noise[width * HEIGHT + chars.len()..];
    for (k, seed) in tail.iter().take(2).enumerate() {
        let y0 = 8 + usize::from(*seed) % (HEIGHT - 16);
        for x in 0..width {
            let y = (y0 + (x / 7 + k) % 3).min(HEIGHT - 1);
            pixels[y * width + x] = 90;
        }
    }
    let mut out = Vec::new();
    {
        let width = u32::try_from(width).unwrap_or(u32::MAX);
        let height = u32::try_from(HEIGHT).unwrap_or(u32::MAX);
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(out)
}

fn random_noise(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    while out.len() < len {
        out.extend_from_slice(&random_bytes::<64>());
    }
    out.truncate(len);
    out
}

/// The 5×7 bitmap of `c` (rows top to bottom, bit 4 leftmost); a box for unknown characters.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        'A' => [
            0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001,
        ],
        'B' => [
            0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110,
        ],
        'C' => [
            0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110,
        ],
        'D' => [
            0b11110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11110,
        ],
        'E' => [
            0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111,
        ],
        'F' => [
            0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000,
        ],
        'G' => [
            0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111,
        ],
        'H' => [
            0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001,
        ],
        'I' => [
            0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110,
        ],
        'J' => [
            0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100,
        ],
        'K' => [
            0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001,
        ],
        'L' => [
            0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111,
        ],
        'M' => [
            0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001,
        ],
        'N' => [
            0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001,
        ],
        'O' => [
            0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110,
        ],
        'P' => [
            0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000,
        ],
        'Q' => [
            0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101,
        ],
        'R' => [
            0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001,
        ],
        'S' => [
            0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110,
        ],
        'T' => [
            0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100,
        ],
        'U' => [
            0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110,
        ],
        'V' => [
            0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100,
        ],
        'W' => [
            0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010,
        ],
        'X' => [
            0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001,
        ],
        'Y' => [
            0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0b00100,
        ],
        'Z' => [
            0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111,
        ],
        '0' => [
            0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110,
        ],
        '1' => [
            0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110,
        ],
        '2' => [
            0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111,
        ],
        '3' => [
            0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110,
        ],
        '4' => [
            0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010,
        ],
        '5' => [
            0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110,
        ],
        '6' => [
            0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110,
        ],
        '7' => [
            0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000,
        ],
        '8' => [
            0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110,
        ],
        '9' => [
            0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100,
        ],
        _ => [
            0b11111, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11111,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_decodes_with_the_expected_size() {
        let policy = CaptchaPolicy::default();
        let (captcha, png_bytes) = Captcha::generate(&policy, Timestamp(0)).unwrap();
        assert_eq!(captcha.answer.expose().len(), 5);
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.width as usize, MARGIN * 2 + CELL * 5);
        assert_eq!(info.height as usize, HEIGHT);
    }

    #[test]
    fn expired_captcha_is_refused() {
        let policy = CaptchaPolicy {
            fixed: Some("ABCD".into()),
            ..CaptchaPolicy::default()
        };
        let (c, _) = Captcha::generate(&policy, Timestamp(0)).unwrap();
        assert!(!c.check(&c.id.clone(), "ABCD", Timestamp(120_000)));
    }
}
