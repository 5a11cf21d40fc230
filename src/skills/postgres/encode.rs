//! JSON parameters to PostgreSQL's binary format, by the placeholder's type.
//!
//! A prepared statement tells us the type PostgreSQL inferred for each
//! placeholder; [`encode_params`] encodes each JSON value for that type
//! before anything is sent, so a value that does not fit is a clear tool
//! error rather than a broken connection, and `WHERE id = $1` works whether
//! the caller passed `1` or `"1"`. The forms mirror what [`super::decode`]
//! produces: `numeric` from a number or decimal string, `bytea` from base64,
//! timestamps from RFC 3339, arrays from JSON arrays.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde_json::Value;
use tokio_postgres::types::{to_sql_checked, IsNull, Kind, ToSql, Type};

use super::decode::{pg_epoch, US_PER_SECOND};
use crate::skills::tool::base64_decode;

/// A parameter already in binary form; `None` is SQL NULL.
#[derive(Debug)]
pub(super) struct Encoded(Option<Vec<u8>>);

impl ToSql for Encoded {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match &self.0 {
            None => Ok(IsNull::Yes),
            Some(bytes) => {
                out.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Encodes each JSON value for the type of its placeholder. The error says
/// which parameter did not fit and how to pass it instead.
pub(super) fn encode_params(types: &[Type], values: &[Value]) -> Result<Vec<Encoded>, String> {
    if types.len() != values.len() {
        return Err(format!(
            "the statement has {} placeholder(s) but {} parameter(s) were given",
            types.len(),
            values.len()
        ));
    }
    let mut encoded = Vec::with_capacity(values.len());
    for (index, (ty, value)) in types.iter().zip(values).enumerate() {
        if value.is_null() {
            encoded.push(Encoded(None));
            continue;
        }
        let mut out = BytesMut::new();
        encode(ty, value, &mut out).map_err(|why| {
            format!(
                "parameter ${n} ({value}) cannot be sent as `{ty}`: {why}",
                n = index + 1
            )
        })?;
        encoded.push(Encoded(Some(out.to_vec())));
    }
    Ok(encoded)
}

fn encode(ty: &Type, value: &Value, out: &mut BytesMut) -> Result<(), String> {
    match ty.kind() {
        Kind::Domain(base) => return encode(base, value, out),
        Kind::Enum(_) => return text_of(value).map(|s| out.put_slice(s.as_bytes())),
        Kind::Array(element) => return encode_array(element, value, out),
        _ => {}
    }
    let cast_hint = || {
        format!("this skill cannot bind `{ty}` values directly; write the placeholder as `$n::text::{ty}` and pass text")
    };
    if ty.schema() != "pg_catalog" {
        return Err(cast_hint());
    }
    match ty.name() {
        "bool" => out.put_u8(u8::from(bool_of(value)?)),
        "int2" => out.put_i16(i16::try_from(int_of(value)?).map_err(|_| "out of range for int2")?),
        "int4" => out.put_i32(i32::try_from(int_of(value)?).map_err(|_| "out of range for int4")?),
        "int8" => out.put_i64(int_of(value)?),
        "oid" => out.put_u32(u32::try_from(int_of(value)?).map_err(|_| "out of range for oid")?),
        // Narrowing to f32 is what a float4 column stores anyway.
        "float4" => out.put_f32(float_of(value)? as f32),
        "float8" => out.put_f64(float_of(value)?),
        "numeric" => match value {
            Value::Number(n) => numeric_to_sql(&n.to_string(), out)?,
            Value::String(s) => numeric_to_sql(s, out)?,
            _ => return Err("expected a number or a decimal string".into()),
        },
        "text" | "varchar" | "bpchar" | "name" | "xml" | "unknown" => {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.put_slice(text.as_bytes());
        }
        "json" | "jsonb" => {
            if ty.name() == "jsonb" {
                out.put_u8(1);
            }
            // A string holding JSON is taken as that JSON.
            let text = match value {
                Value::String(s) if serde_json::from_str::<Value>(s).is_ok() => s.clone(),
                other => other.to_string(),
            };
            out.put_slice(text.as_bytes());
        }
        "bytea" => {
            let text = text_of(value)?;
            out.put_slice(&base64_decode(text).ok_or("bytea parameters are base64 text")?);
        }
        "uuid" => {
            let hex: String = text_of(value)?.chars().filter(|c| *c != '-').collect();
            if hex.len() != 32 {
                return Err("expected a UUID like 123e4567-e89b-12d3-a456-426614174000".into());
            }
            for i in (0..32).step_by(2) {
                let byte = u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| "not a UUID")?;
                out.put_u8(byte);
            }
        }
        "timestamptz" => {
            let at = DateTime::parse_from_rfc3339(text_of(value)?)
                .map_err(|_| "expected an RFC 3339 timestamp like 2024-05-01T12:00:00Z")?;
            out.put_i64(micros_since_epoch(at.naive_utc())?);
        }
        "timestamp" => {
            let text = text_of(value)?;
            let at = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
                .ok_or("expected a timestamp like 2024-05-01T12:00:00")?;
            out.put_i64(micros_since_epoch(at)?);
        }
        "date" => {
            let date = NaiveDate::parse_from_str(text_of(value)?, "%Y-%m-%d")
                .map_err(|_| "expected a date like 2024-05-01")?;
            let epoch = pg_epoch().ok_or("no epoch")?.date();
            let days = i32::try_from((date - epoch).num_days()).map_err(|_| "date out of range")?;
            out.put_i32(days);
        }
        "time" => {
            let time = NaiveTime::parse_from_str(text_of(value)?, "%H:%M:%S%.f")
                .map_err(|_| "expected a time like 12:30:00")?;
            let micros = i64::from(time.num_seconds_from_midnight()) * US_PER_SECOND
                + i64::from(time.nanosecond() / 1000);
            out.put_i64(micros);
        }
        _ => return Err(cast_hint()),
    }
    Ok(())
}

fn encode_array(element: &Type, value: &Value, out: &mut BytesMut) -> Result<(), String> {
    let Value::Array(items) = value else {
        return Err("expected a JSON array".into());
    };
    let len = i32::try_from(items.len()).map_err(|_| "array too long")?;
    out.put_i32(if items.is_empty() { 0 } else { 1 });
    out.put_i32(i32::from(items.iter().any(Value::is_null)));
    out.put_u32(element.oid());
    if !items.is_empty() {
        out.put_i32(len);
        out.put_i32(1);
    }
    for item in items {
        if item.is_null() {
            out.put_i32(-1);
            continue;
        }
        let mut one = BytesMut::new();
        encode(element, item, &mut one)?;
        out.put_i32(i32::try_from(one.len()).map_err(|_| "array element too large")?);
        out.put_slice(&one);
    }
    Ok(())
}

fn micros_since_epoch(at: NaiveDateTime) -> Result<i64, String> {
    let epoch = pg_epoch().ok_or("no epoch")?;
    (at - epoch)
        .num_microseconds()
        .ok_or_else(|| "timestamp out of range".to_string())
}

fn text_of(value: &Value) -> Result<&str, String> {
    value
        .as_str()
        .ok_or_else(|| "expected a string".to_string())
}

fn bool_of(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => Ok(true),
            "false" | "f" | "0" => Ok(false),
            _ => Err("expected true or false".into()),
        },
        _ => Err("expected true or false".into()),
    }
}

fn int_of(value: &Value) -> Result<i64, String> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| "expected a whole number".to_string()),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| "expected a whole number".to_string()),
        _ => Err("expected a whole number".into()),
    }
}

fn float_of(value: &Value) -> Result<f64, String> {
    match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| "expected a number".to_string()),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| "expected a number".to_string()),
        _ => Err("expected a number".into()),
    }
}

/// Decimal text (`-12.5`, `1e30`, `NaN`) in `numeric`'s binary form.
pub(super) fn numeric_to_sql(text: &str, out: &mut BytesMut) -> Result<(), String> {
    let text = text.trim();
    let special = match text.to_ascii_lowercase().as_str() {
        "nan" => Some(0xC000),
        "infinity" | "+infinity" | "inf" => Some(0xD000),
        "-infinity" | "-inf" => Some(0xF000),
        _ => None,
    };
    if let Some(sign) = special {
        out.put_i16(0);
        out.put_i16(0);
        out.put_u16(sign);
        out.put_u16(0);
        return Ok(());
    }
    let bad = || format!("`{text}` is not a decimal number");
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (
            &unsigned[..at],
            unsigned[at + 1..].parse::<i64>().map_err(|_| bad())?,
        ),
        None => (unsigned, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac_part.is_empty())
        || !all_digits(int_part)
        || !all_digits(frac_part)
    {
        return Err(bad());
    }
    let frac_len = i64::try_from(frac_part.len()).map_err(|_| bad())?;
    let dscale = u16::try_from((frac_len - exponent).max(0)).map_err(|_| bad())?;
    // value = 0.D × 10^point, D without leading zeros.
    let raw_digits = format!("{int_part}{frac_part}");
    let digits = raw_digits.trim_start_matches('0');
    let stripped = i64::try_from(raw_digits.len() - digits.len()).map_err(|_| bad())?;
    let point = i64::try_from(int_part.len()).map_err(|_| bad())? + exponent - stripped;
    let digits = digits.trim_end_matches('0');
    let mut groups: Vec<i16> = Vec::new();
    let mut weight = 0i64;
    if !digits.is_empty() {
        // Align the point to a group boundary with leading zeros.
        let lead = usize::try_from((4 - point.rem_euclid(4)) % 4).map_err(|_| bad())?;
        let mut aligned = "0".repeat(lead);
        aligned.push_str(digits);
        while aligned.len() % 4 != 0 {
            aligned.push('0');
        }
        let lead = i64::try_from(lead).map_err(|_| bad())?;
        weight = (point + lead) / 4 - 1;
        for chunk in aligned.as_bytes().chunks(4) {
            let group = std::str::from_utf8(chunk)
                .ok()
                .and_then(|s| s.parse::<i16>().ok())
                .ok_or_else(bad)?;
            groups.push(group);
        }
        while groups.last() == Some(&0) {
            groups.pop();
        }
    }
    let weight = i16::try_from(weight).map_err(|_| format!("`{text}` is too large for numeric"))?;
    let ndigits =
        i16::try_from(groups.len()).map_err(|_| format!("`{text}` has too many digits"))?;
    out.put_i16(ndigits);
    out.put_i16(weight);
    out.put_u16(if negative && !groups.is_empty() {
        0x4000
    } else {
        0
    });
    out.put_u16(dscale);
    for group in groups {
        out.put_i16(group);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skills::postgres::decode::numeric_text;

    fn round_trip(text: &str) -> Option<String> {
        let mut out = BytesMut::new();
        numeric_to_sql(text, &mut out).ok()?;
        numeric_text(&out)
    }

    #[test]
    fn numeric_binary_form_round_trips_exactly() {
        for (input, expected) in [
            ("123.45", "123.45"),
            ("-0.0001", "-0.0001"),
            ("0", "0"),
            ("0.00", "0.00"),
            ("10000", "10000"),
            (
                "12345678901234567890.123456789",
                "12345678901234567890.123456789",
            ),
            ("1e30", "1000000000000000000000000000000"),
            ("1.5E-3", "0.0015"),
            ("NaN", "NaN"),
        ] {
            assert_eq!(round_trip(input).as_deref(), Some(expected), "{input}");
        }
        assert!(numeric_to_sql("12abc", &mut BytesMut::new()).is_err());
    }
}
