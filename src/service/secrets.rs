//! Randomness and the box's master key. The master key lives in `<state>/master.key` (0600),
//! outside the database, so a copied database holds no usable secret; backups carry it.

use std::io::Write;
use std::path::Path;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use super::{Result, ServiceError};
use crate::domain::ids::Secret;

pub const MASTER_KEY_FILE: &str = "master.key";

pub struct Secrets {
    rng: SystemRandom,
    master: LessSafeKey,
    /// HMAC key derived from the master key, for secrets too small to hash bare (reset codes).
    mac: ring::hmac::Key,
}

impl Secrets {
    pub fn load_or_create(state_dir: &Path) -> Result<Self> {
        let path = state_dir.join(MASTER_KEY_FILE);
        let rng = SystemRandom::new();
        let bytes = match std::fs::read(&path) {
            Ok(b) if b.len() == 32 => b,
            Ok(_) => {
                return Err(ServiceError::Internal(format!(
                    "{} is not a 32-byte key",
                    path.display()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut k = vec![0u8; 32];
                rng.fill(&mut k)
                    .map_err(|_| ServiceError::Internal("no randomness".into()))?;
                write_private(&path, &k)
                    .map_err(|e| ServiceError::Internal(format!("{}: {e}", path.display())))?;
                k
            }
            Err(e) => return Err(ServiceError::Internal(format!("{}: {e}", path.display()))),
        };
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| ServiceError::Internal("bad master key".into()))?;
        let derive = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &bytes);
        let mac_bytes = ring::hmac::sign(&derive, b"gatehouse-mac-key-v1");
        Ok(Self {
            rng,
            master: LessSafeKey::new(key),
            mac: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, mac_bytes.as_ref()),
        })
    }

    /// HMAC-SHA256 under the box's secret of `context` ‖ 0 ‖ `msg`: a copied database alone
    /// cannot be searched for a 6-digit code.
    pub fn mac(&self, context: &[u8], msg: &[u8]) -> [u8; 32] {
        let mut ctx = ring::hmac::Context::with_key(&self.mac);
        ctx.update(context);
        ctx.update(&[0]);
        ctx.update(msg);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    pub fn fill(&self, out: &mut [u8]) {
        // SystemRandom only fails when the OS has no entropy source at all; nothing sensible
        // can continue without one.
        self.rng.fill(out).expect("operating system randomness");
    }

    pub fn salt(&self) -> [u8; 16] {
        let mut s = [0u8; 16];
        self.fill(&mut s);
        s
    }

    /// `bytes` random bytes as lower-case hex.
    pub fn hex_token(&self, bytes: usize) -> Secret {
        let mut b = vec![0u8; bytes];
        self.fill(&mut b);
        Secret(hex::encode(b))
    }

    /// `len` random characters from [A-Za-z0-9] (Codelayer's 32-character keys).
    pub fn alnum(&self, len: usize) -> Secret {
        const SET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut out = String::with_capacity(len);
        let mut buf = [0u8; 64];
        while out.len() < len {
            self.fill(&mut buf);
            // 62 * 4 = 248: reject bytes >= 248 to keep the distribution uniform.
            for &b in buf.iter().filter(|&&b| b < 248) {
                if out.len() == len {
                    break;
                }
                out.push(SET[(b % 62) as usize] as char);
            }
        }
        Secret(out)
    }

    /// Decimal digits (reset codes).
    pub fn digits(&self, len: usize) -> Secret {
        let mut out = String::with_capacity(len);
        let mut buf = [0u8; 32];
        while out.len() < len {
            self.fill(&mut buf);
            for &b in buf.iter().filter(|&&b| b < 250) {
                if out.len() == len {
                    break;
                }
                out.push((b'0' + b % 10) as char);
            }
        }
        Secret(out)
    }

    /// AES-256-GCM under the master key: nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        self.fill(&mut nonce);
        // One buffer of the final size: nonce ‖ ciphertext ‖ tag (growing it costs a Daily
        // Activity write reallocations, issue 15's ninth stop).
        let tag_len = self.master.algorithm().tag_len();
        let mut out = Vec::with_capacity(NONCE_LEN + plain.len() + tag_len);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let tag = self
            .master
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut out[NONCE_LEN..],
            )
            .expect("AES-GCM seal of a small buffer");
        out.extend_from_slice(tag.as_ref());
        out
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN + 16 {
            return None;
        }
        let (n, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(n).ok()?;
        let mut buf = rest.to_vec();
        let plain = self
            .master
            .open_in_place(nonce, Aad::from(context), &mut buf)
            .ok()?;
        Some(plain.to_vec())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout is nonce ‖ ciphertext ‖ tag, so values sealed before the one-buffer seal
    /// (ciphertext with its tag appended, then the nonce put in front) still open, and a
    /// sealed value opens only in its own context and unaltered.
    #[test]
    fn sealed_values_open_in_their_context_and_match_the_old_layout() {
        let dir = tempfile::tempdir().unwrap();
        let s = Secrets::load_or_create(dir.path()).unwrap();
        for plain in [&b""[..], b"x", &[7u8; 1000][..]] {
            let sealed = s.seal(plain, b"ctx");
            assert_eq!(sealed.len(), NONCE_LEN + plain.len() + 16);
            assert_eq!(s.open(&sealed, b"ctx").as_deref(), Some(plain));
            assert_eq!(s.open(&sealed, b"other"), None);
            let mut bad = sealed.clone();
            *bad.last_mut().unwrap() ^= 1;
            assert_eq!(s.open(&bad, b"ctx"), None);

            // The old way of sealing, by hand.
            let nonce = [9u8; NONCE_LEN];
            let mut buf = plain.to_vec();
            s.master
                .seal_in_place_append_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(&b"ctx"[..]),
                    &mut buf,
                )
                .unwrap();
            let old = [&nonce[..], &buf].concat();
            assert_eq!(s.open(&old, b"ctx").as_deref(), Some(plain));
        }
    }
}
