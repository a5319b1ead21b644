//! The rules on number values: bounds (`MIN_NUMBER`, `MAX_NUMBER`) compared as IEEE-754 doubles, and
//! decimal places (`DECIMAL`) counted as written, as Java's `BigDecimal.scale()` counts them.

/// A number as rules write their bounds: digits with an optional sign, point and exponent. `None`
/// for anything else (`inf`, `NaN`, `0x10`, which Rust would read or refuse differently from Java).
pub fn parse(text: &str) -> Option<f64> {
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if !plain || !text.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|n: &f64| n.is_finite())
}

/// `MIN_NUMBER`.
pub fn at_least(value: &str, bound: f64) -> Result<(), String> {
    match parse(value) {
        Some(n) if n >= bound => Ok(()),
        Some(_) => Err(format!("is less than {bound}")),
        None => Err("is not a number".into()),
    }
}

/// `MAX_NUMBER`.
pub fn at_most(value: &str, bound: f64) -> Result<(), String> {
    match parse(value) {
        Some(n) if n <= bound => Ok(()),
        Some(_) => Err(format!("is more than {bound}")),
        None => Err("is not a number".into()),
    }
}

/// The decimal places of a number as written: digits after the point minus the exponent, at least
/// 0 (`1.50` has 2, `1.5e1` has 0, `1e-3` has 3).
pub fn scale(value: &str) -> i64 {
    let (mantissa, exponent) = match value.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
        None => (value, 0),
    };
    let fraction = mantissa.split_once('.').map_or(0, |(_, f)| f.len() as i64);
    (fraction - exponent).max(0)
}

/// `DECIMAL`.
pub fn decimal_places(value: &str, max: i64) -> Result<(), String> {
    let places = scale(value);
    if places <= max {
        Ok(())
    } else {
        Err(format!("has {places} decimal places, more than {max}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_as_doubles() {
        assert_eq!(parse("-1.5e2"), Some(-150.0));
        assert_eq!(parse("+7"), Some(7.0));
        for bad in ["", "inf", "NaN", "0x10", "1,5", "e"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert!(at_least("10", 10.0).is_ok() && at_least("9.99", 10.0).is_err());
        assert!(at_most("-3", -2.5).is_ok() && at_most("100.01", 100.0).is_err());
    }

    #[test]
    fn decimal_places_as_written() {
        assert_eq!(scale("1.50"), 2);
        assert_eq!(scale("1.5e1"), 0);
        assert_eq!(scale("1e-3"), 3);
        assert_eq!(scale("42"), 0);
        assert_eq!(scale("15E2"), 0);
        assert!(decimal_places("19.99", 2).is_ok());
        let why = decimal_places("19.999", 2).unwrap_err();
        assert!(why.contains("3 decimal places"), "{why}");
    }
}
