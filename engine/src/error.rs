//! The engine's error type. Errors that reach a Redis client are built as [`crate::reply::Reply`]
//! errors with Redis's exact wording; this enum covers the engine's own failures.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("corrupt record: {0}")]
    Corrupt(String),
    #[error("invalid argument: {0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, Error>;
