//! Percentiles of recorded durations.

use serde_json::{json, Value};

/// p50/p90/p99, mean and max of `samples_ns`, in microseconds.
pub fn summary(samples_ns: &mut [u64]) -> Value {
    if samples_ns.is_empty() {
        return json!({"calls": 0});
    }
    samples_ns.sort_unstable();
    let us = |ns: u64| (ns as f64 / 1000.0 * 10.0).round() / 10.0;
    let at = |p: f64| {
        // The nearest-rank percentile: the smallest sample with at least
        // p of the samples at or below it.
        let rank = (p * samples_ns.len() as f64).ceil() as usize;
        samples_ns[rank.clamp(1, samples_ns.len()) - 1]
    };
    let total: u128 = samples_ns.iter().map(|&ns| u128::from(ns)).sum();
    json!({
        "calls": samples_ns.len(),
        "p50_us": us(at(0.50)),
        "p90_us": us(at(0.90)),
        "p99_us": us(at(0.99)),
        "mean_us": us((total / samples_ns.len() as u128) as u64),
        "max_us": us(samples_ns[samples_ns.len() - 1]),
    })
}

/// The median of a few measurements.
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}
