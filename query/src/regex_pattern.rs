//! The compiled pattern of a regexp function ([`crate::text_fns`]): the `regex` crate's
//! (linear time, the shard's cache in [`crate::scalar::compiled`]) for every pattern it takes,
//! and fancy-regex's backtracking engine for the ones it refuses only because they hold back
//! references (`(.)\1`), which PostgreSQL's ARE engine has. fancy-regex delegates everything
//! but the back references and look-arounds to the same `regex` crate, so both read one syntax;
//! its backtracking is bounded (its backtrack limit), past which the call fails (2201B) rather
//! than running on.

use crate::error::{Result, SqlError};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// How many backtracking patterns a thread keeps compiled.
const MAX_CACHED: usize = 64;

thread_local! {
    static BACKTRACKING: RefCell<HashMap<String, Arc<fancy_regex::Regex>>> = RefCell::new(HashMap::new());
}

#[derive(Clone)]
pub(crate) enum Pattern {
    Linear(regex::Regex),
    /// With whether the pattern is case-insensitive: fancy-regex compares a back reference's
    /// text case-sensitively even then, so such a pattern searches the text lowercased
    /// ([`folded`]).
    Backtracking(Arc<fancy_regex::Regex>, bool),
}

/// `src` lowercased, when that keeps every character's byte length (so a match's byte range
/// in it is one in `src`); None otherwise (the search then reads `src` itself, and a back
/// reference compares case-sensitively).
fn folded(src: &str) -> Option<String> {
    let mut out = String::with_capacity(src.len());
    for c in src.chars() {
        let before = out.len();
        out.extend(c.to_lowercase());
        if out.len() - before != c.len_utf8() {
            return None;
        }
    }
    Some(out)
}

/// Whether the pattern's leading inline flags (`(?si)`) make it case-insensitive.
fn case_insensitive(pattern: &str) -> bool {
    pattern
        .strip_prefix("(?")
        .and_then(|r| r.split_once(')'))
        .is_some_and(|(flags, _)| flags.chars().all(|c| c.is_ascii_alphabetic()) && flags.contains('i'))
}

/// A match's groups as byte ranges of the text searched (None: the group took no part).
pub(crate) struct Caps<'a> {
    src: &'a str,
    spans: Vec<Option<(usize, usize)>>,
}

#[derive(Clone, Copy)]
pub(crate) struct Group<'a> {
    src: &'a str,
    start: usize,
    end: usize,
}

impl<'a> Group<'a> {
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    pub(crate) fn end(&self) -> usize {
        self.end
    }

    pub(crate) fn as_str(&self) -> &'a str {
        &self.src[self.start..self.end]
    }
}

impl<'a> Caps<'a> {
    /// The number of groups, the whole match (group 0) included.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    pub(crate) fn get(&self, i: usize) -> Option<Group<'a>> {
        let (start, end) = (*self.spans.get(i)?)?;
        Some(Group { src: self.src, start, end })
    }

    /// The whole match's text.
    pub(crate) fn whole(&self) -> &'a str {
        self.get(0).map_or("", |g| g.as_str())
    }
}

fn engine_error(e: fancy_regex::Error) -> SqlError {
    SqlError::new("2201B", format!("invalid regular expression: {e}"))
}

/// Compiles `pattern` (its inline flags already in front): the `regex` crate's when it takes
/// it, fancy-regex's when it refuses it for its back references.
pub(crate) fn compile(pattern: &str) -> Result<Pattern> {
    match crate::scalar::compiled(pattern, false) {
        Ok(re) => Ok(Pattern::Linear(re)),
        Err(e) if e.message.contains("backreferences are not supported") => BACKTRACKING.with(|cache| {
            let mut cache = cache.borrow_mut();
            let ci = case_insensitive(pattern);
            if let Some(re) = cache.get(pattern) {
                return Ok(Pattern::Backtracking(re.clone(), ci));
            }
            let re = Arc::new(fancy_regex::Regex::new(pattern).map_err(engine_error)?);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(pattern.to_string(), re.clone());
            Ok(Pattern::Backtracking(re, ci))
        }),
        Err(e) => Err(e),
    }
}

impl Pattern {
    /// The first match at or after byte `at` (the text before `at` is context for `^`, `\b`).
    pub(crate) fn captures_at<'a>(&self, src: &'a str, at: usize) -> Result<Option<Caps<'a>>> {
        let spans = match self {
            Pattern::Linear(re) => match re.captures_at(src, at) {
                Some(c) => c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect(),
                None => return Ok(None),
            },
            Pattern::Backtracking(re, ci) => {
                let f = ci.then(|| folded(src)).flatten();
                match re.captures_from_pos(f.as_deref().unwrap_or(src), at).map_err(engine_error)? {
                    Some(c) => c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect(),
                    None => return Ok(None),
                }
            }
        };
        Ok(Some(Caps { src, spans }))
    }

    pub(crate) fn captures<'a>(&self, src: &'a str) -> Result<Option<Caps<'a>>> {
        self.captures_at(src, 0)
    }

    /// The first match's byte range at or after `at`.
    pub(crate) fn find_at(&self, src: &str, at: usize) -> Result<Option<(usize, usize)>> {
        Ok(match self {
            Pattern::Linear(re) => re.find_at(src, at).map(|m| (m.start(), m.end())),
            Pattern::Backtracking(re, ci) => {
                let f = ci.then(|| folded(src)).flatten();
                let m = re.find_from_pos(f.as_deref().unwrap_or(src), at).map_err(engine_error)?;
                m.map(|m| (m.start(), m.end()))
            }
        })
    }

    pub(crate) fn is_match(&self, src: &str) -> Result<bool> {
        match self {
            Pattern::Linear(re) => Ok(re.is_match(src)),
            Pattern::Backtracking(re, ci) => {
                let f = ci.then(|| folded(src)).flatten();
                re.is_match(f.as_deref().unwrap_or(src)).map_err(engine_error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_references_use_the_backtracking_engine() {
        let re = compile("(?s)(.)\\1").unwrap();
        assert!(matches!(re, Pattern::Backtracking(_, false)));
        let caps = re.captures_at("foobarrbazz", 3).unwrap().unwrap();
        assert_eq!((caps.whole(), caps.get(1).unwrap().as_str()), ("rr", "r"));
        assert!(matches!(compile("(?s)(.)x").unwrap(), Pattern::Linear(_)));
        assert!(compile("(?s)(").is_err());
        let ci = compile("(?si)^(ab)\\1$").unwrap();
        assert!(ci.is_match("ABab").unwrap());
        let ci = compile("(?si)(ab)\\1").unwrap();
        assert_eq!(ci.captures_at("xAbaB", 0).unwrap().unwrap().get(1).unwrap().as_str(), "Ab");
    }
}
