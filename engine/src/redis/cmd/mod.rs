//! The Redis command families, one file each, as Redis's documentation groups them.

pub mod bitmaps;
pub mod hashes;
pub mod hll;
pub mod keys;
pub mod lists;
pub mod server;
pub mod sets;
pub mod strings;
pub mod zsets;
