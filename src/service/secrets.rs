//! Randomness and the box's master key. The master key lives in `<state>/master.key` (0600),
//! outside the database, so a copied database holds no usable secret; backups carry it.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use super::{Result, ServiceError};
use crate::domain::ids::Secret;

pub const MASTER_KEY_FILE: &str = "master.key";

pub struct Secrets {
    rng: SystemRandom,
    nonces: Mutex<NoncePool>,
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
            nonces: Mutex::new(NoncePool::empty()),
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

    /// A random nonce for `seal`, from the pool.
    fn nonce(&self) -> [u8; NONCE_LEN] {
        let mut pool = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        pool.take(|buf| self.fill(buf))
    }

    /// AES-256-GCM under the master key: nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> Vec<u8> {
        let nonce = self.nonce();
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

/// Random nonces drawn from the OS a page at a time. Every Daily Activity write seals its stored
/// answer, and a `getrandom` call per seal was 1.5 % of a Clock In's CPU (issue 15). The nonces
/// are as random as before (96 bits from the OS each, never a counter, so nothing has to survive
/// a restart); each is handed out once, as the bytes it came from are zeroed and passed.
struct NoncePool {
    bytes: [u8; NONCE_POOL],
    next: usize,
}

const NONCE_POOL: usize = NONCE_LEN * 341;

impl NoncePool {
    fn empty() -> Self {
        Self {
            bytes: [0; NONCE_POOL],
            next: NONCE_POOL,
        }
    }

    /// The next nonce; `refill` fills the pool from the OS when it is used up.
    fn take(&mut self, refill: impl FnOnce(&mut [u8])) -> [u8; NONCE_LEN] {
        if self.next + NONCE_LEN > NONCE_POOL {
            refill(&mut self.bytes);
            self.next = 0;
        }
        let slot = &mut self.bytes[self.next..self.next + NONCE_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(slot);
        slot.fill(0);
        self.next += NONCE_LEN;
        nonce
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

    /// The pool hands out every nonce once, refills from the OS only when used up (one call
    /// per 341 nonces), and never repeats across refills.
    #[test]
    fn pooled_nonces_are_fresh_and_refilled_only_when_used_up() {
        let dir = tempfile::tempdir().unwrap();
        let s = Secrets::load_or_create(dir.path()).unwrap();
        let mut pool = NoncePool::empty();
        let mut refills = 0;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..(3 * 341 + 1) {
            let n = pool.take(|b| {
                refills += 1;
                s.fill(b)
            });
            assert!(seen.insert(n), "a nonce came out twice");
        }
        assert_eq!(refills, 4);
        // Consecutive seals of the same value differ in their nonce and so in their bytes.
        let (a, b) = (s.seal(b"same", b"ctx"), s.seal(b"same", b"ctx"));
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
        assert_ne!(a, b);
    }

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
