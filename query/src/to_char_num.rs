//! to_char(number, format): PostgreSQL 15's numeric template patterns, ported from
//! formatting.c (parse_format with NUM_keywords, NUMDesc_prepare, NUM_processor and
//! NUM_numpart_to_char, and numeric/int4/int8/float4/float8_to_char that prepare the digits):
//! `9` `0` `.` `D` `,` `G` `FM` `S` `MI` `PL` `SG` `PR` `L` (a blank: the C locale has no
//! currency symbol) `TH`/`th` `V` `EEEE` `RN`/`rn` `B`, quoted text with `\` quoting the next
//! character, and the template errors (42601) NUMDesc_prepare raises. Locale symbols are the
//! C locale's (`.`, `,`, `-`, `+`). Also `to_number` (read back against the same kind of
//! template; a simpler reader of its own).

use crate::error::{Result, SqlError};
use crate::numeric::Num;
use num_bigint::BigInt;
use orbit_engine::table::Datum;

/// NUM_keywords' patterns, in its order (case-sensitive: `Fm` is two literal characters).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Key {
    Comma,
    Dec,
    Zero,
    Nine,
    B,
    C,
    D,
    E,
    Fm,
    G,
    L,
    Mi,
    Pl,
    Pr,
    RnUpper,
    RnLower,
    Sg,
    Sp,
    S,
    ThUpper,
    ThLower,
    V,
}

const KEYWORDS: &[(&str, Key)] = &[
    (",", Key::Comma),
    (".", Key::Dec),
    ("0", Key::Zero),
    ("9", Key::Nine),
    ("B", Key::B),
    ("C", Key::C),
    ("D", Key::D),
    ("EEEE", Key::E),
    ("FM", Key::Fm),
    ("G", Key::G),
    ("L", Key::L),
    ("MI", Key::Mi),
    ("PL", Key::Pl),
    ("PR", Key::Pr),
    ("RN", Key::RnUpper),
    ("SG", Key::Sg),
    ("SP", Key::Sp),
    ("S", Key::S),
    ("TH", Key::ThUpper),
    ("V", Key::V),
    ("b", Key::B),
    ("c", Key::C),
    ("d", Key::D),
    ("eeee", Key::E),
    ("fm", Key::Fm),
    ("g", Key::G),
    ("l", Key::L),
    ("mi", Key::Mi),
    ("pl", Key::Pl),
    ("pr", Key::Pr),
    ("rn", Key::RnLower),
    ("sg", Key::Sg),
    ("sp", Key::Sp),
    ("s", Key::S),
    ("th", Key::ThLower),
    ("v", Key::V),
];

enum Node {
    Action(Key),
    /// A character copied to the output.
    Char(char),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LSign {
    None,
    Pre,
    Post,
}

/// NUMDesc: what the template holds.
#[derive(Clone, Copy)]
struct Desc {
    pre: i32,
    post: i32,
    lsign: LSign,
    pre_lsign_num: i32,
    multi: i32,
    zero_start: i32,
    zero_end: i32,
    decimal: bool,
    zero: bool,
    blank: bool,
    fill: bool,
    has_lsign: bool,
    bracket: bool,
    minus: bool,
    plus: bool,
    roman: bool,
    multi_flag: bool,
    eeee: bool,
}

fn syntax(msg: &str) -> SqlError {
    SqlError::new("42601", msg)
}

impl Desc {
    fn new() -> Desc {
        Desc {
            pre: 0,
            post: 0,
            lsign: LSign::None,
            pre_lsign_num: 0,
            multi: 0,
            zero_start: 0,
            zero_end: 0,
            decimal: false,
            zero: false,
            blank: false,
            fill: false,
            has_lsign: false,
            bracket: false,
            minus: false,
            plus: false,
            roman: false,
            multi_flag: false,
            eeee: false,
        }
    }

    /// NUMDesc_prepare: one pattern's effect on the description, and its errors.
    fn prepare(&mut self, k: Key) -> Result<()> {
        if self.eeee && k != Key::E {
            return Err(syntax("\"EEEE\" must be the last pattern used"));
        }
        match k {
            Key::Nine => {
                if self.bracket {
                    return Err(syntax("\"9\" must be ahead of \"PR\""));
                }
                if self.multi_flag {
                    self.multi += 1;
                } else if self.decimal {
                    self.post += 1;
                } else {
                    self.pre += 1;
                }
            }
            Key::Zero => {
                if self.bracket {
                    return Err(syntax("\"0\" must be ahead of \"PR\""));
                }
                if !self.zero && !self.decimal {
                    self.zero = true;
                    self.zero_start = self.pre + 1;
                }
                if !self.decimal {
                    self.pre += 1;
                } else {
                    self.post += 1;
                }
                self.zero_end = self.pre + self.post;
            }
            Key::B => {
                if self.pre == 0 && self.post == 0 && !self.zero {
                    self.blank = true;
                }
            }
            Key::D | Key::Dec => {
                if self.decimal {
                    return Err(syntax("multiple decimal points"));
                }
                if self.multi_flag {
                    return Err(syntax("cannot use \"V\" and decimal point together"));
                }
                self.decimal = true;
            }
            Key::Fm => self.fill = true,
            Key::S => {
                if self.has_lsign {
                    return Err(syntax("cannot use \"S\" twice"));
                }
                if self.plus || self.minus || self.bracket {
                    return Err(syntax("cannot use \"S\" and \"PL\"/\"MI\"/\"SG\"/\"PR\" together"));
                }
                if !self.decimal {
                    self.lsign = LSign::Pre;
                    self.pre_lsign_num = self.pre;
                    self.has_lsign = true;
                } else if self.lsign == LSign::None {
                    self.lsign = LSign::Post;
                    self.has_lsign = true;
                }
            }
            Key::Mi => {
                if self.has_lsign {
                    return Err(syntax("cannot use \"S\" and \"MI\" together"));
                }
                self.minus = true;
            }
            Key::Pl => {
                if self.has_lsign {
                    return Err(syntax("cannot use \"S\" and \"PL\" together"));
                }
                self.plus = true;
            }
            Key::Sg => {
                if self.has_lsign {
                    return Err(syntax("cannot use \"S\" and \"SG\" together"));
                }
                self.minus = true;
                self.plus = true;
            }
            Key::Pr => {
                if self.has_lsign || self.plus || self.minus {
                    return Err(syntax("cannot use \"PR\" and \"S\"/\"PL\"/\"MI\"/\"SG\" together"));
                }
                self.bracket = true;
            }
            Key::RnUpper | Key::RnLower => self.roman = true,
            Key::V => {
                if self.decimal {
                    return Err(syntax("cannot use \"V\" and decimal point together"));
                }
                self.multi_flag = true;
            }
            Key::E => {
                if self.eeee {
                    return Err(syntax("cannot use \"EEEE\" twice"));
                }
                if self.blank
                    || self.fill
                    || self.has_lsign
                    || self.bracket
                    || self.minus
                    || self.plus
                    || self.roman
                    || self.multi_flag
                {
                    return Err(syntax("\"EEEE\" is incompatible with other formats")
                        .detail("\"EEEE\" may only be used together with digit and decimal point patterns."));
                }
                self.eeee = true;
            }
            Key::Comma | Key::C | Key::G | Key::L | Key::Sp | Key::ThUpper | Key::ThLower => {}
        }
        Ok(())
    }
}

/// parse_format for a number template: patterns, quoted text (`\` quotes the next character
/// inside quotes; outside them only a `\` before `"` is dropped) and other characters.
fn parse(fmt: &str) -> Result<(Vec<Node>, Desc)> {
    let mut nodes = Vec::new();
    let mut desc = Desc::new();
    let mut rest = fmt;
    while !rest.is_empty() {
        if let Some((kw, k)) = KEYWORDS.iter().find(|(kw, _)| rest.starts_with(kw)) {
            desc.prepare(*k)?;
            nodes.push(Node::Action(*k));
            rest = &rest[kw.len()..];
            continue;
        }
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut chars = quoted.char_indices().peekable();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    end = i + 1;
                    break;
                }
                let c = match (c, chars.peek()) {
                    ('\\', Some(&(_, next))) => {
                        chars.next();
                        next
                    }
                    _ => c,
                };
                nodes.push(Node::Char(c));
            }
            rest = &quoted[end..];
            continue;
        }
        let skip = if rest.starts_with("\\\"") { 1 } else { 0 };
        let c = rest[skip..].chars().next().unwrap_or(' ');
        nodes.push(Node::Char(c));
        rest = &rest[skip + c.len_utf8()..];
    }
    Ok((nodes, desc))
}

/// get_th: the ordinal suffix of the number's last digit (teens take TH).
fn ordinal(number: &[u8], upper: bool) -> Result<&'static str> {
    let len = number.len();
    let last = number.last().copied().unwrap_or(0);
    if !last.is_ascii_digit() {
        return Err(SqlError::new("22P02", format!("\"{}\" is not a number", String::from_utf8_lossy(number))));
    }
    let last = if len > 1 && number[len - 2] == b'1' { b'0' } else { last };
    let th = match last {
        b'1' => ["ST", "st"],
        b'2' => ["ND", "nd"],
        b'3' => ["RD", "rd"],
        _ => ["TH", "th"],
    };
    Ok(th[usize::from(!upper)])
}

/// int_to_roman: 1 to 3999, else 15 `#`.
fn roman(n: i64) -> String {
    const RM1: [&str; 9] = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"];
    const RM10: [&str; 9] = ["X", "XX", "XXX", "XL", "L", "LX", "LXX", "LXXX", "XC"];
    const RM100: [&str; 9] = ["C", "CC", "CCC", "CD", "D", "DC", "DCC", "DCCC", "CM"];
    if !(1..=3999).contains(&n) {
        return "#".repeat(15);
    }
    let mut out = "M".repeat((n / 1000) as usize);
    for (d, table) in [((n / 100) % 10, &RM100), ((n / 10) % 10, &RM10), (n % 10, &RM1)] {
        if d > 0 {
            out.push_str(table[(d - 1) as usize]);
        }
    }
    out
}

/// NUMProc for the to_char direction.
struct Proc<'a> {
    desc: Desc,
    sign: u8,
    sign_wrote: bool,
    num_count: i32,
    num_curr: i32,
    out_pre_spaces: i32,
    num_in: bool,
    number: &'a [u8],
    number_p: usize,
    last_relevant: Option<usize>,
    /// Bytes, as the C buffer: a NUL written where the number ran out ends the text.
    out: Vec<u8>,
}

impl Proc<'_> {
    fn cur(&self) -> u8 {
        self.number.get(self.number_p).copied().unwrap_or(0)
    }

    fn last_relevant_is_point(&self) -> bool {
        self.last_relevant.is_some_and(|l| self.number.get(l) == Some(&b'.'))
    }

    /// IS_PREDEC_SPACE: the `0` of a value below 1 that a `9` shows as a blank.
    fn predec_space(&self) -> bool {
        !self.desc.zero && self.number_p == 0 && self.number.first() == Some(&b'0') && self.desc.post != 0
    }

    /// NUM_numpart_to_char.
    fn numpart(&mut self, k: Key) {
        if self.desc.roman {
            return;
        }
        self.num_in = false;
        let d = self.desc;
        if !self.sign_wrote
            && (self.num_curr >= self.out_pre_spaces || (d.zero && d.zero_start == self.num_curr))
            && (!self.predec_space() || self.last_relevant_is_point())
        {
            if d.has_lsign {
                if d.lsign == LSign::Pre {
                    self.out.push(if self.sign == b'-' { b'-' } else { b'+' });
                    self.sign_wrote = true;
                }
            } else if d.bracket {
                self.out.push(if self.sign == b'+' { b' ' } else { b'<' });
                self.sign_wrote = true;
            } else if self.sign == b'+' {
                if !d.fill {
                    self.out.push(b' ');
                }
                self.sign_wrote = true;
            } else if self.sign == b'-' {
                self.out.push(b'-');
                self.sign_wrote = true;
            }
        }
        if matches!(k, Key::Nine | Key::Zero | Key::D | Key::Dec) {
            if self.num_curr < self.out_pre_spaces && (d.zero_start > self.num_curr || !d.zero) {
                if !d.fill {
                    self.out.push(b' ');
                }
            } else if d.zero && self.num_curr < self.out_pre_spaces && d.zero_start <= self.num_curr {
                self.out.push(b'0');
                self.num_in = true;
            } else {
                if self.cur() == b'.' {
                    if !self.last_relevant_is_point() || d.fill {
                        self.out.push(b'.');
                    }
                } else if self.last_relevant.is_some_and(|l| self.number_p > l) && k != Key::Zero {
                    // Trailing fraction zeros FM drops.
                } else if self.predec_space() {
                    if !d.fill {
                        self.out.push(b' ');
                    } else if self.last_relevant_is_point() {
                        self.out.push(b'0');
                    }
                } else {
                    let c = self.cur();
                    self.out.push(c);
                    self.num_in = true;
                }
                if self.number_p < self.number.len() {
                    self.number_p += 1;
                }
            }
            let mut end = self.num_count + i32::from(self.out_pre_spaces > 0) + i32::from(d.decimal);
            if self.last_relevant.is_some() && self.last_relevant == Some(self.number_p) {
                end = self.num_curr;
            }
            if self.num_curr + 1 == end {
                if self.sign_wrote && d.bracket {
                    self.out.push(if self.sign == b'+' { b' ' } else { b'>' });
                } else if d.has_lsign && d.lsign == LSign::Post {
                    self.out.push(if self.sign == b'-' { b'-' } else { b'+' });
                }
            }
        }
        self.num_curr += 1;
    }
}

/// get_last_relevant_decnum: the last nonzero fraction digit, or the point itself.
fn last_relevant_decnum(number: &[u8]) -> Option<usize> {
    let p = number.iter().position(|c| *c == b'.')?;
    Some(number.iter().enumerate().skip(p + 1).rfind(|(_, c)| **c != b'0').map_or(p, |(i, _)| i))
}

/// NUM_processor (to_char): the template's nodes applied to the prepared digits.
fn process(nodes: &[Node], mut desc: Desc, number: &[u8], out_pre_spaces: i32, sign: u8) -> Result<String> {
    if desc.zero_start > 0 {
        desc.zero_start -= 1;
    }
    if desc.eeee {
        return Ok(String::from_utf8_lossy(number).into_owned());
    }
    if desc.roman {
        let fill = desc.fill;
        desc = Desc { fill, roman: true, zero_start: desc.zero_start, zero_end: desc.zero_end, ..Desc::new() };
    }
    let mut p = Proc {
        desc,
        sign,
        sign_wrote: false,
        num_count: 0,
        num_curr: 0,
        out_pre_spaces: 0,
        num_in: false,
        number,
        number_p: 0,
        last_relevant: None,
        out: Vec::new(),
    };
    if p.desc.plus || p.desc.minus {
        // MI or SG write the sign themselves; PL alone still needs it by the digits.
        p.sign_wrote = !p.desc.plus || p.desc.minus;
    } else {
        if sign != b'-' && p.desc.bracket && p.desc.fill {
            p.desc.bracket = false;
        }
        p.sign_wrote = sign == b'+' && p.desc.fill && !p.desc.has_lsign;
        if p.desc.lsign == LSign::Pre && p.desc.pre == p.desc.pre_lsign_num {
            p.desc.lsign = LSign::Post;
        }
    }
    p.num_count = p.desc.post + p.desc.pre - 1;
    p.out_pre_spaces = out_pre_spaces;
    if p.desc.fill && p.desc.decimal {
        p.last_relevant = last_relevant_decnum(number);
        if let Some(l) = p.last_relevant {
            if p.desc.zero_end > out_pre_spaces {
                let last_zero = (number.len() as i32 - 1).min(p.desc.zero_end - out_pre_spaces);
                if (l as i32) < last_zero {
                    p.last_relevant = Some(last_zero as usize);
                }
            }
        }
    }
    if !p.sign_wrote && p.out_pre_spaces == 0 {
        p.num_count += 1;
    }
    for n in nodes {
        let k = match n {
            Node::Char(c) => {
                let mut b = [0u8; 4];
                p.out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                continue;
            }
            Node::Action(k) => *k,
        };
        let fill = p.desc.fill;
        match k {
            Key::Nine | Key::Zero | Key::Dec | Key::D => p.numpart(k),
            Key::Comma | Key::G => {
                if p.num_in {
                    p.out.push(b',');
                } else if !fill {
                    p.out.push(b' ');
                }
            }
            // The C locale's currency symbol is empty: PostgreSQL writes a blank.
            Key::L => p.out.push(b' '),
            Key::RnUpper | Key::RnLower => {
                let mut r = String::from_utf8_lossy(&number[p.number_p.min(number.len())..]).into_owned();
                if k == Key::RnLower {
                    r = r.to_ascii_lowercase();
                }
                if fill {
                    p.out.extend_from_slice(r.as_bytes());
                } else {
                    p.out.extend_from_slice(format!("{r:>15}").as_bytes());
                }
            }
            Key::ThUpper | Key::ThLower => {
                if p.desc.roman || number.first() == Some(&b'#') || p.sign == b'-' || p.desc.decimal {
                    continue;
                }
                p.out.extend_from_slice(ordinal(number, k == Key::ThUpper)?.as_bytes());
            }
            Key::Mi => {
                if p.sign == b'-' {
                    p.out.push(b'-');
                } else if !fill {
                    p.out.push(b' ');
                }
            }
            Key::Pl => {
                if p.sign == b'+' {
                    p.out.push(b'+');
                } else if !fill {
                    p.out.push(b' ');
                }
            }
            Key::Sg => p.out.push(p.sign),
            Key::B | Key::C | Key::E | Key::Fm | Key::Pr | Key::Sp | Key::S | Key::V => {}
        }
    }
    let end = p.out.iter().position(|c| *c == 0).unwrap_or(p.out.len());
    p.out.truncate(end);
    Ok(String::from_utf8_lossy(&p.out).into_owned())
}

/// The digits of a value that overflows the template's integer positions: `#` for each
/// position, the point where the template has it.
fn hashes(desc: &Desc) -> Vec<u8> {
    let mut s = vec![b'#'; (desc.pre + desc.post + 1) as usize];
    s[desc.pre as usize] = b'.';
    s
}

/// Sign, digits and leading blanks of a value printed with a point (numeric_out or printf's
/// `%.*f`): numstr without its minus, padded or overflowed against the template.
fn digits_with_point(orgnum: &str, desc: &Desc) -> (Vec<u8>, i32, u8) {
    let (sign, numstr) = match orgnum.strip_prefix('-') {
        Some(rest) => (b'-', rest),
        None => (b'+', orgnum),
    };
    let pre_len = numstr.find('.').unwrap_or(numstr.len()) as i32;
    if pre_len < desc.pre {
        (numstr.as_bytes().to_vec(), desc.pre - pre_len, sign)
    } else if pre_len > desc.pre {
        (hashes(desc), 0, sign)
    } else {
        (numstr.as_bytes().to_vec(), 0, sign)
    }
}

/// C's `%+.*e` (and `%.*e` without the forced sign): at least two exponent digits.
fn printf_e(v: f64, digits: usize, force_sign: bool) -> String {
    let s = format!("{v:.digits$e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if force_sign && !mantissa.starts_with('-') { "+" } else { "" };
    format!("{sign}{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

/// PostgreSQL's snprintf `%.*f`: NaN and the infinities by name, the rest as C prints them.
fn printf_f(v: f64, digits: usize) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v < 0.0 { "-Infinity" } else { "Infinity" }.into()
    } else {
        format!("{v:.digits$}")
    }
}

/// numeric_out_sci: the value as `d.ddde±XX` with `scale` fraction digits.
fn numeric_sci(v: &Num, scale: i32) -> String {
    let Num::Fin(x, s) = v else { return v.to_text() };
    let exponent: i64 = if x.sign() == num_bigint::Sign::NoSign {
        0
    } else {
        x.magnitude().to_string().len() as i64 - 1 - i64::from(*s)
    };
    let shifted = i64::from(*s) + exponent;
    let significand = if shifted >= 0 {
        Num::Fin(x.clone(), shifted as u32)
    } else {
        Num::Fin(x * BigInt::from(10).pow((-shifted) as u32), 0)
    };
    let sig = significand.round(i64::from(scale)).to_text();
    format!("{sig}e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs())
}

/// The `#` placeholder of a NaN or infinite value under EEEE: sign blank, point placed.
fn eeee_hashes(desc: &Desc) -> Vec<u8> {
    let mut s = vec![b'#'; (desc.pre + desc.post + 6) as usize];
    s[0] = b' ';
    s[(desc.pre + 1) as usize] = b'.';
    s
}

fn out_of_range(what: &str) -> SqlError {
    SqlError::new(crate::error::code::NUMERIC_VALUE_OUT_OF_RANGE, format!("{what} out of range"))
}

/// `to_char(value, format)` for a number: numeric_to_char, int4_to_char (int2 and int4),
/// int8_to_char, float4_to_char or float8_to_char by the value's type. An empty template
/// gives an empty text.
pub fn to_char(value: &Datum, fmt: &str) -> Result<String> {
    if fmt.is_empty() {
        return Ok(String::new());
    }
    let (nodes, mut desc) = parse(fmt)?;
    let (number, out_pre_spaces, sign): (Vec<u8>, i32, u8) = match value {
        Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_) => {
            let v = value.as_i64().unwrap_or(0);
            let int8 = matches!(value, Datum::Int8(_));
            if desc.roman {
                if int8 && i32::try_from(v).is_err() {
                    return Err(out_of_range("integer"));
                }
                (roman(v).into_bytes(), 0, 0)
            } else if desc.eeee {
                let s = if int8 {
                    numeric_sci(&Num::from_i64(v), desc.post)
                } else {
                    printf_e(v as f64, desc.post as usize, false)
                };
                let s = if s.starts_with('-') { s } else { format!(" {s}") };
                (s.into_bytes(), 0, 0)
            } else {
                let v = if desc.multi_flag {
                    let m = 10f64.powi(desc.multi);
                    desc.pre += desc.multi;
                    if int8 {
                        // dtoi8: 10^multi past bigint's range.
                        if m >= 9.223_372_036_854_776e18 {
                            return Err(out_of_range("bigint"));
                        }
                        v.checked_mul(m as i64).ok_or_else(|| out_of_range("bigint"))?
                    } else {
                        i64::from((v as i32).wrapping_mul(m as i32))
                    }
                } else {
                    v
                };
                let text = v.to_string();
                let (sign, digits) = match text.strip_prefix('-') {
                    Some(rest) => (b'-', rest.to_string()),
                    None => (b'+', text),
                };
                let pre_len = digits.len() as i32;
                let mut numstr = digits.into_bytes();
                if desc.post > 0 {
                    numstr.push(b'.');
                    numstr.extend(std::iter::repeat_n(b'0', desc.post as usize));
                }
                if pre_len < desc.pre {
                    (numstr, desc.pre - pre_len, sign)
                } else if pre_len > desc.pre {
                    (hashes(&desc), 0, sign)
                } else {
                    (numstr, 0, sign)
                }
            }
        }
        Datum::Float4(_) | Datum::Float8(_) => {
            let float4 = matches!(value, Datum::Float4(_));
            let v = value.as_f64().unwrap_or(f64::NAN);
            if desc.roman {
                let r = v.round_ties_even();
                // C's (int) of a value past int's range: INT_MIN on this hardware.
                let r = if r.is_finite() && r.abs() < 2_147_483_648.0 { r as i64 } else { i64::from(i32::MIN) };
                (roman(r).into_bytes(), 0, 0)
            } else if desc.eeee {
                if v.is_nan() || v.is_infinite() {
                    (eeee_hashes(&desc), 0, 0)
                } else {
                    let s = printf_e(v, desc.post as usize, true);
                    (s.replacen('+', " ", usize::from(s.starts_with('+'))).into_bytes(), 0, 0)
                }
            } else {
                let val = if desc.multi_flag {
                    desc.pre += desc.multi;
                    if float4 {
                        f64::from((v as f32) * (10f64.powi(desc.multi) as f32))
                    } else {
                        v * 10f64.powi(desc.multi)
                    }
                } else {
                    v
                };
                let max_digits = if float4 { 6 } else { 15 };
                let pre_len = printf_f(val.abs(), 0).len() as i32;
                if pre_len >= max_digits {
                    desc.post = 0;
                } else if pre_len + desc.post > max_digits {
                    desc.post = max_digits - pre_len;
                }
                digits_with_point(&printf_f(val, desc.post as usize), &desc)
            }
        }
        d => {
            let n = Num::from_datum(d).ok_or_else(|| SqlError::internal("to_char of a non-number"))?;
            if desc.roman {
                let i = n.round(0).to_int("integer", i64::from(i32::MIN), i64::from(i32::MAX))?;
                (roman(i).into_bytes(), 0, 0)
            } else if desc.eeee {
                let s = numeric_sci(&n, desc.post);
                if matches!(n, Num::NaN | Num::Inf(_)) {
                    (eeee_hashes(&desc), 0, 0)
                } else if s.starts_with('-') {
                    (s.into_bytes(), 0, 0)
                } else {
                    (format!(" {s}").into_bytes(), 0, 0)
                }
            } else {
                let val = if desc.multi_flag {
                    let m = Num::Fin(BigInt::from(10).pow(desc.multi as u32), 0);
                    desc.pre += desc.multi;
                    n.mul(&m)?
                } else {
                    n
                };
                digits_with_point(&val.round(i64::from(desc.post)).to_text(), &desc)
            }
        }
    };
    process(&nodes, desc, &number, out_pre_spaces, sign)
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
mod to_char_tests {
    use super::to_char;
    use orbit_engine::table::Datum;

    #[test]
    fn writes_as_postgresql() {
        // From PostgreSQL 15's numeric and int8 regression output.
        let n = |v: &str, f: &str| to_char(&Datum::Numeric(v.into()), f).unwrap();
        let i8 = |v: i64, f: &str| to_char(&Datum::Int8(v), f).unwrap();
        assert_eq!(
            n("-34338492.215397047", "9999999999999999.999999999999999PR"),
            "        <34338492.215397047000000>"
        );
        assert_eq!(n("0", "FM9999999999999999.99999999999999"), "0.");
        assert_eq!(n("4.31", "9.999EEEE"), " 4.310e+00");
        assert_eq!(n("-34338492.215397047", "9.999EEEE"), "-3.434e+07");
        assert_eq!(n("Infinity", "9.999EEEE"), " #.#######");
        assert_eq!(i8(456, "FM9999999999999999THPR"), "456TH");
        assert_eq!(i8(123, "SG9999999999999999th"), "+             123rd");
        assert_eq!(i8(-4567890123456789, "FM9999999999999999THPR"), "<4567890123456789>");
        assert_eq!(i8(456, "L9999999999999999.000"), "               456.000");
        assert_eq!(i8(123, "9999999999999999V9"), "              1230");
        assert_eq!(i8(1999, "RN"), "        MCMXCIX");
        assert_eq!(n("100", "f\"\\\\ool\"999"), "f\\ool 100");
        assert_eq!(to_char(&Datum::Float8(4.2e9), "MI9999999999.99").unwrap(), " 4200000000.00");
        assert_eq!(to_char(&Datum::Float4(4.2e9), "MI9999999999.99").unwrap(), " 4200000000");
        assert_eq!(to_char(&Datum::Float8(f64::NEG_INFINITY), "MI99.99").unwrap(), "-##.##");
        assert_eq!(to_char(&Datum::Float8(f64::NAN), "9.999EEEE").unwrap(), " #.#######");
        assert_eq!(to_char(&Datum::Numeric("1".into()), "").unwrap(), "");
        assert_eq!(to_char(&Datum::Numeric("1".into()), "9.9EEEE9").unwrap_err().code, "42601");
        assert_eq!(to_char(&Datum::Numeric("1".into()), "9.9.9").unwrap_err().code, "42601");
    }
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
