//! The sets family (being written).

use crate::redis::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
