//! orbit-query: SQL over Orbit's tables. [`bind`] parses a statement with sqlparser
//! (PostgreSQL dialect) and resolves names and types into a [`bind::Plan`], rejecting what
//! PostgreSQL rejects with PostgreSQL's SQLSTATE and message ([`error`]); [`exec`] runs a plan
//! over the shards (a primary-key lookup on one shard, anything else on every shard, merged on the
//! coordinating shard); [`types`] holds the text and binary forms of values as PostgreSQL writes
//! them ([`datetime`] and [`json`] for the date/time and JSON types); [`expr`] evaluates
//! expressions with SQL's three-valued logic.

pub mod advisory;
pub mod array;
pub mod bind;
pub mod bytea_fns;
pub mod catalog;
pub(crate) mod catalog_builtin;
pub mod catalog_dump;
pub mod catalog_fns;
pub(crate) mod catalog_listings;
pub mod catalog_objects;
pub mod catalog_sizes;
pub(crate) mod catalog_star;
pub mod catalog_types;
pub mod comment;
pub mod composites;
pub mod copy;
pub mod cost;
pub mod cursors;
pub mod datetime;
pub mod dist_join;
pub mod dist_left;
pub mod dist_semi;
pub mod domains;
pub mod enums;
pub mod error;
pub mod exec;
pub mod explain;
pub mod expr;
pub mod extensions;
pub mod foreign_key;
pub mod functions_sql;
pub mod fuzzing;
pub mod group;
mod group_key;
pub mod index;
pub mod index_join;
pub(crate) mod index_options;
pub mod info_schema;
pub mod join;
mod join_key;
mod join_removal;
mod joined;
pub mod json;
pub mod json_build;
pub mod lateral;
pub mod math_fns;
pub mod memory;
pub mod merge_join;
pub mod numeric;
pub mod ordered_set;
pub mod partitions;
pub mod plpgsql;
pub mod prepared;
pub(crate) mod regex_pattern;
pub mod regtypes;
pub mod relation;
pub mod relation_lock;
pub mod scalar;
pub mod schema;
pub mod semi_join;
pub mod sequence;
mod serializable;
pub mod settings;
mod shuffle;
pub mod sleep;
mod sort_key;
pub mod srf;
pub mod stack_depth;
pub mod stats;
pub mod temp_tables;
pub mod text_fns;
pub mod to_char;
pub mod to_char_num;
pub mod to_timestamp;
pub mod triggers;
pub mod txn;
pub mod types;
pub mod unicode_escapes;
pub mod uuid_ossp;
pub mod vector;
mod viewdef;
pub mod window;
pub mod zone;

pub use bind::{prepare, prepare_all, OutputColumn, Plan, Prepared};
pub use error::{Result, SqlError};
pub use exec::ddl_journal::undo_unfinished as undo_unfinished_ddl;
pub use exec::undo::restore_hidden;
pub use exec::{execute, QueryResult};
pub use sqlparser::ast::Statement;
pub use txn::{Isolation, Txn};
