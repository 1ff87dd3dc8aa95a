//! One Ed25519 verdict per signature, whether it is checked alone or in a batch.
//!
//! ed25519-dalek checks a signature `(R, s)` of message `M` by key `A` alone
//! with the *cofactorless* equation `[s]B = R + [k]A` (`k = SHA-512(R ‖ A ‖ M)`),
//! comparing encodings, so `R` must also be canonically encoded; its
//! `verify_batch` checks `Σ zᵢ(Rᵢ + [kᵢ]Aᵢ − [sᵢ]B) = 0` with 128-bit
//! coefficients `zᵢ` drawn from a hash of the whole batch, on decompressed
//! points, also cofactorless. Write each signature's defect
//! `Dᵢ = Rᵢ + [kᵢ]Aᵢ − [sᵢ]B` as a part `Pᵢ` in the prime-order subgroup
//! plus a part `Tᵢ` in the 8-torsion. Only the key holder can make a
//! signature with `Pᵢ = 0` and `Tᵢ ≠ 0` (a small-order point added to `R`, or
//! a key with a torsion component): alone it fails, in a batch it passes
//! whenever `Σ zᵢTᵢ = 0`, which depends on the coefficients, hence on the
//! other members of the page. And a non-canonical encoding of a good `R`
//! passes the batch, never alone. Two nodes could then disagree on a record
//! (see "Taming the many EdDSAs", Chalkias et al. 2020, and Zcash's ZIP 215).
//!
//! So that both paths accept exactly the same set, whatever the page:
//!
//! - [`screen`], on both paths, refuses what either path could treat
//!   differently and no honest signer produces: `s ≥ ℓ`, a non-canonical
//!   encoding of `R` or `A`, and a weak (small-order) key, with which
//!   anyone could sign. These are byte comparisons and three doublings.
//! - [`verify`], alone, uses the *cofactored* equation `[8]Dᵢ = 0`, that is
//!   `Pᵢ = 0` (RFC 8032 allows either equation; ZIP 215 mandates this one
//!   for the same reason). Any signature ed25519-dalek's own `verify`
//!   accepts with a canonical non-weak key has `Dᵢ = 0`, so it still passes:
//!   honest signatures of every implementation (Digital Bazaar's included),
//!   whose `R = [r]B` has no torsion part.
//! - [`verify_batch`] screens each, then runs ed25519-dalek's batch: when it
//!   holds, `Σ zᵢPᵢ = −Σ zᵢTᵢ` is both in the prime-order subgroup and in
//!   the torsion, so both sides are 0, and `Σ zᵢPᵢ = 0` with some `Pᵢ ≠ 0`
//!   happens with probability about 2⁻¹²⁸ over coefficients the signer
//!   cannot choose: every `Pᵢ = 0`, each passes [`verify`]. When the batch
//!   fails (a bad signature, or a crafted torsion part whose `zᵢTᵢ` did not
//!   cancel), the members are checked one by one with [`verify`]. Either
//!   way the answer is "every member passes [`verify`]", deterministically.
//!
//! A torsion component of a (non-weak) key needs no check: `[8]` removes it
//! from the single equation, and the argument above holds for any `Tᵢ`.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha512};

/// Whether 32 bytes are the canonical encoding of a field element `y < p`
/// with its sign bit, as RFC 8032 requires: `y < 2²⁵⁵ − 19`, and no sign bit
/// when `x = 0` (`y = 1` or `y = p − 1`). Whether it is a point is not checked.
pub(crate) fn is_canonical_encoding(bytes: &[u8; 32]) -> bool {
    let sign = bytes[31] & 0x80 != 0;
    let mut y = *bytes;
    y[31] &= 0x7F;
    let top_all_ones = y[1..31].iter().all(|&b| b == 0xFF) && y[31] == 0x7F;
    // p = 2²⁵⁵ − 19 is ED FF … FF 7F little-endian.
    if top_all_ones && y[0] >= 0xED {
        return false;
    }
    let is_one = y[0] == 1 && y[1..].iter().all(|&b| b == 0);
    let is_minus_one = top_all_ones && y[0] == 0xEC;
    !(sign && (is_one || is_minus_one))
}

/// What both paths refuse before any equation: `s ≥ ℓ`, `R` or `A` not
/// canonically encoded, a weak key. `Some(s)` when the signature may be checked.
pub(crate) fn screen(key: &VerifyingKey, signature: &Signature) -> Option<Scalar> {
    if !is_canonical_encoding(signature.r_bytes())
        || !is_canonical_encoding(key.as_bytes())
        || key.is_weak()
    {
        return None;
    }
    Scalar::from_canonical_bytes(*signature.s_bytes()).into()
}

/// Checks one signature: [`screen`], then the cofactored equation
/// `[8](R + [k]A − [s]B) = 0`.
pub(crate) fn verify(key: &VerifyingKey, message: &[u8], signature: &Signature) -> bool {
    let Some(s) = screen(key, signature) else {
        return false;
    };
    let Some(r) = CompressedEdwardsY(*signature.r_bytes()).decompress() else {
        return false;
    };
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(signature.r_bytes())
            .chain_update(key.as_bytes())
            .chain_update(message),
    );
    // [s]B − [k]A: what R is when there is no torsion.
    let expected = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &(-key.to_edwards()), &s);
    (r - expected).mul_by_cofactor().is_identity()
}

/// Checks signatures together: `true` exactly when every one passes
/// [`verify`] (see the module's documentation for why that is so).
pub(crate) fn verify_batch(
    keys: &[VerifyingKey],
    messages: &[&[u8]],
    signatures: &[Signature],
) -> bool {
    if !keys
        .iter()
        .zip(signatures)
        .all(|(k, s)| screen(k, s).is_some())
    {
        return false;
    }
    ed25519_dalek::verify_batch(messages, signatures, keys).is_ok()
        || keys
            .iter()
            .zip(messages)
            .zip(signatures)
            .all(|((k, m), s)| verify(k, m, s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey, Verifier};

    /// A point of order 8.
    fn torsion() -> EdwardsPoint {
        let bytes: [u8; 32] = [
            0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef,
            0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88,
            0x6d, 0x53, 0xfc, 0x05,
        ];
        let t = CompressedEdwardsY(bytes).decompress().unwrap();
        assert!(t.is_small_order() && !(t + t + t + t).is_identity());
        t
    }

    fn hram(r: &[u8; 32], a: &[u8; 32], m: &[u8]) -> Scalar {
        Scalar::from_hash(
            Sha512::new()
                .chain_update(r)
                .chain_update(a)
                .chain_update(m),
        )
    }

    /// A signature by the holder of `a` (whose key encodes as `a_bytes`)
    /// with `R` encoded as `r_bytes`, for a nonce point `[r]B + extra`.
    fn craft(a: Scalar, a_bytes: &[u8; 32], r: Scalar, r_bytes: [u8; 32], m: &[u8]) -> Signature {
        let s = r + hram(&r_bytes, a_bytes, m) * a;
        Signature::from_components(r_bytes, s.to_bytes())
    }

    fn nonce(i: u64) -> Scalar {
        Scalar::from(0x1234_5678_9abc_def0u64 ^ i) * Scalar::from(0x0fed_cba9_8765_4321u64)
    }

    /// A signature with a small-order point added to its `R`.
    fn torsion_in_r(key: &SigningKey, m: &[u8], i: u64) -> Signature {
        let r = nonce(i);
        let big_r = EdwardsPoint::mul_base(&r) + torsion();
        craft(
            key.to_scalar(),
            key.verifying_key().as_bytes(),
            r,
            big_r.compress().to_bytes(),
            m,
        )
    }

    struct Case {
        name: &'static str,
        key: VerifyingKey,
        message: Vec<u8>,
        signature: Signature,
        /// The verdict both paths must give.
        passes: bool,
    }

    /// Each kind of input on which the two paths could differ, and an
    /// honest signature. Longer than 60 lines because it is one table of
    /// cases, each built where it is listed.
    fn cases() -> Vec<Case> {
        let signer = SigningKey::from_bytes(&[21u8; 32]);
        let key = signer.verifying_key();
        let a = signer.to_scalar();
        let m = |i: u8| vec![i; 64];
        let mut cases = Vec::new();
        let honest = signer.sign(&m(0));
        cases.push(Case {
            name: "honest",
            key,
            message: m(0),
            signature: honest,
            passes: true,
        });
        cases.push(Case {
            name: "small-order component in R",
            key,
            message: m(1),
            signature: torsion_in_r(&signer, &m(1), 1),
            passes: true,
        });
        // s + ℓ: the same signature with s not reduced.
        let mut s_plus_l = honest.to_bytes();
        // ℓ = 2²⁵² + 27742317777372353535851937790883648493, little-endian.
        let mut l = [0u8; 32];
        l[..16].copy_from_slice(&[
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14,
        ]);
        l[31] = 0x10;
        assert_eq!(Scalar::from_bytes_mod_order(l), Scalar::ZERO);
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(s_plus_l[32 + i]) + u16::from(l[i]) + carry;
            s_plus_l[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        cases.push(Case {
            name: "non-canonical s",
            key,
            message: m(0),
            signature: Signature::from_bytes(&s_plus_l),
            passes: false,
        });
        // R = identity, encoded as y = p + 1: [s]B = [k]A holds.
        let mut identity_high = [0xFF; 32];
        identity_high[0] = 0xEE;
        identity_high[31] = 0x7F;
        cases.push(Case {
            name: "non-canonical R",
            key,
            message: m(2),
            signature: craft(a, key.as_bytes(), Scalar::ZERO, identity_high, &m(2)),
            passes: false,
        });
        // The identity with the sign bit of x set.
        let mut identity_signed = [0u8; 32];
        identity_signed[0] = 1;
        identity_signed[31] = 0x80;
        cases.push(Case {
            name: "non-canonical R (sign of x = 0)",
            key,
            message: m(3),
            signature: craft(a, key.as_bytes(), Scalar::ZERO, identity_signed, &m(3)),
            passes: false,
        });
        // A weak key: anyone signs with R = [r]B, s = r.
        let weak = VerifyingKey::from_bytes(&torsion().compress().to_bytes()).unwrap();
        let r = nonce(4);
        let r_bytes = EdwardsPoint::mul_base(&r).compress().to_bytes();
        cases.push(Case {
            name: "weak key",
            key: weak,
            message: m(4),
            signature: Signature::from_components(r_bytes, r.to_bytes()),
            passes: false,
        });
        // A key with a torsion component, its holder signing honestly.
        let mixed_bytes = (EdwardsPoint::mul_base(&a) + torsion())
            .compress()
            .to_bytes();
        let mixed = VerifyingKey::from_bytes(&mixed_bytes).unwrap();
        let r = nonce(5);
        let r_bytes = EdwardsPoint::mul_base(&r).compress().to_bytes();
        cases.push(Case {
            name: "key with a torsion component",
            key: mixed,
            message: m(5),
            signature: craft(a, &mixed_bytes, r, r_bytes, &m(5)),
            passes: true,
        });
        cases.push(Case {
            name: "wrong message",
            key,
            message: m(9),
            signature: honest,
            passes: false,
        });
        cases
    }

    #[test]
    fn the_crafted_inputs_are_what_they_claim() {
        // Each crafted signature is one on which ed25519-dalek's own single
        // and batch verifications could disagree.
        for case in cases() {
            let alone = case.key.verify(&case.message, &case.signature).is_ok();
            match case.name {
                "honest" => assert!(alone),
                "non-canonical R" | "small-order component in R" => {
                    assert!(!alone, "{}", case.name);
                    // Some batch of it with honest members passes.
                    let signer = SigningKey::from_bytes(&[22u8; 32]);
                    let passed = (0..64u8).any(|i| {
                        let m = [i; 64];
                        let sig = signer.sign(&m);
                        ed25519_dalek::verify_batch(
                            &[&case.message[..], &m[..]],
                            &[case.signature, sig],
                            &[case.key, signer.verifying_key()],
                        )
                        .is_ok()
                    });
                    assert!(passed, "{}", case.name);
                }
                _ => {}
            }
        }
    }

    #[test]
    fn canonical_encodings() {
        let mut p = [0xFF; 32];
        p[31] = 0x7F;
        for low in 0xED..=0xFF {
            p[0] = low;
            assert!(!is_canonical_encoding(&p), "y = p + {}", low - 0xED);
        }
        p[0] = 0xEC; // y = p − 1, x = 0
        assert!(is_canonical_encoding(&p));
        p[31] |= 0x80;
        assert!(!is_canonical_encoding(&p));
        // Canonical encodings round-trip through decompression.
        for i in 0..200u64 {
            let point = EdwardsPoint::mul_base(&nonce(i)) + torsion() * Scalar::from(i);
            assert!(is_canonical_encoding(&point.compress().to_bytes()));
        }
        assert!(is_canonical_encoding(
            &EdwardsPoint::default().compress().to_bytes()
        ));
    }

    #[test]
    fn single_and_batch_verdicts_agree_on_crafted_inputs() {
        let honest_signer = SigningKey::from_bytes(&[23u8; 32]);
        for case in cases() {
            assert_eq!(
                verify(&case.key, &case.message, &case.signature),
                case.passes,
                "{} alone",
                case.name
            );
            // In 64 batches with other honest members, each batch drawing
            // other coefficients, and once with every crafted case together.
            for round in 0..64u8 {
                let others: Vec<[u8; 64]> = (0..=round % 5).map(|j| [round ^ j; 64]).collect();
                let mut keys = vec![case.key];
                let mut messages: Vec<&[u8]> = vec![&case.message];
                let mut signatures = vec![case.signature];
                for m in &others {
                    keys.push(honest_signer.verifying_key());
                    messages.push(m);
                    signatures.push(honest_signer.sign(m));
                }
                assert_eq!(
                    verify_batch(&keys, &messages, &signatures),
                    case.passes,
                    "{} in batch round {round}",
                    case.name
                );
            }
        }
        let passing: Vec<Case> = cases().into_iter().filter(|c| c.passes).collect();
        let keys: Vec<VerifyingKey> = passing.iter().map(|c| c.key).collect();
        let messages: Vec<&[u8]> = passing.iter().map(|c| &c.message[..]).collect();
        let signatures: Vec<Signature> = passing.iter().map(|c| c.signature).collect();
        for _ in 0..64 {
            assert!(verify_batch(&keys, &messages, &signatures));
        }
    }

    #[test]
    fn many_torsion_signatures_pass_in_every_batch() {
        // Several crafted signatures whose torsion parts cancel in some
        // batches and not in others: every batch gives the single verdict.
        let signer = SigningKey::from_bytes(&[24u8; 32]);
        for round in 0..64u64 {
            let messages: Vec<[u8; 64]> = (0..4).map(|j| [(round * 4 + j) as u8; 64]).collect();
            let signatures: Vec<Signature> = messages
                .iter()
                .enumerate()
                .map(|(j, m)| torsion_in_r(&signer, m, round * 4 + j as u64))
                .collect();
            let refs: Vec<&[u8]> = messages.iter().map(|m| &m[..]).collect();
            let keys = vec![signer.verifying_key(); 4];
            assert!(verify_batch(&keys, &refs, &signatures));
            for ((k, m), s) in keys.iter().zip(&refs).zip(&signatures) {
                assert!(verify(k, m, s));
            }
        }
    }
}
