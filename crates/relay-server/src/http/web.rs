//! The web page under `/app/`: plain HTML, CSS and JS modules plus pki-core compiled to
//! WebAssembly (crates/pki-wasm), embedded in the binary so users run no build step.
//!
//! ```text
//!  crates/relay-server/web/*  ──include_bytes!──▶  FILES  ──▶  GET /app/{file}
//!  (written by `cargo xtask web`; CI's `--check` fails if they differ from a fresh build)
//!
//!  GET /            303 → /app/
//!  GET /app/        index.html
//!  GET /app/config.json   {"domains": [...]}: the relay's domains, which the page requires
//!                         the intermediate's name constraints to stay within
//! ```
//!
//! Every answer carries a strict Content-Security-Policy (no inline script or style, no
//! third-party origin; `'wasm-unsafe-eval'` is the one exception, for instantiating the module),
//! `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and `Cache-Control:
//! no-cache` (the files change with the binary; SRI hashes in index.html pin each script, and
//! pki.js fetches the wasm with its hash). The API needs a bearer token, never a cookie, so the
//! page is not open to CSRF.

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde_json::json;

use super::{ApiError, AppState};

/// The Content-Security-Policy of every page answer.
pub(super) const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The embedded files: name, content type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    ("index.html", "text/html; charset=utf-8", include_bytes!("../../web/index.html")),
    ("style.css", "text/css; charset=utf-8", include_bytes!("../../web/style.css")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../../web/app.js")),
    ("api.js", "text/javascript; charset=utf-8", include_bytes!("../../web/api.js")),
    ("ceremony.js", "text/javascript; charset=utf-8", include_bytes!("../../web/ceremony.js")),
    ("pages.js", "text/javascript; charset=utf-8", include_bytes!("../../web/pages.js")),
    ("pki.js", "text/javascript; charset=utf-8", include_bytes!("../../web/pki.js")),
    ("ui.js", "text/javascript; charset=utf-8", include_bytes!("../../web/ui.js")),
    ("pki.wasm", "application/wasm", include_bytes!("../../web/pki.wasm")),
];

/// The page's routes (not part of the API's route table or OpenAPI document).
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/app/") }))
        .route("/app", get(|| async { Redirect::to("/app/") }))
        .route("/app/", get(|| async { file("index.html") }))
        .route("/app/config.json", get(config))
        .route("/app/{file}", get(|Path(name): Path<String>| async move { file(&name) }))
}

/// The headers every answer of the page carries.
fn secured(mut resp: Response) -> Response {
    let headers = resp.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (HeaderName::from_static("cross-origin-resource-policy"), "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    resp
}

fn file(name: &str) -> Response {
    let resp = match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, bytes)) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, *content_type)], *bytes).into_response()
        }
        None => ApiError::NotFound(format!("no page file {name:?}")).into_response(),
    };
    secured(resp)
}

async fn config(State(state): State<AppState>) -> Response {
    let domains: Vec<&str> = state.engine.config().domains.iter().map(|d| d.as_str()).collect();
    secured(axum::Json(json!({ "domains": domains })).into_response())
}

#[cfg(test)]
mod tests {
    use axum::http::{StatusCode, header};

    use super::{CSP, FILES, file};

    #[test]
    fn files_have_their_content_type_and_every_answer_the_security_headers() {
        for (name, want) in [
            ("index.html", "text/html; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
            ("pki.js", "text/javascript; charset=utf-8"),
            ("pki.wasm", "application/wasm"),
        ] {
            let resp = file(name);
            assert_eq!(resp.status(), StatusCode::OK, "{name}");
            assert_eq!(resp.headers()[header::CONTENT_TYPE], want, "{name}");
        }
        for name in ["index.html", "nope.js", "../Cargo.toml"] {
            let resp = file(name);
            let h = resp.headers();
            assert_eq!(h[header::CONTENT_SECURITY_POLICY], CSP, "{name}");
            assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
            assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        }
        assert_eq!(file("nope.js").status(), StatusCode::NOT_FOUND);
        assert!(CSP.contains("script-src 'self' 'wasm-unsafe-eval';") && !CSP.contains("unsafe-inline"));
    }

    #[test]
    fn every_script_and_the_wasm_hash_are_pinned() {
        let html = std::str::from_utf8(FILES[0].2).unwrap_or_default();
        for (name, _, _) in FILES.iter().filter(|(n, _, _)| n.ends_with(".js")) {
            let tag = html.lines().find(|l| l.contains(&format!("\"{name}\""))).unwrap_or_default();
            assert!(tag.contains("integrity=\"sha384-") && tag.len() > 90, "{name} is not pinned: {tag:?}");
        }
        let loader = FILES.iter().find(|(n, _, _)| *n == "pki.js").map(|f| f.2).unwrap_or_default();
        assert!(String::from_utf8_lossy(loader).contains("const WASM_INTEGRITY = \"sha384-"));
        assert!(!html.contains("<script>") && !html.contains("style="), "no inline script or style");
    }
}
