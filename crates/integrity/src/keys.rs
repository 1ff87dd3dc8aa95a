//! Ed25519 keys: Multikey encoding, did:key verification methods, the secret key file.

use ed25519_dalek::{SigningKey, VerifyingKey};
use std::fs;
use std::io::Write;
use std::path::Path;

/// Multicodec prefix of an Ed25519 public key (0xed, varint-encoded).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// Multicodec prefix of an Ed25519 private key (0x1300, varint-encoded).
const ED25519_PRIV: [u8; 2] = [0x80, 0x26];

/// Errors about keys and key files.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The operating system gave no random bytes for a new key.
    #[error("no random source for a new key: {0}")]
    NoRandomness(String),
    /// A Multikey string that is not an Ed25519 key in base58btc.
    #[error("not an Ed25519 Multikey (z6Mk…): {0}")]
    BadMultikey(String),
    /// A verification method that is not `did:key:z6Mk…#z6Mk…`.
    #[error("not a did:key Ed25519 verification method: {0}")]
    BadVerificationMethod(String),
    /// The secret key file is missing or unreadable.
    #[error("cannot read secret key file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The secret key file can be read by others than its owner.
    #[error(
        "secret key file {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    Permissions {
        /// The file.
        path: String,
        /// Its mode bits.
        mode: u32,
    },
    /// Writing the secret key file failed.
    #[error("cannot write secret key file {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// `z` + base58btc(multicodec prefix ‖ 32 bytes).
fn encode_multikey(prefix: [u8; 2], key: &[u8; 32]) -> String {
    let mut bytes = prefix.to_vec();
    bytes.extend_from_slice(key);
    format!("z{}", base58::encode(&bytes))
}

/// The 32 key bytes of a Multikey with the given multicodec prefix.
fn decode_multikey(text: &str, prefix: [u8; 2]) -> Option<[u8; 32]> {
    let bytes = base58::decode(text.strip_prefix('z')?)?;
    bytes.strip_prefix(&prefix[..])?.try_into().ok()
}

/// Base58 with the Bitcoin alphabet (the `z` multibase of Multikeys and
/// `proofValue`s), byte for byte what the `bs58` crate gives, computed on
/// 29-bit limbs (58⁵ and 2³² at a time) rather than digit by digit: a
/// signature's 88 digits cost a few hundred limb steps instead of thousands.
///
/// Why not the `bs58` crate, which the project would otherwise use: with it,
/// signing a record cost 1.46× a raw Ed25519 signature and verifying one
/// 1.40× a raw verification (`cargo bench --profile dev --bench integrity`,
/// `sign/record_sign` and `verify/record_verify` over `raw_ed25519_*` in the
/// same run), above the targets of 1.3× and 1.2×; with this module, 1.23×
/// and 1.17×. The `base58` group of that bench shows both side by side on a
/// `proofValue`. The tests below check it against `bs58` (a dev-dependency
/// only) on thousands of random inputs, valid and invalid.
pub mod base58 {
    const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    /// 58⁵, the largest power of 58 below 2³².
    const LIMB: u64 = 656_356_768;
    /// Digit value of each ASCII byte, 0xFF when it is not a digit.
    const DIGITS: [u8; 128] = {
        let mut table = [0xFF; 128];
        let mut i = 0;
        while i < ALPHABET.len() {
            table[ALPHABET[i] as usize] = i as u8;
            i += 1;
        }
        table
    };

    /// Base58 of `bytes`: one `1` per leading zero byte, then the digits of the number.
    pub fn encode(bytes: &[u8]) -> String {
        let zeros = bytes.iter().take_while(|&&b| b == 0).count();
        let rest = &bytes[zeros..];
        // The number in base 58⁵, least significant limb first.
        let mut limbs: Vec<u32> = Vec::with_capacity(rest.len() * 8 / 29 + 1);
        let head = rest.len() % 4;
        let chunks = std::iter::once(&rest[..head])
            .filter(|c| !c.is_empty())
            .chain(rest[head..].chunks_exact(4));
        for chunk in chunks {
            let shift = 8 * chunk.len();
            // Invariant: carry < 2^shift, so every step stays below 2^62.
            let mut carry = chunk.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
            for limb in &mut limbs {
                let acc = (u64::from(*limb) << shift) + carry;
                *limb = (acc % LIMB) as u32;
                carry = acc / LIMB;
            }
            while carry > 0 {
                limbs.push((carry % LIMB) as u32);
                carry /= LIMB;
            }
        }
        let mut out = String::with_capacity(zeros + limbs.len() * 5);
        out.extend(std::iter::repeat_n('1', zeros));
        for (i, &limb) in limbs.iter().rev().enumerate() {
            let mut digits = [0u8; 5];
            let mut v = limb;
            for d in digits.iter_mut().rev() {
                *d = ALPHABET[(v % 58) as usize];
                v /= 58;
            }
            // The most significant limb is written without its leading zeros.
            let skip = if i == 0 {
                digits.iter().take_while(|&&d| d == b'1').count()
            } else {
                0
            };
            out.extend(digits[skip..].iter().map(|&d| char::from(d)));
        }
        out
    }

    /// The bytes of a base58 string: one zero byte per leading `1`, then
    /// the number's bytes; `None` when a character is not a base58 digit.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        let input = text.as_bytes();
        let ones = input.iter().take_while(|&&c| c == b'1').count();
        let rest = &input[ones..];
        // The number in base 2³², least significant limb first.
        let mut limbs: Vec<u32> = Vec::with_capacity(rest.len() * 6 / 32 + 1);
        let head = rest.len() % 5;
        let chunks = std::iter::once(&rest[..head])
            .filter(|c| !c.is_empty())
            .chain(rest[head..].chunks_exact(5));
        for chunk in chunks {
            let mut carry = 0u64;
            for &c in chunk {
                let digit = *DIGITS.get(usize::from(c))?;
                if digit == 0xFF {
                    return None;
                }
                carry = carry * 58 + u64::from(digit);
            }
            let factor = 58u64.pow(chunk.len() as u32);
            for limb in &mut limbs {
                let acc = u64::from(*limb) * factor + carry;
                *limb = acc as u32;
                carry = acc >> 32;
            }
            while carry > 0 {
                limbs.push(carry as u32);
                carry >>= 32;
            }
        }
        let mut out = vec![0u8; ones];
        for (i, limb) in limbs.iter().rev().enumerate() {
            let bytes = limb.to_be_bytes();
            // The most significant limb is written without its leading zeros.
            let skip = if i == 0 {
                bytes.iter().take_while(|&&b| b == 0).count()
            } else {
                0
            };
            out.extend_from_slice(&bytes[skip..]);
        }
        Some(out)
    }
}

/// Encodes a public key as Multikey: `z` + base58btc(0xed01 ‖ key).
pub fn public_multikey(key: &VerifyingKey) -> String {
    encode_multikey(ED25519_PUB, key.as_bytes())
}

/// Decodes a Multikey Ed25519 public key.
pub fn parse_public_multikey(multikey: &str) -> Result<VerifyingKey, KeyError> {
    let bad = || KeyError::BadMultikey(multikey.to_owned());
    let raw = decode_multikey(multikey, ED25519_PUB).ok_or_else(bad)?;
    VerifyingKey::from_bytes(&raw).map_err(|_| bad())
}

/// Encodes a secret key as Multikey: `z` + base58btc(0x8026 ‖ seed).
pub fn secret_multikey(key: &SigningKey) -> String {
    encode_multikey(ED25519_PRIV, &key.to_bytes())
}

/// Decodes a Multikey Ed25519 secret key.
pub fn parse_secret_multikey(multikey: &str) -> Result<SigningKey, KeyError> {
    decode_multikey(multikey.trim(), ED25519_PRIV)
        .map(|seed| SigningKey::from_bytes(&seed))
        .ok_or_else(|| KeyError::BadMultikey("(secret key)".to_owned()))
}

/// The did:key verification method of a public key: `did:key:z6Mk…#z6Mk…`.
pub fn verification_method(key: &VerifyingKey) -> String {
    let mk = public_multikey(key);
    format!("did:key:{mk}#{mk}")
}

/// The public key named by a did:key verification method.
pub fn parse_verification_method(vm: &str) -> Result<VerifyingKey, KeyError> {
    let bad = || KeyError::BadVerificationMethod(vm.to_owned());
    let rest = vm.strip_prefix("did:key:").ok_or_else(bad)?;
    let (did, fragment) = rest.split_once('#').ok_or_else(bad)?;
    if did != fragment {
        return Err(bad());
    }
    parse_public_multikey(did).map_err(|_| bad())
}

/// Generates a new key from the operating system's random source.
pub fn generate() -> Result<SigningKey, KeyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::NoRandomness(e.to_string()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Writes a secret key file readable by its owner only (mode 0600), never overwriting one.
pub fn write_secret_key(path: &Path, key: &SigningKey) -> Result<(), KeyError> {
    let err = |source| KeyError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(err)?;
    writeln!(file, "{}", secret_multikey(key)).map_err(err)?;
    file.sync_all().map_err(err)
}

/// Reads a secret key file, refusing one that others than its owner can read.
pub fn read_secret_key(path: &Path) -> Result<SigningKey, KeyError> {
    let read_err = |source| KeyError::Read {
        path: path.display().to_string(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).map_err(read_err)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions {
                path: path.display().to_string(),
                mode: mode & 0o777,
            });
        }
    }
    let text = fs::read_to_string(path).map_err(read_err)?;
    parse_secret_multikey(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multikey_round_trip() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let mk = public_multikey(&key.verifying_key());
        assert!(mk.starts_with("z6Mk"), "{mk}");
        assert_eq!(parse_public_multikey(&mk).unwrap(), key.verifying_key());
        let vm = verification_method(&key.verifying_key());
        assert_eq!(parse_verification_method(&vm).unwrap(), key.verifying_key());
        let secret = secret_multikey(&key);
        assert_eq!(
            parse_secret_multikey(&secret).unwrap().to_bytes(),
            key.to_bytes()
        );
        assert!(parse_public_multikey("z6MkNotAKey").is_err());
        assert!(parse_verification_method(&format!("did:key:{mk}#other")).is_err());
    }

    /// A small deterministic generator, enough to vary test inputs.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn base58_matches_bs58_byte_for_byte() {
        let mut state = 0x9E37_79B9_7F4A_7C15;
        for case in 0..3000 {
            let len = case % 80;
            let mut bytes: Vec<u8> = (0..len).map(|_| xorshift(&mut state) as u8).collect();
            // Leading zero bytes, and some all-zero and all-0xFF inputs.
            let zeros = (xorshift(&mut state) % 4) as usize;
            for b in bytes.iter_mut().take(zeros) {
                *b = 0;
            }
            if case % 97 == 0 {
                bytes.fill(if case % 2 == 0 { 0 } else { 0xFF });
            }
            let expected = bs58::encode(&bytes).into_string();
            assert_eq!(base58::encode(&bytes), expected, "{bytes:?}");
            assert_eq!(base58::decode(&expected), Some(bytes));
        }
    }

    #[test]
    fn base58_decodes_what_bs58_decodes_and_refuses_the_rest() {
        let alphabet: Vec<char> =
            "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0OIl+é"
                .chars()
                .collect();
        let mut state = 0x2545_F491_4F6C_DD1D;
        for case in 0..3000 {
            let len = case % 100;
            let valid_only = case % 3 != 0;
            let range = if valid_only {
                58
            } else {
                alphabet.len() as u64
            };
            let text: String = (0..len)
                .map(|_| alphabet[(xorshift(&mut state) % range) as usize])
                .collect();
            let expected = bs58::decode(&text).into_vec().ok();
            assert_eq!(base58::decode(&text), expected, "{text:?}");
        }
    }

    #[test]
    fn secret_key_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let key = SigningKey::from_bytes(&[9u8; 32]);
        write_secret_key(&path, &key).unwrap();
        assert_eq!(read_secret_key(&path).unwrap().to_bytes(), key.to_bytes());
        assert!(write_secret_key(&path, &key).is_err(), "never overwrites");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let err = read_secret_key(&path).unwrap_err();
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
    }
}
