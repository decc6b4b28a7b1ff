//! Signing keys for export archives: ed25519, kept as one line of hex in
//! a file (`brig keygen` writes them): the secret key's 32-byte seed, the
//! public key's 32 bytes. Lines starting with `#` are comments.

use ed25519_dalek::{SigningKey, VerifyingKey};

use super::archive::{hex, unhex};

/// The 32 bytes of a key file's text.
fn bytes(text: &str, what: &str) -> Result<[u8; 32], String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'));
    line.and_then(unhex)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| format!("it is not {what}: one line of 64 hex digits, as `brig keygen` writes"))
}

pub fn secret(text: &str) -> Result<SigningKey, String> {
    Ok(SigningKey::from_bytes(&bytes(text, "a secret key")?))
}

pub fn public(text: &str) -> Result<VerifyingKey, String> {
    VerifyingKey::from_bytes(&bytes(text, "a public key")?).map_err(|_| "it is not an ed25519 public key".to_string())
}

/// A new key pair from `seed` (32 random bytes): the secret and the
/// public key files' text.
pub fn files(seed: [u8; 32]) -> (String, String) {
    let key = SigningKey::from_bytes(&seed);
    (
        format!("# brig export signing key: keep it secret\n{}\n", hex(&seed)),
        format!(
            "# brig export public key: give it to `brig import --verify`\n{}\n",
            hex(key.verifying_key().as_bytes())
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_read_back_and_others_are_refused() {
        let (s, p) = files([3u8; 32]);
        let key = secret(&s).expect("secret");
        assert_eq!(public(&p).expect("public"), key.verifying_key());
        assert!(secret("not hex").expect_err("bad").contains("one line of 64 hex digits"));
        assert!(public(&"ab".repeat(31)).is_err());
    }
}
