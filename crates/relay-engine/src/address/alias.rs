//! New addresses at a relay domain: random aliases, custom aliases and reverse aliases.
//!
//! | kind | shape | randomness |
//! |---|---|---|
//! | [`random_alias`] | `adjective.noun.NN` | 328 × 370 × 100 = 12,136,000 ≈ 2^23.5 |
//! | [`custom_alias`] | `prefix.xxxxxx` (or `prefix`) | 6 base32 chars = 30 bits (or none) |
//! | [`reverse_alias`] | `hint.xxxxxxxxxxxxx` | 13 base32 chars = 65 bits |
//!
//! Random aliases are meant to be read and typed, not to be secret: once many exist, a guessed
//! `adjective.noun.NN` may hit one, and the store must retry on a collision. Reverse aliases are
//! secrets (knowing one lets you address a contact through the relay's checks), so they carry
//! 65 bits. All randomness comes from the caller's [`CryptoRng`] and is drawn without bias:
//! rejection sampling for word indices and numbers, 5 bits of a byte for base32.

use rand_core::CryptoRng;

use super::words::{ADJECTIVES, NOUNS};
use super::{Address, AddressError, Component, RelayDomain, is_reserved};

/// Crockford's base32 alphabet, lowercase: digits and letters without `i`, `l`, `o`, `u`, so it
/// reads aloud, survives handwriting, and cannot spell most English words.
const BASE32: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Random characters at the end of a reverse alias: 13 × 5 = 65 bits.
pub const REVERSE_ALIAS_RANDOM_CHARS: usize = 13;
/// Longest contact hint at the start of a reverse alias, in octets.
pub const REVERSE_ALIAS_HINT_MAX: usize = 24;
/// Random characters appended to a custom alias with a suffix: 6 × 5 = 30 bits.
pub const CUSTOM_SUFFIX_CHARS: usize = 6;
/// Longest custom alias prefix, in characters.
const PREFIX_MAX: usize = 40;

/// A random alias, `adjective.noun.NN@domain` (e.g. `quiet.otter.42@pportal.io`): 328 adjectives,
/// 370 nouns and a two-digit number, about 23.5 bits. Every word is lowercase ASCII, so the
/// result is never reserved and never looks like a reverse alias. The caller stores it and
/// draws again if it is taken.
#[must_use]
pub fn random_alias<R: CryptoRng + ?Sized>(rng: &mut R, domain: &RelayDomain) -> Address {
    let adjective = pick(rng, &ADJECTIVES);
    let noun = pick(rng, &NOUNS);
    let number = uniform(rng, 100);
    Address::from_trusted(&format!("{adjective}.{noun}.{number:02}"), domain)
}

/// Options for [`custom_alias`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomAlias {
    /// Append `.` and [`CUSTOM_SUFFIX_CHARS`] random base32 characters (`shop.x7k2m9`).
    ///
    /// On by default: alias names are one namespace shared by all users of a relay domain.
    /// Without a suffix the first user to take `shop` owns it for everyone, and anyone can probe
    /// common names (`amazon@`, `bank@`, …) to find live aliases. Turn it off only where the
    /// namespace is the user's own (a custom domain).
    pub with_suffix: bool,
}

impl Default for CustomAlias {
    fn default() -> Self {
        Self { with_suffix: true }
    }
}

/// A user-chosen alias: `prefix` (ASCII letters folded to lowercase, digits, `.`, `-`, `_`;
/// 1 to 40 characters; starting and ending with a letter or digit, so never with `-`, which some
/// tools read as an option; no `..`), optionally followed by a random suffix (see
/// [`CustomAlias::with_suffix`]).
///
/// # Errors
///
/// [`AddressError::Empty`] / [`AddressError::TooLong`] for the length,
/// [`AddressError::UnexpectedChar`] / [`AddressError::DotPlacement`] for the characters,
/// [`AddressError::Reserved`] if the prefix is a [`RESERVED`](super::RESERVED) name (folded: case,
/// `.`, `-` and `_` ignored), and [`AddressError::ReverseAliasShape`] if, without a suffix, it
/// would look like a reverse alias.
pub fn custom_alias<R: CryptoRng + ?Sized>(
    rng: &mut R,
    prefix: &str,
    domain: &RelayDomain,
    options: CustomAlias,
) -> Result<Address, AddressError> {
    let prefix = check_prefix(prefix)?;
    if let Some(name) = is_reserved(&prefix) {
        return Err(AddressError::Reserved { name });
    }
    if options.with_suffix {
        let suffix = base32(rng, CUSTOM_SUFFIX_CHARS);
        Ok(Address::from_trusted(&format!("{prefix}.{suffix}"), domain))
    } else if is_reverse_alias_local(&prefix) {
        Err(AddressError::ReverseAliasShape)
    } else {
        Ok(Address::from_trusted(&prefix, domain))
    }
}

fn check_prefix(prefix: &str) -> Result<String, AddressError> {
    let component = Component::AliasPrefix;
    if prefix.is_empty() {
        return Err(AddressError::Empty { component });
    }
    if prefix.len() > PREFIX_MAX {
        return Err(AddressError::TooLong { component, len: prefix.len(), max: PREFIX_MAX });
    }
    let prefix = prefix.to_ascii_lowercase();
    let last = prefix.len() - 1;
    let mut previous_dot = false;
    for (offset, ch) in prefix.char_indices() {
        let edge = offset == 0 || offset == last;
        match ch {
            '.' if edge || previous_dot => {
                let offset = if previous_dot { offset - 1 } else { offset };
                return Err(AddressError::DotPlacement { component, offset });
            }
            'a'..='z' | '0'..='9' | '.' => {}
            '-' | '_' if !edge => {}
            _ => return Err(AddressError::UnexpectedChar { component, ch, offset }),
        }
        previous_dot = ch == '.';
    }
    Ok(prefix)
}

/// A reverse alias for `contact` at `domain`: `hint.random@domain`, for instance
/// `bob.example.k7m2q9x4v8p3t@pportal.io` for `bob@example.com`.
///
/// - The hint helps the user recognise the contact: the contact's local part and domain without
///   its last label, folded to lowercase ASCII letters and digits (Latin letters with diacritics
///   lose them, `ß` becomes `ss`), every other run of characters becoming one dot, as many whole
///   words as fit in [`REVERSE_ALIAS_HINT_MAX`] octets (a longer first word is cut). It is empty when nothing ASCII is left (`用户@例子.广告`),
///   and the address is then just the random part.
/// - The random part is [`REVERSE_ALIAS_RANDOM_CHARS`] lowercase Crockford base32 characters,
///   65 bits, so reverse aliases cannot be guessed and do not collide in practice (birthday bound:
///   a 1 in 10^9 chance of any collision only after about 270,000 reverse aliases per hint, and
///   the store's unique key catches it anyway).
///
/// The local part is at most 24 + 1 + 13 = 38 octets.
#[must_use]
pub fn reverse_alias<R: CryptoRng + ?Sized>(rng: &mut R, contact: &Address, domain: &RelayDomain) -> Address {
    let mut local = contact_hint(&contact.local_content(), contact.domain());
    if !local.is_empty() {
        local.push('.');
    }
    local.push_str(&base32(rng, REVERSE_ALIAS_RANDOM_CHARS));
    Address::from_trusted(&local, domain)
}

/// Whether `addr`'s local part has the shape [`reverse_alias`] makes: an optional hint of ASCII
/// letters, digits and dots of at most [`REVERSE_ALIAS_HINT_MAX`] octets, then (after a dot) 13
/// base32 characters, ignoring case. Cheap, but only a hint: whether the reverse alias exists is
/// the store's answer, and the domain is not checked here. Random and custom aliases never have
/// this shape.
#[must_use]
pub fn looks_like_reverse_alias(addr: &Address) -> bool {
    is_reverse_alias_local(addr.local())
}

fn is_reverse_alias_local(local: &str) -> bool {
    let (hint, random) = local.rsplit_once('.').unwrap_or(("", local));
    random.len() == REVERSE_ALIAS_RANDOM_CHARS
        && random.bytes().all(|b| BASE32.contains(&b.to_ascii_lowercase()))
        && hint.len() <= REVERSE_ALIAS_HINT_MAX
        && hint.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
}

/// The readable hint of a reverse alias (see [`reverse_alias`]). Takes the local part's content
/// and the domain. Whole words are kept while they fit; only a first word longer than the limit
/// is cut. Stops reading as soon as the hint is full, so long input costs nothing.
pub(super) fn contact_hint(local: &str, domain: &str) -> String {
    let domain =
        if domain.starts_with('[') { "" } else { domain.rsplit_once('.').map_or(domain, |(rest, _top_level)| rest) };
    let mut hint = String::with_capacity(REVERSE_ALIAS_HINT_MAX);
    // The word being read, with its leading dot unless it is the first.
    let mut word = String::new();
    for c in local.chars().chain(Some('.')).chain(domain.chars()).chain(Some('.')) {
        match fold_to_ascii(c) {
            Some(folded) => {
                if word.is_empty() && !hint.is_empty() {
                    word.push('.');
                }
                word.push_str(folded);
                if hint.is_empty() && word.len() >= REVERSE_ALIAS_HINT_MAX {
                    word.truncate(REVERSE_ALIAS_HINT_MAX);
                    return word;
                }
                if hint.len() + word.len() > REVERSE_ALIAS_HINT_MAX {
                    return hint;
                }
            }
            None => hint.push_str(&core::mem::take(&mut word)),
        }
    }
    hint
}

/// A character as lowercase ASCII letters or digits, or `None` for a separator.
fn fold_to_ascii(c: char) -> Option<&'static str> {
    const ALNUM: &str = "0123456789abcdefghijklmnopqrstuvwxyz";
    let c = c.to_lowercase().next().unwrap_or(c);
    if c.is_ascii_alphanumeric() {
        let at = ALNUM.find(c)?;
        return ALNUM.get(at..at + 1);
    }
    Some(match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò'..='ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ß' => "ss",
        'ś' | 'ŝ' | 'ş' | 'š' => "s",
        'ţ' | 'ť' | 'ŧ' => "t",
        'þ' => "th",
        'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// `n` characters of lowercase Crockford base32, 5 unbiased bits each (32 divides 256).
fn base32<R: CryptoRng + ?Sized>(rng: &mut R, n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| char::from(BASE32.get(usize::from(b & 31)).copied().unwrap_or(b'0'))).collect()
}

/// A uniformly chosen word.
fn pick<'a, R: CryptoRng + ?Sized>(rng: &mut R, words: &[&'a str]) -> &'a str {
    let n = u32::try_from(words.len()).unwrap_or(u32::MAX);
    usize::try_from(uniform(rng, n)).ok().and_then(|i| words.get(i)).copied().unwrap_or_default()
}

/// A uniform integer in `0..n` (`0` for `n == 0`), by rejection: values below `2^32 mod n` are
/// drawn again, so the accepted range is a whole multiple of `n`. Fewer than one draw in 2^23 is
/// rejected for the sizes used here.
pub(super) fn uniform<R: CryptoRng + ?Sized>(rng: &mut R, n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    let reject_below = n.wrapping_neg() % n;
    loop {
        let x = rng.next_u32();
        if x >= reject_below {
            return x % n;
        }
    }
}
