//! The call record (`audit.rs`) as OpenTelemetry: one span and a few
//! metric points per routed call, exported over OTLP. Off unless the
//! service starts with the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or the
//! per-signal `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
//! `…_METRICS_ENDPOINT`); `OTEL_SDK_DISABLED=true` turns it off, and the
//! SDK's other variables (`OTEL_SERVICE_NAME`, `OTEL_BSP_SCHEDULE_DELAY`,
//! `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_EXPORTER_OTLP_HEADERS`, …) apply.
//!
//! Only OTLP over HTTP with protobuf is spoken (the spec's default), so no
//! gRPC stack is built; `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` is refused with a
//! log line that says to use the collector's HTTP port.
//!
//! The names follow OpenTelemetry's MCP conventions where they exist (span
//! `tools/call {tool}`, `mcp.method.name`, `gen_ai.tool.name`,
//! `error.type`, the `mcp.client.operation.duration` histogram — the
//! service is the MCP client of the connector's server) and add ours under
//! `switchboard.*`. Like the file record they carry who, what, how it
//! ended, how long and how many bytes — never an argument or a result.

use std::time::{Duration, SystemTime};

use opentelemetry::metrics::{Histogram, MeterProvider as _};
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_otlp::{MetricExporter, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

use crate::audit::{CallRecord, CallSource, Outcome};

/// The name spans and metrics are reported under (and the default
/// `service.name`).
const SCOPE: &str = "switchboard";
/// How long a shutdown waits for the last export.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// The exporters, when they are on; cheap to clone.
#[derive(Clone, Default)]
pub struct Telemetry {
    on: Option<std::sync::Arc<On>>,
}

struct On {
    traces: SdkTracerProvider,
    tracer: SdkTracer,
    meters: SdkMeterProvider,
    duration: Histogram<f64>,
    request_size: Histogram<u64>,
    response_size: Histogram<u64>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("on", &self.on.is_some())
            .finish()
    }
}

/// What the environment asks for.
#[derive(Debug, PartialEq)]
enum Wanted {
    Off,
    On,
    /// A protocol we do not speak, by name.
    Unsupported(String),
}

fn wanted(var: impl Fn(&str) -> Option<String>) -> Wanted {
    if var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return Wanted::Off;
    }
    let endpoint = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    ]
    .iter()
    .any(|name| var(name).is_some_and(|v| !v.trim().is_empty()));
    if !endpoint {
        return Wanted::Off;
    }
    match var("OTEL_EXPORTER_OTLP_PROTOCOL") {
        Some(protocol) if !protocol.is_empty() && protocol != "http/protobuf" => {
            Wanted::Unsupported(protocol)
        }
        _ => Wanted::On,
    }
}

impl Telemetry {
    /// Turned on by the service's environment, or off. Never fails: a bad
    /// setting is a log line and telemetry stays off.
    pub fn from_env() -> Telemetry {
        match wanted(|name| std::env::var(name).ok()) {
            Wanted::Off => Telemetry::default(),
            Wanted::Unsupported(protocol) => {
                tracing::warn!(
                    "OpenTelemetry is off: OTEL_EXPORTER_OTLP_PROTOCOL={protocol} is not \
                     supported; Switchboard exports OTLP over HTTP (http/protobuf), so unset it \
                     and point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's HTTP port (4318)"
                );
                Telemetry::default()
            }
            Wanted::On => match On::start() {
                Ok(on) => {
                    tracing::info!("OpenTelemetry on: calls are exported over OTLP/HTTP");
                    Telemetry {
                        on: Some(std::sync::Arc::new(on)),
                    }
                }
                Err(err) => {
                    tracing::warn!("OpenTelemetry is off: {err}");
                    Telemetry::default()
                }
            },
        }
    }

    /// Reports one finished call.
    pub fn record(&self, call: &CallRecord) {
        if let Some(on) = &self.on {
            on.record(call);
        }
    }

    /// Sends what is left and stops the exporters. Blocking: call it where
    /// blocking is allowed.
    pub fn shutdown(&self) {
        if let Some(on) = &self.on {
            if let Err(err) = on.traces.shutdown_with_timeout(SHUTDOWN_WAIT) {
                tracing::debug!("OpenTelemetry spans at shutdown: {err}");
            }
            if let Err(err) = on.meters.shutdown_with_timeout(SHUTDOWN_WAIT) {
                tracing::debug!("OpenTelemetry metrics at shutdown: {err}");
            }
        }
    }
}

impl On {
    fn start() -> Result<On, String> {
        let resource = Resource::builder().with_service_name(SCOPE).build();
        let spans = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()
            .map_err(|e| format!("the OTLP span exporter: {e}"))?;
        let metrics = MetricExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .build()
            .map_err(|e| format!("the OTLP metric exporter: {e}"))?;
        let traces = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_batch_exporter(spans)
            .build();
        let meters = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(PeriodicReader::builder(metrics).build())
            .build();
        let meter = meters.meter(SCOPE);
        Ok(On {
            tracer: traces.tracer(SCOPE),
            traces,
            duration: meter
                .f64_histogram("mcp.client.operation.duration")
                .with_unit("s")
                .with_description("How long a routed tools/call took")
                .build(),
            request_size: meter
                .u64_histogram("switchboard.call.request.size")
                .with_unit("By")
                .with_description("The size of a call's arguments as JSON")
                .build(),
            response_size: meter
                .u64_histogram("switchboard.call.response.size")
                .with_unit("By")
                .with_description("The size of a call's answer as JSON")
                .build(),
            meters,
        })
    }

    fn record(&self, call: &CallRecord) {
        let end: SystemTime = call.time.into();
        let start = end
            .checked_sub(Duration::from_secs_f64(call.ms.max(0.0) / 1000.0))
            .unwrap_or(end);
        let common = common_attributes(call);
        let mut attributes = common.clone();
        attributes.push(KeyValue::new(
            "switchboard.request.bytes",
            call.bytes_in as i64,
        ));
        attributes.push(KeyValue::new(
            "switchboard.response.bytes",
            call.bytes_out as i64,
        ));
        if let CallSource::Gateway {
            client: Some(client),
        } = &call.caller
        {
            attributes.push(KeyValue::new("switchboard.client.name", client.clone()));
        }
        let mut span = self
            .tracer
            .span_builder(format!("tools/call {}", call.tool))
            .with_kind(SpanKind::Client)
            .with_start_time(start)
            .with_attributes(attributes)
            .start(&self.tracer);
        if let Some(error) = error_type(call.outcome) {
            span.set_status(Status::error(error));
        }
        span.end_with_timestamp(end);
        self.duration.record(call.ms / 1000.0, &common);
        self.request_size.record(call.bytes_in as u64, &common);
        self.response_size.record(call.bytes_out as u64, &common);
    }
}

/// What both the span and the metric points carry: low-cardinality names.
fn common_attributes(call: &CallRecord) -> Vec<KeyValue> {
    let caller = match call.caller {
        CallSource::Gateway { .. } => "gateway",
        CallSource::Cli => "cli",
        CallSource::Api => "api",
    };
    let mut attributes = vec![
        KeyValue::new("mcp.method.name", "tools/call"),
        KeyValue::new("gen_ai.operation.name", "execute_tool"),
        KeyValue::new("gen_ai.tool.name", call.tool.clone()),
        KeyValue::new("switchboard.connector", call.connector.clone()),
        KeyValue::new("switchboard.caller", caller),
        KeyValue::new("switchboard.outcome", outcome_name(call.outcome)),
    ];
    if let Some(error) = error_type(call.outcome) {
        attributes.push(KeyValue::new("error.type", error));
    }
    attributes
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "ok",
        Outcome::ToolError => "tool_error",
        Outcome::Error => "error",
        Outcome::Cancelled => "cancelled",
        Outcome::Timeout => "timeout",
    }
}

/// `error.type` for a call that did not succeed (the conventions use
/// `tool_error` for an answer with `isError`).
fn error_type(outcome: Outcome) -> Option<&'static str> {
    match outcome {
        Outcome::Ok => None,
        other => Some(outcome_name(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn off_without_an_endpoint_or_when_disabled() {
        assert_eq!(wanted(env(&[])), Wanted::Off);
        assert_eq!(
            wanted(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "  ")])),
            Wanted::Off
        );
        assert_eq!(
            wanted(env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
                ("OTEL_SDK_DISABLED", "TRUE"),
            ])),
            Wanted::Off
        );
    }

    #[test]
    fn on_with_an_endpoint_over_http_only() {
        assert_eq!(
            wanted(env(&[(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://127.0.0.1:4318/v1/traces"
            )])),
            Wanted::On
        );
        assert_eq!(
            wanted(env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ])),
            Wanted::Unsupported("grpc".into())
        );
    }
}
