//! Request metrics for `/metrics`, in the Prometheus text format (version 0.0.4).
//!
//! Requests are counted by method, *route template* (`/api/aliases/{id}`, never the concrete
//! path, so ids do not end up as label values and the number of series stays bounded) and
//! status. Paths that match no route are counted as `route="unmatched"`.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{Arc, Mutex},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};

/// Counters, per (method, route, status).
#[derive(Default)]
pub(super) struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Counter>>,
}

#[derive(Default, Clone, Copy)]
struct Counter {
    count: u64,
    seconds: f64,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut map) = self.requests.lock() {
            let c = map.entry((method.to_owned(), route.to_owned(), status)).or_default();
            c.count += 1;
            c.seconds += seconds;
        }
    }

    /// The text exposition of the request counters, plus `extra` gauges `(name, help, value)`.
    pub(super) fn render(&self, extra: &[(&str, &str, u64)]) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP mailrelay_build_info Build information; the value is always 1.");
        let _ = writeln!(out, "# TYPE mailrelay_build_info gauge");
        let _ = writeln!(
            out,
            "mailrelay_build_info{{version=\"{}\",crate=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION"),
            env!("CARGO_PKG_NAME")
        );
        for (name, help, value) in extra {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {value}");
        }
        let snapshot: Vec<((String, String, u16), Counter)> = match self.requests.lock() {
            Ok(map) => map.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            Err(_) => Vec::new(),
        };
        let _ = writeln!(out, "# HELP mailrelay_http_requests_total HTTP requests by method, route and status.");
        let _ = writeln!(out, "# TYPE mailrelay_http_requests_total counter");
        for ((method, route, status), c) in &snapshot {
            let _ = writeln!(
                out,
                "mailrelay_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                c.count
            );
        }
        let _ = writeln!(out, "# HELP mailrelay_http_request_duration_seconds Time spent answering HTTP requests.");
        let _ = writeln!(out, "# TYPE mailrelay_http_request_duration_seconds summary");
        for ((method, route, status), c) in &snapshot {
            let labels = format!("method=\"{method}\",route=\"{}\",status=\"{status}\"", escape(route));
            let _ = writeln!(out, "mailrelay_http_request_duration_seconds_sum{{{labels}}} {}", c.seconds);
            let _ = writeln!(out, "mailrelay_http_request_duration_seconds_count{{{labels}}} {}", c.count);
        }
        out
    }
}

/// Label value escaping (backslash, double quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Middleware: times the request and counts it under its route template.
pub(super) async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    // Extension methods would make a series each: fold them into one.
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let response = next.run(request).await;
    metrics.record(&method, &route, response.status().as_u16(), start.elapsed().as_secs_f64());
    response
}
