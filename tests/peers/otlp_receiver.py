"""An OTLP/HTTP receiver for the telemetry tests: it takes what an
OpenTelemetry exporter posts to /v1/traces and /v1/metrics (protobuf, the
spec's default), decodes it with the OpenTelemetry project's own protobuf
classes (opentelemetry-proto), and prints one JSON line per span and per
metric data point on stdout, flushed at once. Every raw body is also
appended to the file given with --raw, so a test can search the bytes the
exporter sent for values that must never be there.

    python otlp_receiver.py --raw FILE
    -> "listening on http://127.0.0.1:PORT" on stderr, then the lines
"""
import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def value_of(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def attributes(pairs):
    return {pair.key: value_of(pair.value) for pair in pairs}


def spans(body):
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield {
                    "signal": "span",
                    "service": resource.get("service.name"),
                    "name": span.name,
                    "kind": span.kind,
                    "status": span.status.code,
                    "duration_ns": span.end_time_unix_nano - span.start_time_unix_nano,
                    "attributes": attributes(span.attributes),
                }


def points(body):
    request = ExportMetricsServiceRequest()
    request.ParseFromString(body)
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                data = getattr(metric, metric.WhichOneof("data"))
                for point in data.data_points:
                    line = {
                        "signal": "metric",
                        "name": metric.name,
                        "unit": metric.unit,
                        "attributes": attributes(point.attributes),
                    }
                    if hasattr(point, "count"):
                        line["count"] = point.count
                        line["sum"] = point.sum
                    yield line


# Requests are served on threads of their own: one writes at a time, so
# lines never interleave.
OUTPUT = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/v1/traces":
            lines, answer = spans(body), ExportTraceServiceResponse()
        elif self.path == "/v1/metrics":
            lines, answer = points(body), ExportMetricsServiceResponse()
        else:
            self.send_error(404)
            return
        with OUTPUT:
            with open(self.server.raw, "ab") as raw:
                raw.write(body)
            for line in lines:
                sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
        reply = answer.SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--raw", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.raw = args.raw
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
