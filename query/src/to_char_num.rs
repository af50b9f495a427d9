//! to_char(number, format): PostgreSQL's numeric template patterns (formatting.c's
//! NUM_processor) for the common ones — `9` (a digit, blank when leading), `0` (a digit, zero
//! when leading), `.`/`D` (the decimal point), `,`/`G` (a group separator, blank before the
//! first digit), `FM` (no padding: leading blanks and `9`'s trailing fraction zeros dropped),
//! `S` (the sign, + or -, next to the digits), `MI` (a minus where written, or a blank), `PL`,
//! `SG`, `PR` (a negative value in angle brackets). Without a sign pattern one position before
//! the digits holds the minus (blank for positive values). A value with more integer digits than
//! the template shows `#` for each digit. Other patterns (`EEEE`, `RN`, `TH`, `V`, `L`) are
//! refused (0A000).

use crate::error::{Result, SqlError};
use crate::numeric::Num;

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    Nine,
    Zero,
    Point,
    Group,
    Sign,
    Minus,
    Plus,
    SignBoth,
    Brackets,
    Lit(char),
}

fn tokens(fmt: &str) -> Result<(Vec<Tok>, bool)> {
    let mut out = Vec::new();
    let mut fill = false;
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    let upper = |i: usize, n: usize| chars[i..(i + n).min(chars.len())].iter().collect::<String>().to_uppercase();
    while i < chars.len() {
        let two = upper(i, 2);
        let (tok, n) = match chars[i] {
            '9' => (Tok::Nine, 1),
            '0' => (Tok::Zero, 1),
            '.' => (Tok::Point, 1),
            ',' => (Tok::Group, 1),
            'D' | 'd' => (Tok::Point, 1),
            'G' | 'g' => (Tok::Group, 1),
            'S' | 's' if two != "SG" => (Tok::Sign, 1),
            _ if two == "FM" => {
                fill = true;
                i += 2;
                continue;
            }
            _ if two == "MI" => (Tok::Minus, 2),
            _ if two == "PL" => (Tok::Plus, 2),
            _ if two == "SG" => (Tok::SignBoth, 2),
            _ if two == "PR" => (Tok::Brackets, 2),
            '"' => {
                // A quoted literal, copied without its quotes.
                let end = chars[i + 1..].iter().position(|c| *c == '"').map_or(chars.len(), |p| i + 1 + p);
                out.extend(chars[i + 1..end].iter().map(|c| Tok::Lit(*c)));
                i = end + 1;
                continue;
            }
            'V' | 'v' | 'L' | 'l' => return Err(refused(&chars[i].to_string())),
            _ if two == "TH" || two == "RN" || upper(i, 4) == "EEEE" => return Err(refused(&two)),
            c => (Tok::Lit(c), 1),
        };
        out.push(tok);
        i += n;
    }
    Ok((out, fill))
}

fn refused(pattern: &str) -> SqlError {
    SqlError::unsupported(format!("to_char() of numbers supports 9 0 . , D G FM S MI PL SG PR, not \"{pattern}\""))
}

/// The fraction digits `fmt` shows (a float is rounded to them as its binary value, as
/// PostgreSQL's printf does, before it is formatted).
pub fn fraction_digits(fmt: &str) -> usize {
    let Ok((toks, _)) = tokens(fmt) else { return 0 };
    let Some(p) = toks.iter().position(|t| *t == Tok::Point) else { return 0 };
    toks[p + 1..].iter().filter(|t| matches!(t, Tok::Nine | Tok::Zero)).count()
}

/// `v` formatted by `fmt`.
pub fn format(v: &Num, fmt: &str) -> Result<String> {
    format_signed(v, fmt, false)
}

/// [`format`], with the minus sign also for a value that rounds to zero when `negative` (a
/// float below zero keeps its sign there, as PostgreSQL's float to_char does).
pub fn format_signed(v: &Num, fmt: &str, negative: bool) -> Result<String> {
    let (toks, fill) = tokens(fmt)?;
    let point = toks.iter().position(|t| *t == Tok::Point);
    let digit = |t: &Tok| matches!(t, Tok::Nine | Tok::Zero);
    let int_slots = toks[..point.unwrap_or(toks.len())].iter().filter(|t| digit(t)).count();
    let frac_toks: Vec<Tok> = point.map_or(vec![], |p| toks[p + 1..].iter().copied().filter(|t| digit(t)).collect());
    let (negative, int_digits, frac_digits) = match v {
        Num::Fin(..) => {
            let r = v.round(frac_toks.len() as i64);
            let text = r.abs().to_text();
            let (i, f) = text.split_once('.').unwrap_or((&text, ""));
            let negative = negative || r.to_text().starts_with('-');
            (negative, if i == "0" { String::new() } else { i.to_string() }, f.to_string())
        }
        Num::NaN => {
            let width = if fill { 0 } else { int_slots + 1 };
            return Ok(format!("{:>width$}", "NaN"));
        }
        // Infinities: every digit position shows '#'.
        Num::Inf(_) => (false, "#".repeat(int_slots + 1), String::new()),
    };
    let overflow = int_digits.len() > int_slots;
    // The first integer position that prints a zero when no digit is there: the first `0`
    // written, or the last position for a value of 0 with no fraction digits.
    let first_zero = toks[..point.unwrap_or(toks.len())].iter().filter(|t| digit(t)).position(|t| *t == Tok::Zero);
    let zero_from = match first_zero {
        Some(z) => z,
        None if int_digits.is_empty() && frac_toks.is_empty() && int_slots > 0 => int_slots - 1,
        None => int_slots,
    };
    // PL shows only a plus: a minus still floats before the digits.
    let explicit_sign = toks.iter().any(|t| matches!(t, Tok::Sign | Tok::Minus | Tok::SignBoth | Tok::Brackets));
    // Integer part and the patterns around it, left to right.
    let mut out = String::new();
    let mut started = false; // a digit (or a leading zero) has been written
    let mut slot = 0;
    let mut frac_i = 0;
    let mut after_point = false;
    let lead = |out: &mut String, fill: bool| {
        if !fill {
            out.push(' ');
        }
    };
    // The floating sign goes right before the first digit.
    let floating: Option<char> = if !explicit_sign {
        Some(if negative { '-' } else { ' ' })
    } else if toks.contains(&Tok::Brackets) {
        Some(if negative { '<' } else { ' ' })
    } else {
        None
    };
    let sign_tok_at_start = toks.iter().position(|t| matches!(t, Tok::Sign)).is_some_and(|p| p == 0);
    let mut pending: Option<char> = floating.or(sign_tok_at_start.then_some(if negative { '-' } else { '+' }));
    let emit_pending = |out: &mut String, pending: &mut Option<char>, fill: bool| {
        if let Some(c) = pending.take() {
            if !(fill && c == ' ') {
                out.push(c);
            }
        }
    };
    // An S after the start is written right after the last digit, wherever it stands.
    let last_digit = toks.iter().rposition(digit);
    let trailing_sign = toks.iter().skip(1).any(|t| *t == Tok::Sign);
    for (k, t) in toks.iter().enumerate() {
        if k > 0 && Some(k - 1) == last_digit && trailing_sign {
            out.push(if negative { '-' } else { '+' });
        }
        match t {
            Tok::Nine | Tok::Zero if !after_point => {
                let from_right = int_slots - slot - 1;
                slot += 1;
                if overflow {
                    emit_pending(&mut out, &mut pending, fill);
                    out.push('#');
                    continue;
                }
                let d = (from_right < int_digits.len())
                    .then(|| int_digits.as_bytes()[int_digits.len() - 1 - from_right] as char);
                match d {
                    Some(c) => {
                        emit_pending(&mut out, &mut pending, fill);
                        started = true;
                        out.push(c);
                    }
                    None if slot > zero_from => {
                        emit_pending(&mut out, &mut pending, fill);
                        started = true;
                        out.push('0');
                    }
                    None => lead(&mut out, fill),
                }
            }
            Tok::Nine | Tok::Zero => {
                let c = if overflow { '#' } else { frac_digits.as_bytes().get(frac_i).map_or('0', |b| *b as char) };
                frac_i += 1;
                out.push(c);
            }
            Tok::Point => {
                if !after_point {
                    // A value below 1 with no zero pattern: the sign comes right before the point.
                    emit_pending(&mut out, &mut pending, fill);
                }
                after_point = true;
                // Written only when digit patterns follow it.
                if !frac_toks.is_empty() {
                    out.push('.');
                }
            }
            Tok::Group => {
                if started || after_point || overflow {
                    out.push(',');
                } else {
                    lead(&mut out, fill);
                }
            }
            Tok::Sign => {}
            Tok::Minus => {
                if negative {
                    out.push('-');
                } else if !fill {
                    out.push(' ');
                }
            }
            Tok::Plus => {
                if !negative {
                    out.push('+');
                } else if !fill {
                    out.push(' ');
                }
            }
            Tok::SignBoth => out.push(if negative { '-' } else { '+' }),
            Tok::Brackets => {
                if negative {
                    out.push('>');
                } else if !fill {
                    out.push(' ');
                }
            }
            Tok::Lit(c) => out.push(*c),
        }
    }
    if trailing_sign && last_digit == Some(toks.len() - 1) {
        out.push(if negative { '-' } else { '+' });
    }
    emit_pending(&mut out, &mut pending, fill);
    if fill {
        // FM drops the zeros `9` wrote at the end of the fraction.
        if let Some(p) = point {
            let nines_at_end = toks[p + 1..].iter().rev().take_while(|t| **t == Tok::Nine).count();
            let mut trim = nines_at_end;
            while trim > 0 && out.ends_with('0') {
                out.pop();
                trim -= 1;
            }
        }
    }
    Ok(out)
}

/// `to_number(text, format)`: the number the text holds, read as PostgreSQL's NUM_processor
/// reads it against the template: as many integer digits as the template has digit positions
/// (9, 0) before its decimal point and as many fraction digits as after it (the rest are not
/// read), group separators and other characters between the digits skipped, a sign taken from
/// a leading `-`/`+`, a trailing `-` (MI, S) or angle brackets (PR). None for an empty
/// template (NULL, as PostgreSQL answers).
pub fn to_number(input: &str, fmt: &str) -> Result<Option<String>> {
    let lower = fmt.to_ascii_lowercase();
    if lower.contains("eeee") {
        return Err(SqlError::new("0A000", "\"EEEE\" not supported for input"));
    }
    if fmt.is_empty() {
        return Ok(None);
    }
    // The digit positions before and after the template's decimal point (`.` or `D`).
    let (mut int_digits, mut frac_digits, mut after_point) = (0usize, 0usize, false);
    for c in lower.chars() {
        match c {
            '9' | '0' if after_point => frac_digits += 1,
            '9' | '0' => int_digits += 1,
            '.' | 'd' if after_point => return Err(SqlError::new("42601", "multiple decimal points")),
            '.' | 'd' => after_point = true,
            _ => {}
        }
    }
    let bad = || SqlError::new("22P02", "invalid input syntax for type numeric: \" \"");
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() && chars[i] == ' ' {
        i += 1;
    }
    let mut negative = false;
    let mut bracket = false;
    match chars.get(i) {
        Some('-') => {
            negative = true;
            i += 1;
        }
        Some('+') => i += 1,
        Some('<') => {
            bracket = true;
            i += 1;
        }
        _ => {}
    }
    let (mut int_part, mut frac_part) = (String::new(), String::new());
    let mut in_fraction = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            // With a decimal point in the template every integer digit is read (and checked
            // against its positions below); without one, as many as it has.
            '0'..='9' if !in_fraction && (after_point || int_part.len() < int_digits) => int_part.push(c),
            '0'..='9' if in_fraction && frac_part.len() < frac_digits => frac_part.push(c),
            '0'..='9' => {}
            '.' if !in_fraction && frac_digits > 0 => in_fraction = true,
            '.' if !in_fraction => break,
            '-' => negative = true,
            '>' if bracket => negative = true,
            _ => {}
        }
        i += 1;
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    let int_part = int_part.trim_start_matches('0');
    if int_part.len() > int_digits {
        // PostgreSQL applies numeric(template's integer positions + fraction digits read, those).
        let (precision, scale) = (int_digits + frac_part.len(), frac_part.len());
        return Err(SqlError::new("22003", "numeric field overflow").detail(format!(
            "A field with precision {precision}, scale {scale} must round to an absolute value less than 10^{}.",
            precision - scale
        )));
    }
    let mut out = String::new();
    if negative && (int_part.chars().chain(frac_part.chars()).any(|c| c != '0')) {
        out.push('-');
    }
    out.push_str(if int_part.is_empty() { "0" } else { int_part });
    if !frac_part.is_empty() {
        out.push('.');
        out.push_str(&frac_part);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod to_number_tests {
    use super::to_number;

    #[test]
    fn reads_as_postgresql() {
        // From PostgreSQL 15.
        let n = |i: &str, f: &str| to_number(i, f).unwrap().unwrap();
        assert_eq!(n("12,345.67", "99,999.99"), "12345.67");
        assert_eq!(n("-12.5", "99.9"), "-12.5");
        assert_eq!(n("12.5-", "99.9MI"), "-12.5");
        assert_eq!(n("<12.5>", "99.9PR"), "-12.5");
        assert_eq!(n("12345", "999"), "123");
        assert_eq!(n("12.345", "99.9"), "12.3");
        assert_eq!(n("$1,234.50", "L9,999.99"), "1234.50");
        assert_eq!(n("12 34", "99G99"), "1234");
        assert_eq!(n("12-", "99S"), "-12");
        assert_eq!(to_number("abc", "999").unwrap_err().code, "22P02");
        assert_eq!(to_number("123", "").unwrap(), None);
        assert_eq!(to_number("12", "9.9").unwrap_err().code, "22003");
        assert_eq!(to_number("1.2.3", "9.9.9").unwrap_err().code, "42601");
    }
}
