//! PostgreSQL values to JSON, by the server's own type.
//!
//! tokio-postgres hands over each value in PostgreSQL's binary format along
//! with its full [`Type`] (including what an array, domain, enum, range or
//! composite is made of). [`Cell`] accepts every type and turns it into JSON
//! faithfully: integers and floats as numbers, `numeric` and `money` as
//! exact strings, `bytea` as base64, `timestamptz` as RFC 3339 in UTC,
//! `timestamp`/`date`/`time` as ISO 8601, `json`/`jsonb` as JSON, `uuid`,
//! `inet`, `interval` and enums as strings, arrays as (nested) arrays and
//! composites as objects. A type this module does not know is shown as its
//! binary form when that is printable text (true of text-like extension
//! types such as `citext`), else as base64; `col::text` in SQL gives the text
//! form of anything.

use std::error::Error;
use std::net::{Ipv4Addr, Ipv6Addr};

use chrono::{Days, NaiveDate, NaiveDateTime, SecondsFormat};
use serde_json::{json, Map, Value};
use tokio_postgres::types::{FromSql, Kind, Type};

use crate::skills::tool::{bytes_json, float32_json, float_json, fraction_text};

/// Microseconds in a second, minute, hour.
pub(super) const US_PER_SECOND: i64 = 1_000_000;
const US_PER_MINUTE: i64 = 60 * US_PER_SECOND;
const US_PER_HOUR: i64 = 60 * US_PER_MINUTE;

/// One result value, decoded to JSON. Accepts every type.
pub(super) struct Cell(pub Value);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Cell(decode(ty, raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Cell(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Decodes one non-null value; malformed data falls back to [`opaque`].
pub(super) fn decode(ty: &Type, raw: &[u8]) -> Value {
    decode_known(ty, raw).unwrap_or_else(|| opaque(raw))
}

/// Bytes of a type we cannot read: text when printable, else base64.
fn opaque(raw: &[u8]) -> Value {
    match std::str::from_utf8(raw) {
        Ok(s)
            if !s
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) =>
        {
            json!(s)
        }
        _ => bytes_json(raw),
    }
}

fn decode_known(ty: &Type, raw: &[u8]) -> Option<Value> {
    match ty.kind() {
        Kind::Array(element) => return decode_array(element, raw),
        Kind::Domain(base) => return Some(decode(base, raw)),
        Kind::Enum(_) => return std::str::from_utf8(raw).ok().map(|s| json!(s)),
        Kind::Composite(fields) => return decode_composite(fields, raw),
        Kind::Range(element) => return decode_range(element, raw).map(Value::String),
        _ => {}
    }
    if ty.schema() != "pg_catalog" {
        return None;
    }
    let mut r = Reader(raw);
    let value = match ty.name() {
        "bool" => json!(r.take(1)?.first()? != &0),
        "int2" => json!(r.i16()?),
        "int4" => json!(r.i32()?),
        "int8" => json!(r.i64()?),
        "oid" | "xid" | "cid" | "regclass" | "regtype" | "regproc" | "regprocedure" | "regoper"
        | "regoperator" | "regconfig" | "regdictionary" | "regnamespace" | "regrole" => {
            json!(r.u32()?)
        }
        "float4" => float32_json(f32::from_bits(r.u32()?)),
        "float8" => float_json(f64::from_bits(r.u64()?)),
        "numeric" => json!(numeric_text(raw)?),
        "money" => json!(money_text(r.i64()?)),
        "char" => json!(char::from(*raw.first()?).to_string()),
        "bytea" => bytes_json(raw),
        "json" => json_text(std::str::from_utf8(raw).ok()?),
        "jsonb" => {
            let (version, text) = raw.split_first()?;
            if *version != 1 {
                return None;
            }
            json_text(std::str::from_utf8(text).ok()?)
        }
        "uuid" => json!(uuid_text(raw)?),
        "timestamp" => json!(timestamp_text(r.i64()?, false)?),
        "timestamptz" => json!(timestamp_text(r.i64()?, true)?),
        "date" => json!(date_text(r.i32()?)?),
        "time" => json!(time_text(r.i64()?)?),
        "timetz" => {
            let time = time_text(r.i64()?)?;
            // PostgreSQL stores the zone as seconds *west* of UTC.
            json!(format!("{time}{}", offset_text(-r.i32()?)))
        }
        "interval" => json!(interval_text(r.i64()?, r.i32()?, r.i32()?)),
        "inet" | "cidr" => json!(inet_text(raw, ty.name() == "cidr")?),
        "bit" | "varbit" => json!(bits_text(raw)?),
        "void" => Value::Null,
        _ => return None,
    };
    Some(value)
}

/// `json`/`jsonb` text as a JSON value (as a string if it does not parse).
fn json_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| json!(text))
}

/// Big-endian reads over a byte slice; `None` when the data runs out.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn i16(&mut self) -> Option<i16> {
        self.array().map(i16::from_be_bytes)
    }
    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }
    fn i32(&mut self) -> Option<i32> {
        self.array().map(i32::from_be_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_be_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_be_bytes)
    }
    /// A length-prefixed value; `Some(None)` is SQL NULL.
    fn field(&mut self) -> Option<Option<&'a [u8]>> {
        let len = self.i32()?;
        if len < 0 {
            return Some(None);
        }
        self.take(usize::try_from(len).ok()?).map(Some)
    }
}

fn decode_array(element: &Type, raw: &[u8]) -> Option<Value> {
    let mut r = Reader(raw);
    let ndim = usize::try_from(r.i32()?).ok()?;
    let _has_nulls = r.i32()?;
    let _element_oid = r.u32()?;
    let mut dims = Vec::with_capacity(ndim);
    for _ in 0..ndim {
        dims.push(usize::try_from(r.i32()?).ok()?);
        let _lower_bound = r.i32()?;
    }
    if dims.is_empty() {
        return Some(json!([]));
    }
    nest(element, &dims, &mut r)
}

/// Reads `dims[0]` items, each itself an array over `dims[1..]`.
fn nest(element: &Type, dims: &[usize], r: &mut Reader<'_>) -> Option<Value> {
    let (&len, inner) = dims.split_first()?;
    let mut items = Vec::with_capacity(len.min(4096));
    for _ in 0..len {
        items.push(if inner.is_empty() {
            r.field()?.map_or(Value::Null, |raw| decode(element, raw))
        } else {
            nest(element, inner, r)?
        });
    }
    Some(Value::Array(items))
}

fn decode_composite(fields: &[tokio_postgres::types::Field], raw: &[u8]) -> Option<Value> {
    let mut r = Reader(raw);
    let count = usize::try_from(r.i32()?).ok()?;
    let mut object = Map::new();
    for index in 0..count {
        let _oid = r.u32()?;
        let value = r.field()?;
        let field = fields.get(index)?;
        let decoded = value.map_or(Value::Null, |raw| decode(field.type_(), raw));
        object.insert(field.name().to_string(), decoded);
    }
    Some(Value::Object(object))
}

/// A range in PostgreSQL's text form, e.g. `[1,10)` or `empty`.
fn decode_range(element: &Type, raw: &[u8]) -> Option<String> {
    const EMPTY: u8 = 0x01;
    const LOWER_INCLUSIVE: u8 = 0x02;
    const UPPER_INCLUSIVE: u8 = 0x04;
    const LOWER_INFINITE: u8 = 0x08;
    const UPPER_INFINITE: u8 = 0x10;
    let mut r = Reader(raw);
    let flags = *r.take(1)?.first()?;
    if flags & EMPTY != 0 {
        return Some("empty".into());
    }
    let mut bound = |infinite: bool| -> Option<String> {
        if infinite {
            return Some(String::new());
        }
        Some(match decode(element, r.field()??) {
            Value::String(s) => s,
            other => other.to_string(),
        })
    };
    let lower = bound(flags & LOWER_INFINITE != 0)?;
    let upper = bound(flags & UPPER_INFINITE != 0)?;
    let open = if flags & LOWER_INCLUSIVE != 0 {
        '['
    } else {
        '('
    };
    let close = if flags & UPPER_INCLUSIVE != 0 {
        ']'
    } else {
        ')'
    };
    Some(format!("{open}{lower},{upper}{close}"))
}

/// `numeric` in PostgreSQL's binary form (base-10000 digits) as exact text.
pub(super) fn numeric_text(raw: &[u8]) -> Option<String> {
    let mut r = Reader(raw);
    let ndigits = usize::try_from(r.i16()?).ok()?;
    let weight = i64::from(r.i16()?);
    let sign = r.u16()?;
    let dscale = usize::from(r.u16()?);
    let mut digits = Vec::with_capacity(ndigits);
    for _ in 0..ndigits {
        digits.push(r.i16()?);
    }
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => {}
    }
    // The group of weight `w` sits at index `weight - w`.
    let group = |w: i64| -> i16 {
        usize::try_from(weight - w)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    let mut out = String::new();
    if sign == 0x4000 && digits.iter().any(|d| *d != 0) {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        out.push_str(&group(weight).to_string());
        for w in (0..weight).rev() {
            out.push_str(&format!("{:04}", group(w)));
        }
    }
    if dscale > 0 {
        let mut fraction = String::new();
        let mut w = -1;
        while fraction.len() < dscale {
            fraction.push_str(&format!("{:04}", group(w)));
            w -= 1;
        }
        fraction.truncate(dscale);
        out.push('.');
        out.push_str(&fraction);
    }
    Some(out)
}

fn money_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn uuid_text(raw: &[u8]) -> Option<String> {
    if raw.len() != 16 {
        return None;
    }
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// PostgreSQL's epoch for dates and timestamps.
pub(super) fn pg_epoch() -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(2000, 1, 1)?.and_hms_opt(0, 0, 0)
}

fn timestamp_text(micros: i64, utc: bool) -> Option<String> {
    match micros {
        i64::MAX => return Some("infinity".into()),
        i64::MIN => return Some("-infinity".into()),
        _ => {}
    }
    let at = pg_epoch()?.checked_add_signed(chrono::Duration::microseconds(micros))?;
    Some(if utc {
        at.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
    } else {
        at.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
    })
}

fn date_text(days: i32) -> Option<String> {
    match days {
        i32::MAX => return Some("infinity".into()),
        i32::MIN => return Some("-infinity".into()),
        _ => {}
    }
    let epoch = pg_epoch()?.date();
    let date = if days >= 0 {
        epoch.checked_add_days(Days::new(u64::try_from(days).ok()?))?
    } else {
        epoch.checked_sub_days(Days::new(u64::from(days.unsigned_abs())))?
    };
    Some(date.format("%Y-%m-%d").to_string())
}

fn time_text(micros: i64) -> Option<String> {
    if !(0..=24 * US_PER_HOUR).contains(&micros) {
        return None;
    }
    let (h, rest) = (micros / US_PER_HOUR, micros % US_PER_HOUR);
    let (m, rest) = (rest / US_PER_MINUTE, rest % US_PER_MINUTE);
    let (s, us) = (rest / US_PER_SECOND, rest % US_PER_SECOND);
    Some(format!(
        "{h:02}:{m:02}:{s:02}{}",
        fraction_text(us.unsigned_abs())
    ))
}

fn offset_text(east_seconds: i32) -> String {
    let sign = if east_seconds < 0 { '-' } else { '+' };
    let abs = east_seconds.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    if s == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    }
}

/// An interval as an ISO 8601 duration, e.g. `P1Y2M3DT4H5M6.5S`.
fn interval_text(micros: i64, days: i32, months: i32) -> String {
    let mut out = String::from("P");
    let (years, months) = (months / 12, months % 12);
    for (n, unit) in [
        (i64::from(years), 'Y'),
        (i64::from(months), 'M'),
        (i64::from(days), 'D'),
    ] {
        if n != 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if micros != 0 {
        out.push('T');
        let (h, rest) = (micros / US_PER_HOUR, micros % US_PER_HOUR);
        let (m, rest) = (rest / US_PER_MINUTE, rest % US_PER_MINUTE);
        let (s, us) = (rest / US_PER_SECOND, rest % US_PER_SECOND);
        if h != 0 {
            out.push_str(&format!("{h}H"));
        }
        if m != 0 {
            out.push_str(&format!("{m}M"));
        }
        if s != 0 || us != 0 {
            let sign = if s == 0 && us < 0 { "-" } else { "" };
            out.push_str(&format!("{sign}{s}{}S", fraction_text(us.unsigned_abs())));
        }
    }
    if out == "P" {
        out.push_str("T0S");
    }
    out
}

fn inet_text(raw: &[u8], cidr: bool) -> Option<String> {
    let mut r = Reader(raw);
    let [family, bits, _is_cidr, len] = r.array::<4>()?;
    let addr = r.take(usize::from(len))?;
    let (text, max_bits) = match family {
        2 => (
            Ipv4Addr::from(<[u8; 4]>::try_from(addr).ok()?).to_string(),
            32,
        ),
        3 => (
            Ipv6Addr::from(<[u8; 16]>::try_from(addr).ok()?).to_string(),
            128,
        ),
        _ => return None,
    };
    Some(if cidr || bits != max_bits {
        format!("{text}/{bits}")
    } else {
        text
    })
}

fn bits_text(raw: &[u8]) -> Option<String> {
    let mut r = Reader(raw);
    let len = usize::try_from(r.i32()?).ok()?;
    let bytes = r.0;
    Some(
        (0..len)
            .map(|i| {
                let byte = bytes.get(i / 8).copied().unwrap_or(0);
                if byte & (0x80 >> (i % 8)) != 0 {
                    '1'
                } else {
                    '0'
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_times_read_as_iso_8601() {
        assert_eq!(interval_text(0, 0, 0), "PT0S");
        assert_eq!(
            interval_text(4 * US_PER_HOUR + 5 * US_PER_MINUTE + 6_500_000, 3, 14),
            "P1Y2M3DT4H5M6.5S"
        );
        assert_eq!(
            time_text(US_PER_HOUR + 250_000).as_deref(),
            Some("01:00:00.25")
        );
        assert_eq!(offset_text(-5 * 3600), "-05:00");
    }
}
