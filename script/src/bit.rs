//! The arithmetic of LuaBitOp (`bit.*`, loaded by Redis 7.0): 32-bit operations on Lua numbers.
//! Argument checks and error texts live in the prelude.

use mlua::{Lua, Table};

/// LuaBitOp's `barg`: the number is rounded to an integer and wrapped to 32 bits by adding
/// 2^52 + 2^51 and taking the low word of the double.
pub fn tobit(n: f64) -> i32 {
    let shifted = n + 6_755_399_441_055_744.0;
    shifted.to_bits() as u32 as i32
}

pub fn tohex(x: f64, n: f64) -> String {
    let b = tobit(x) as u32;
    let mut n = tobit(n);
    let upper = n < 0;
    if upper {
        n = n.wrapping_neg();
    }
    let n = n.clamp(0, 8) as usize;
    let digits = if upper { format!("{b:08X}") } else { format!("{b:08x}") };
    digits[8 - n..].to_string()
}

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("tobit", lua.create_function(|_, x: f64| Ok(tobit(x)))?)?;
    t.set("bnot", lua.create_function(|_, x: f64| Ok(!tobit(x)))?)?;
    t.set("bswap", lua.create_function(|_, x: f64| Ok(tobit(x).swap_bytes()))?)?;
    t.set("band", lua.create_function(|_, (a, b): (i32, f64)| Ok(a & tobit(b)))?)?;
    t.set("bor", lua.create_function(|_, (a, b): (i32, f64)| Ok(a | tobit(b)))?)?;
    t.set("bxor", lua.create_function(|_, (a, b): (i32, f64)| Ok(a ^ tobit(b)))?)?;
    t.set("lshift", lua.create_function(|_, (x, n): (f64, f64)| Ok(((tobit(x) as u32) << (tobit(n) & 31)) as i32))?)?;
    t.set("rshift", lua.create_function(|_, (x, n): (f64, f64)| Ok(((tobit(x) as u32) >> (tobit(n) & 31)) as i32))?)?;
    t.set("arshift", lua.create_function(|_, (x, n): (f64, f64)| Ok(tobit(x) >> (tobit(n) & 31)))?)?;
    t.set(
        "rol",
        lua.create_function(|_, (x, n): (f64, f64)| Ok((tobit(x) as u32).rotate_left((tobit(n) & 31) as u32) as i32))?,
    )?;
    t.set(
        "ror",
        lua.create_function(|_, (x, n): (f64, f64)| Ok((tobit(x) as u32).rotate_right((tobit(n) & 31) as u32) as i32))?,
    )?;
    t.set("tohex", lua.create_function(|_, (x, n): (f64, f64)| Ok(tohex(x, n)))?)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tobit_wraps_and_rounds() {
        assert_eq!(tobit(4294967296.0 + 5.0), 5);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
        assert_eq!(tobit(1.5), 2); // round half to even
        assert_eq!(tobit(2.5), 2);
    }

    #[test]
    fn tohex_widths() {
        assert_eq!(tohex(255.0, 8.0), "000000ff");
        assert_eq!(tohex(-1.0, -4.0), "FFFF");
        assert_eq!(tohex(1.0, 0.0), "");
    }
}
