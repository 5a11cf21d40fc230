//! The encrypted file's byte format: sealing a plaintext under a key and
//! opening it again, telling a wrong key apart from damaged bytes.
//!
//! Layout (version 1):
//!
//! ```text
//! magic "SWBSECR\0" (8) | version 1 (1) | key check (16) | nonce (24) | ciphertext + tag
//! ```
//!
//! The cipher is XChaCha20-Poly1305: its 24-byte nonce is large enough to
//! draw at random for every write without tracking a counter. The header
//! (magic, version, key check) is the associated data, so it cannot be
//! altered without the tag failing. The key check is a truncated SHA-256 of
//! the key under a domain label: an AEAD alone cannot say whether a failure
//! means "another key" or "changed bytes", and the user's remedy differs.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Length of a key in bytes.
pub(crate) const KEY_LEN: usize = 32;
const MAGIC: &[u8; 8] = b"SWBSECR\0";
const VERSION: u8 = 1;
const KEY_CHECK_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = MAGIC.len() + 1 + KEY_CHECK_LEN;
const TAG_LEN: usize = 16;
/// Domain label so the check value can never equal any other hash of the key.
const KEY_CHECK_LABEL: &[u8] = b"switchboard secret-store key check v1\0";

/// A 256-bit key, zeroed on drop.
pub(crate) type Key = Zeroizing<[u8; KEY_LEN]>;

/// Why a sealed file could not be opened; each maps to a distinct remedy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// The bytes are not one of our files, or were cut short.
    Malformed(&'static str),
    /// Written with another key.
    WrongKey,
    /// The right key, but the bytes were changed.
    Tampered,
}

/// Draws a fresh random key.
pub(crate) fn generate_key() -> std::io::Result<Key> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    random_fill(key.as_mut_slice())?;
    Ok(key)
}

fn random_fill(buf: &mut [u8]) -> std::io::Result<()> {
    getrandom::fill(buf)
        .map_err(|err| std::io::Error::other(format!("the OS random source failed: {err}")))
}

fn key_check(key: &Key) -> [u8; KEY_CHECK_LEN] {
    let mut hasher = Sha256::new();
    hasher.update(KEY_CHECK_LABEL);
    hasher.update(key.as_slice());
    let digest = hasher.finalize();
    let mut check = [0u8; KEY_CHECK_LEN];
    check.copy_from_slice(&digest[..KEY_CHECK_LEN]);
    check
}

fn cipher(key: &Key) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new((&**key).into())
}

/// Encrypts `plaintext` under `key` with a fresh random nonce.
pub(crate) fn seal(key: &Key, plaintext: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    random_fill(&mut nonce)?;
    let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&key_check(key));
    let ciphertext = cipher(key)
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &out[..HEADER_LEN],
            },
        )
        // Encryption fails only for messages beyond ChaCha's 256 GiB limit.
        .map_err(|_| std::io::Error::other("the secrets are too large to encrypt"))?;
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Decrypts bytes written by [`seal`].
pub(crate) fn open(key: &Key, bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(OpenError::Malformed("not a Switchboard secrets file"));
    }
    if bytes.len() < HEADER_LEN + NONCE_LEN + TAG_LEN {
        return Err(OpenError::Malformed("the file is truncated"));
    }
    if bytes[MAGIC.len()] != VERSION {
        return Err(OpenError::Malformed(
            "written by another version of Switchboard, in a format this one cannot read",
        ));
    }
    let (header, rest) = bytes.split_at(HEADER_LEN);
    if header[MAGIC.len() + 1..] != key_check(key) {
        return Err(OpenError::WrongKey);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let mut nonce_bytes = [0u8; NONCE_LEN];
    nonce_bytes.copy_from_slice(nonce);
    cipher(key)
        .decrypt(
            &XNonce::from(nonce_bytes),
            Payload {
                msg: ciphertext,
                aad: header,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| OpenError::Tampered)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn seal_then_open_round_trips_with_fresh_nonces() {
        let key = generate_key().unwrap();
        let a = seal(&key, b"{\"a\":1}").unwrap();
        let b = seal(&key, b"{\"a\":1}").unwrap();
        assert_ne!(a, b, "each write must draw a new nonce");
        assert_eq!(open(&key, &a).unwrap().as_slice(), b"{\"a\":1}");
        assert_eq!(open(&key, &b).unwrap().as_slice(), b"{\"a\":1}");
    }

    #[test]
    fn wrong_key_and_damage_are_told_apart() {
        let key = generate_key().unwrap();
        let other = generate_key().unwrap();
        let sealed = seal(&key, b"payload").unwrap();
        assert_eq!(open(&other, &sealed), Err(OpenError::WrongKey));

        // Every single-byte flip past the key check is caught by the tag,
        // and a flip inside the header is never silently accepted.
        for i in 0..sealed.len() {
            let mut damaged = sealed.clone();
            damaged[i] ^= 0x01;
            let err = open(&key, &damaged).unwrap_err();
            if i >= HEADER_LEN {
                assert_eq!(err, OpenError::Tampered, "byte {i}");
            }
        }
        for len in [0, 3, HEADER_LEN, HEADER_LEN + NONCE_LEN + TAG_LEN - 1] {
            assert!(
                matches!(open(&key, &sealed[..len]), Err(OpenError::Malformed(_))),
                "length {len}"
            );
        }
        let cut = &sealed[..sealed.len() - 1];
        assert_eq!(open(&key, cut), Err(OpenError::Tampered));
    }
}
