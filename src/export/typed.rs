//! The Parquet type of each exported column, and the values turned into Arrow arrays.
//!
//! A column starts at the narrowest type its property's schema type allows — number → decimal with
//! scale 0, date → `Date32`, datetime → `Timestamp(ms, UTC)`, bool → `Boolean`, everything else
//! `Utf8` — and widens as values arrive that need more: a decimal's scale grows to the most
//! fractional digits seen (trailing zeros aside) while integer digits plus scale fit 38; past that,
//! or for a number in exponent form, it becomes `Float64`; a value that fits no typed form (a date
//! that is not a date) makes the column `Utf8`. Widening never loses a value: every type on the
//! ladder holds every value of the types below it. Empty values are nulls in typed columns.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Decimal128Type, Float64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field, TimeUnit};
use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::portal::schema::PropertyType;
use crate::prepare::values::{iso_date, render_datetime};

/// Decimal128's largest precision.
const MAX_DIGITS: u8 = 38;
const MS_PER_DAY: i64 = 86_400_000;

/// What a column holds, from the property schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Text,
    Number,
    Date,
    DateTime,
    Bool,
}

impl Kind {
    /// The kind of a property of schema type `kind`.
    pub fn of(kind: &PropertyType) -> Kind {
        match kind {
            PropertyType::Number => Kind::Number,
            PropertyType::Date => Kind::Date,
            PropertyType::DateTime => Kind::DateTime,
            PropertyType::Bool => Kind::Bool,
            _ => Kind::Text,
        }
    }
}

/// The Arrow type a column is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Physical {
    Utf8,
    /// `Decimal128(38, scale)`.
    Decimal(i8),
    Float64,
    Date32,
    /// `Timestamp(Millisecond, "UTC")`.
    TimestampMs,
    Boolean,
}

impl Physical {
    pub fn data_type(self) -> DataType {
        match self {
            Physical::Utf8 => DataType::Utf8,
            Physical::Decimal(scale) => DataType::Decimal128(MAX_DIGITS, scale),
            Physical::Float64 => DataType::Float64,
            Physical::Date32 => DataType::Date32,
            Physical::TimestampMs => {
                DataType::Timestamp(TimeUnit::Millisecond, Some(Arc::from("UTC")))
            }
            Physical::Boolean => DataType::Boolean,
        }
    }
}

/// A column's type so far, and what its values need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    pub physical: Physical,
    /// The most integer digits of any decimal value seen (a wider scale must still fit 38 digits).
    pub int_digits: u8,
}

impl Typing {
    /// The narrowest type of `kind`.
    pub fn new(kind: Kind) -> Typing {
        let physical = match kind {
            Kind::Text => Physical::Utf8,
            Kind::Number => Physical::Decimal(0),
            Kind::Date => Physical::Date32,
            Kind::DateTime => Physical::TimestampMs,
            Kind::Bool => Physical::Boolean,
        };
        Typing {
            physical,
            int_digits: 0,
        }
    }

    pub fn field(&self, name: &str) -> Field {
        Field::new(name, self.physical.data_type(), true)
    }

    /// Widens the type as far as `value` needs.
    pub fn admit(&mut self, value: &str) {
        if value.is_empty() {
            return;
        }
        self.physical = match self.physical {
            Physical::Utf8 => Physical::Utf8,
            Physical::Decimal(scale) => match decimal_shape(value) {
                Some((int_digits, needed)) => {
                    let int_digits = int_digits.max(self.int_digits);
                    let scale = needed.max(scale as u8);
                    if int_digits + scale <= MAX_DIGITS {
                        self.int_digits = int_digits;
                        Physical::Decimal(scale as i8)
                    } else {
                        Physical::Float64
                    }
                }
                None if float(value).is_some() => Physical::Float64,
                None => Physical::Utf8,
            },
            Physical::Float64 if float(value).is_some() => Physical::Float64,
            Physical::Date32 if date(value).is_some() => Physical::Date32,
            Physical::TimestampMs if instant(value).is_some() => Physical::TimestampMs,
            Physical::Boolean if boolean(value).is_some() => Physical::Boolean,
            Physical::Float64 | Physical::Date32 | Physical::TimestampMs | Physical::Boolean => {
                Physical::Utf8
            }
        };
    }
}

/// Integer digits (leading zeros aside) and the fractional digits that matter (trailing zeros
/// aside) of a plain decimal `-?digits[.digits]`; `None` for any other form.
fn decimal_shape(value: &str) -> Option<(u8, u8)> {
    let body = value.strip_prefix('-').unwrap_or(value);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    if body.ends_with('.') {
        return None;
    }
    let int = int.trim_start_matches('0').len();
    let frac = frac.trim_end_matches('0').len();
    Some((
        u8::try_from(int).unwrap_or(u8::MAX),
        u8::try_from(frac).unwrap_or(u8::MAX),
    ))
}

/// The unscaled value of a plain decimal at `scale`, when it fits.
fn decimal(value: &str, scale: i8) -> Option<i128> {
    let (negative, body) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let frac = frac.trim_end_matches('0');
    let scale = usize::try_from(scale).ok()?;
    if frac.len() > scale || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut unscaled: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        unscaled = unscaled
            .checked_mul(10)?
            .checked_add(i128::from(b - b'0'))?;
    }
    for _ in frac.len()..scale {
        unscaled = unscaled.checked_mul(10)?;
    }
    Some(if negative { -unscaled } else { unscaled })
}

/// An unscaled decimal rendered exactly.
fn render_decimal(unscaled: i128, scale: i8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let scale = usize::try_from(scale).unwrap_or(0);
    let sign = if unscaled < 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

fn float(value: &str) -> Option<f64> {
    value.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn epoch_ms(value: &str) -> Option<i64> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// Days since 1970-01-01 of `YYYY-MM-DD`, or of epoch milliseconds at midnight UTC.
fn date(value: &str) -> Option<i32> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    if let Some(d) = iso_date(value) {
        return i32::try_from((d - epoch).num_days()).ok();
    }
    let ms = epoch_ms(value)?;
    (ms.rem_euclid(MS_PER_DAY) == 0)
        .then(|| i32::try_from(ms.div_euclid(MS_PER_DAY)).ok())
        .flatten()
}

/// Milliseconds since the epoch of an ISO 8601 / RFC 3339 instant, or of epoch milliseconds.
fn instant(value: &str) -> Option<i64> {
    canonical_instant(value)
        .or_else(|| epoch_ms(value))
        .or_else(|| {
            DateTime::parse_from_rfc3339(value)
                .ok()
                .map(|t| t.timestamp_millis())
        })
}

/// HubSpot's own form, `YYYY-MM-DDTHH:MM:SS.sssZ` (or without the milliseconds), read without
/// chrono's general parser: every record has two of them, and most datetimes look like this.
fn canonical_instant(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    let with_ms = b.len() == 24 && b[19] == b'.';
    if !(with_ms || b.len() == 20) || b[b.len() - 1] != b'Z' || b[10] != b'T' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let ms = if with_ms { num(20..23)? } else { 0 };
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = i64::from(date(&value[..10])?);
    Some(days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + ms)
}

fn boolean(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// The array of `values` as `physical`, and whether every non-empty value fitted. A value that does
/// not fit is a null here: the caller widens the column ([`Typing::admit`]) and builds again.
pub fn array(physical: Physical, values: &[Option<String>]) -> (ArrayRef, bool) {
    let n = values.len();
    let mut fits = true;
    // A non-empty value that parses to nothing does not fit.
    fn parse<T>(v: &Option<String>, fits: &mut bool, f: impl Fn(&str) -> Option<T>) -> Option<T> {
        let v = v.as_deref().filter(|v| !v.is_empty())?;
        let parsed = f(v);
        *fits &= parsed.is_some();
        parsed
    }
    let array: ArrayRef = match physical {
        Physical::Utf8 => {
            let mut b = StringBuilder::with_capacity(n, n * 16);
            values.iter().for_each(|v| b.append_option(v.as_deref()));
            Arc::new(b.finish())
        }
        Physical::Decimal(scale) => {
            let mut b = Decimal128Builder::with_capacity(n);
            for v in values {
                b.append_option(parse(v, &mut fits, |v| decimal(v, scale)));
            }
            Arc::new(
                b.finish()
                    .with_precision_and_scale(MAX_DIGITS, scale)
                    .expect("precision 38 and a scale of at most 38 are valid"),
            )
        }
        Physical::Float64 => {
            let mut b = Float64Builder::with_capacity(n);
            for v in values {
                b.append_option(parse(v, &mut fits, float));
            }
            Arc::new(b.finish())
        }
        Physical::Date32 => {
            let mut b = Date32Builder::with_capacity(n);
            for v in values {
                b.append_option(parse(v, &mut fits, date));
            }
            Arc::new(b.finish())
        }
        Physical::TimestampMs => {
            let mut b = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
            for v in values {
                b.append_option(parse(v, &mut fits, instant));
            }
            Arc::new(b.finish())
        }
        Physical::Boolean => {
            let mut b = BooleanBuilder::with_capacity(n);
            for v in values {
                b.append_option(parse(v, &mut fits, boolean));
            }
            Arc::new(b.finish())
        }
    };
    (array, fits)
}

/// Value `i` of an array written as `physical`, rendered back as text (for widening a column
/// already written: the text fits every wider type).
pub fn render(array: &dyn Array, physical: Physical, i: usize) -> Option<String> {
    if array.is_null(i) {
        return None;
    }
    Some(match physical {
        Physical::Utf8 => array.as_string::<i32>().value(i).to_string(),
        Physical::Decimal(scale) => {
            render_decimal(array.as_primitive::<Decimal128Type>().value(i), scale)
        }
        Physical::Float64 => array.as_primitive::<Float64Type>().value(i).to_string(),
        Physical::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(i);
            NaiveDate::from_ymd_opt(1970, 1, 1)?
                .checked_add_signed(chrono::Duration::days(i64::from(days)))?
                .format("%Y-%m-%d")
                .to_string()
        }
        Physical::TimestampMs => {
            let ms = array.as_primitive::<TimestampMillisecondType>().value(i);
            render_datetime(DateTime::from_timestamp_millis(ms)?)
        }
        Physical::Boolean => array.as_boolean().value(i).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(kind: Kind, values: &[&str]) -> Typing {
        let mut typing = Typing::new(kind);
        values.iter().for_each(|v| typing.admit(v));
        typing
    }

    #[test]
    fn numbers_take_the_decimal_they_need() {
        assert_eq!(
            typed(Kind::Number, &["3", "12.50", "-0.5", ""]).physical,
            Physical::Decimal(1)
        );
        assert_eq!(
            typed(Kind::Number, &["1", "1.125"]).physical,
            Physical::Decimal(3)
        );
        // 30 integer digits and 9 decimals do not fit 38 digits.
        let wide = format!("{}.5", "9".repeat(30));
        assert_eq!(
            typed(Kind::Number, &[&wide, "0.123456789"]).physical,
            Physical::Float64
        );
        assert_eq!(typed(Kind::Number, &["1.5e3"]).physical, Physical::Float64);
        assert_eq!(typed(Kind::Number, &["n/a"]).physical, Physical::Utf8);
        assert_eq!(
            typed(Kind::Number, &["1e3", "n/a"]).physical,
            Physical::Utf8
        );
    }

    #[test]
    fn dates_datetimes_and_bools_or_text() {
        assert_eq!(
            typed(Kind::Date, &["2024-01-31", "1706659200000"]).physical,
            Physical::Date32
        );
        assert_eq!(
            typed(Kind::Date, &["2024-01-31", "soon"]).physical,
            Physical::Utf8
        );
        assert_eq!(
            typed(
                Kind::DateTime,
                &["2024-01-31T09:30:00.000Z", "1706693400000"]
            )
            .physical,
            Physical::TimestampMs
        );
        assert_eq!(
            typed(Kind::Bool, &["true", "FALSE"]).physical,
            Physical::Boolean
        );
        assert_eq!(typed(Kind::Bool, &["yes"]).physical, Physical::Utf8);
        assert_eq!(typed(Kind::Text, &["1"]).physical, Physical::Utf8);
    }

    #[test]
    fn decimals_are_exact_both_ways() {
        for (text, scale, back) in [
            ("12.5", 2, "12.50"),
            ("-0.05", 2, "-0.05"),
            ("7", 0, "7"),
            ("0012.340", 3, "12.340"),
        ] {
            let unscaled = decimal(text, scale).unwrap();
            assert_eq!(render_decimal(unscaled, scale), back, "{text}");
        }
        assert_eq!(decimal("1.25", 1), None);
        let max = "9".repeat(38);
        assert_eq!(render_decimal(decimal(&max, 0).unwrap(), 0), max);
    }

    #[test]
    fn arrays_render_back_to_their_values() {
        let cases: [(Physical, &[&str]); 5] = [
            (Physical::Decimal(2), &["12.50", "-3.00"]),
            (Physical::Float64, &["1500", "0.1"]),
            (Physical::Date32, &["2024-01-31", "1969-12-31"]),
            (Physical::TimestampMs, &["2024-01-31T09:30:00.123Z"]),
            (Physical::Boolean, &["true", "false"]),
        ];
        for (physical, values) in cases {
            let mut cells: Vec<Option<String>> =
                values.iter().map(|v| Some(v.to_string())).collect();
            cells.push(None);
            let (array, fits) = array(physical, &cells);
            assert!(fits);
            assert_eq!(array.data_type(), &physical.data_type());
            let back: Vec<Option<String>> = (0..array.len())
                .map(|i| render(&array, physical, i))
                .collect();
            assert_eq!(back, cells, "{physical:?}");
        }
        let (epoch, _) = array(Physical::Date32, &[Some("1706659200000".to_string())]);
        assert_eq!(render(&epoch, Physical::Date32, 0).unwrap(), "2024-01-31");
        let (_, fits) = array(Physical::Decimal(1), &[Some("1.25".into()), None]);
        assert!(!fits, "more decimals than the scale");
        let (_, fits) = array(Physical::Boolean, &[Some("".into()), Some("yes".into())]);
        assert!(!fits);
    }

    #[test]
    fn hubspot_datetimes_read_fast_and_right() {
        for text in [
            "2024-01-31T09:30:00.123Z",
            "2024-01-31T09:30:00Z",
            "1969-12-31T23:59:59.999Z",
            "2024-02-29T00:00:00.000Z",
        ] {
            let chrono = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .timestamp_millis();
            assert_eq!(canonical_instant(text), Some(chrono), "{text}");
        }
        for other in [
            "2024-01-31T09:30:00+01:00",
            "2024-02-30T00:00:00Z",
            "2024-01-31T24:00:00Z",
        ] {
            assert_eq!(canonical_instant(other), None, "{other}");
        }
        assert_eq!(
            instant("2024-01-31T10:30:00+01:00"),
            instant("2024-01-31T09:30:00Z")
        );
    }
}
