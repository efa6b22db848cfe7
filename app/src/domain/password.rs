//! Password hashing with argon2id at OWASP's recommended parameters
//! (19 MiB, 2 iterations, 1 lane). Hashing is deliberately slow, so it runs
//! on the blocking pool, never on the async runtime, one hash per core at a
//! time, each in working memory that is allocated once and reused.

use crate::{error::AppError, validation::NewPassword};
use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng},
};
use std::sync::{Mutex, OnceLock};
use tracing::Instrument;

/// OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const LANES: u32 = 1;

fn params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, LANES, None).expect("argon2 parameters are valid")
}

/// The lowest zxcvbn score (0–4) a new password may have: 3 is "safely
/// unguessable" (about 10^10 guesses) in zxcvbn's terms.
const MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

/// Refuses a password that is easy to guess, offline (zxcvbn's dictionaries
/// of common passwords, names and keyboard patterns), with a message that
/// says why. `related` are things an attacker knows about the account (its
/// email, name, organization), which make a password weaker when used in it.
pub fn check_strength(password: &NewPassword, related: &[&str]) -> Result<(), String> {
    let related: Vec<String> = related
        .iter()
        .flat_map(|r| r.split(|c: char| !c.is_alphanumeric()))
        .filter(|part| part.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect();
    let related: Vec<&str> = related.iter().map(String::as_str).collect();
    // zxcvbn's cost grows faster than the length; past 64 characters the
    // rest cannot make a guessable start unguessable enough to matter.
    let start: String = password.expose().chars().take(64).collect();
    let estimate = zxcvbn::zxcvbn(&start, &related);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    let mut message = String::from("This password would be easy to guess");
    match estimate.feedback().and_then(|f| f.warning()) {
        Some(warning) => message.push_str(&format!(": {}", sentence(&warning.to_string()))),
        None => message.push('.'),
    }
    let hint = estimate
        .feedback()
        .and_then(|f| f.suggestions().first().map(ToString::to_string))
        .unwrap_or_else(|| "Add another word or two that are not about you.".into());
    message.push(' ');
    message.push_str(&sentence(&hint));
    Err(message)
}

/// The text with a full stop at the end.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

tokio::task_local! {
    static HASHES: std::cell::Cell<u32>;
}

/// Runs `work` and says how many passwords it hashed: how a test proves
/// that a request refused by a cheap check did no expensive work.
pub async fn count_hashes<F: std::future::Future>(work: F) -> (u32, F::Output) {
    HASHES
        .scope(std::cell::Cell::new(0), async move {
            let output = work.await;
            (HASHES.with(std::cell::Cell::get), output)
        })
        .await
}

/// Hashes a new password into a PHC string (which records its parameters).
pub async fn hash(password: &NewPassword) -> Result<String, AppError> {
    let _ = HASHES.try_with(|n| n.set(n.get() + 1));
    let password = password.expose().to_owned();
    run_blocking(move |memory| {
        let salt = SaltString::generate(&mut OsRng);
        hash_with_salt(password.as_bytes(), &salt, memory).map_err(|e| {
            tracing::error!(error = %e, "argon2 hashing failed");
            AppError::Internal
        })
    })
    .await?
}

fn hash_with_salt(
    password: &[u8],
    salt: &SaltString,
    memory: &mut Vec<Block>,
) -> Result<String, argon2::password_hash::Error> {
    let params = params();
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt.as_salt().decode_b64(&mut raw_salt)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(
        Algorithm::Argon2id,
        Version::V0x13,
        &params,
        password,
        raw_salt,
        &mut out,
        memory,
    )?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    };
    Ok(phc.to_string())
}

/// Checks a password against a stored hash. With no stored hash (unknown
/// user, SSO-only user) it still does the same work against a fixed hash, so
/// the response time does not reveal whether an account exists.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AppError> {
    run_blocking(move |memory| {
        let has_hash = stored.is_some();
        let stored = stored.unwrap_or_else(|| decoy_hash().to_string());
        match verify_phc(password.as_bytes(), &stored, memory) {
            Ok(matches) => has_hash && matches,
            Err(e) => {
                tracing::error!(error = %e, "a stored password hash cannot be checked");
                false
            }
        }
    })
    .await
}

/// Recomputes the hash with the parameters, salt and length the PHC string
/// records, and compares in constant time.
fn verify_phc(
    password: &[u8],
    stored: &str,
    memory: &mut Vec<Block>,
) -> Result<bool, argon2::password_hash::Error> {
    use argon2::password_hash::Error;
    let parsed = PasswordHash::new(stored)?;
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|_| Error::Version)?
        .unwrap_or_default();
    let params = Params::try_from(&parsed)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(Error::PhcStringField);
    };
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut raw_salt)?;
    let mut out = vec![0u8; expected.len()];
    compute(
        algorithm, version, &params, password, raw_salt, &mut out, memory,
    )?;
    // Output's equality is constant-time.
    Ok(Output::new(&out)? == expected)
}

fn compute(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> Result<(), argon2::Error> {
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
        password,
        salt,
        out,
        &mut memory[..],
    )
}

/// A hash of a random password, computed once, for [`verify`] to spend the
/// same time on when there is nothing real to check.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let random = SaltString::generate(&mut OsRng);
        hash_with_salt(random.as_str().as_bytes(), &salt, &mut Vec::new())
            .expect("hashing a random password succeeds")
    })
}

/// How many hashes may run at once: one per core. Each needs 19 MiB while it
/// runs, so without a bound a burst of sign-ins (32 at once under load, or
/// an attacker's thousands) would take that much memory per request and
/// only make every one of them slower; with it, requests wait their turn.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(cores()))
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Working memory, one buffer per slot, kept between hashes. Allocating and
/// freeing 19 MiB per hash leaves it cached in the allocator's per-thread
/// arenas, across however many blocking-pool threads the hashes ran on: the
/// benchmark measured 450 MB resident after a minute of sign-ins.
fn spare_memory() -> &'static Mutex<Vec<Vec<Block>>> {
    static SPARE: OnceLock<Mutex<Vec<Vec<Block>>>> = OnceLock::new();
    SPARE.get_or_init(|| Mutex::new(Vec::with_capacity(cores())))
}

/// Runs a hash on tokio's blocking pool, inside the caller's span, once one
/// of the [`hashing_slots`] is free, with a working-memory buffer.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
) -> Result<T, AppError> {
    let slot = hashing_slots()
        .acquire()
        .await
        .map_err(|_| AppError::Internal)?;
    let span = tracing::Span::current();
    let result = tokio::task::spawn_blocking(move || {
        let taken = spare_memory().lock().map(|mut s| s.pop()).unwrap_or(None);
        let mut memory = taken.unwrap_or_default();
        let result = span.in_scope(|| work(&mut memory));
        if let Ok(mut spare) = spare_memory().lock() {
            spare.push(memory);
        }
        result
    })
    .in_current_span()
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "blocking task failed");
        AppError::Internal
    });
    drop(slot);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guessable_passwords_are_refused_with_a_reason() {
        for weak in ["password1234", "qwertyuiop", "1234567890", "aaaaaaaaaaaa"] {
            let message = check_strength(&NewPassword::parse(weak).unwrap(), &[]).unwrap_err();
            assert!(
                message.starts_with("This password would be easy to guess"),
                "{message}"
            );
            assert!(message.ends_with('.'), "{message}");
        }
        // The account's own details make a password weaker.
        let own = NewPassword::parse("oliviaglobex").unwrap();
        assert!(check_strength(&own, &[]).is_ok());
        assert!(check_strength(&own, &["olivia@globex.test", "Globex"]).is_err());
        let good = NewPassword::parse("violet anchor quietly 93").unwrap();
        assert!(check_strength(&good, &["mallory@evil.test"]).is_ok());
    }

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_only() {
        let password = NewPassword::parse("correct horse battery").unwrap();
        let hash = hash(&password).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            verify("correct horse battery".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("wrong horse battery".into(), Some(hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        // Ours verifies with the crate's verifier…
        let ours = hash(&NewPassword::parse("correct horse battery").unwrap())
            .await
            .unwrap();
        let standard = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        assert!(
            standard
                .verify_password(b"correct horse battery", &PasswordHash::new(&ours).unwrap())
                .is_ok()
        );
        // …and the crate's hashes, at these and at other parameters (an
        // older, smaller setting), verify with ours.
        for (m, t) in [(MEMORY_KIB, ITERATIONS), (8 * 1024, 3)] {
            let other = Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(m, t, 1, None).unwrap(),
            );
            let salt = SaltString::generate(&mut OsRng);
            let theirs = other
                .hash_password(b"correct horse battery", &salt)
                .unwrap()
                .to_string();
            assert!(
                verify("correct horse battery".into(), Some(theirs.clone()))
                    .await
                    .unwrap(),
                "{theirs}"
            );
            assert!(!verify("correct horse".into(), Some(theirs)).await.unwrap());
        }
        assert!(
            !verify("x".into(), Some("not a hash".into())).await.unwrap(),
            "an unreadable stored hash never verifies"
        );
    }

    #[tokio::test]
    async fn no_stored_hash_never_verifies() {
        assert!(!verify("anything at all".into(), None).await.unwrap());
    }
}
