//! The HTML shell shared by the pages: one small stylesheet, one script per page, and a strict
//! Content-Security-Policy that allows exactly those two by hash (no inline handlers, no eval).

use axum::response::Response;
use data_encoding::BASE64;
use sha2::{Digest, Sha256};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;padding:0 1rem;line-height:1.5;color:#1b1b1b}\
main{max-width:30rem;margin:2rem auto}main.wide{max-width:72rem}\
label{display:block;margin-top:1rem;font-weight:600}input,textarea,select{display:block;width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}\
input[type=checkbox]{display:inline;width:auto;margin-right:.5rem}\
button{margin-top:1rem;padding:.55rem 1.2rem;font-size:1rem;cursor:pointer}button.link{background:none;border:none;color:#0645ad;text-decoration:underline;padding:0}\
.error{color:#b00020;font-weight:600}.ok{color:#0a6b2d;font-weight:600}[hidden]{display:none!important}\
code.key{font-size:1.2rem;letter-spacing:.05em;word-spacing:.4em}img.qr{width:240px;height:240px;image-rendering:pixelated}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.25rem;text-align:left;font-size:.9rem;overflow-wrap:anywhere}\
section{overflow-wrap:anywhere}\
nav ul.tabs{display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;list-style:none;padding:0;margin:1rem 0;border-bottom:1px solid #ccc}\
nav ul.tabs a{display:inline-block;padding:.5rem 0;color:#0645ad}nav ul.tabs a[aria-current=page]{color:#1b1b1b;font-weight:700;border-bottom:3px solid #1b1b1b}\
progress{display:block;width:100%;height:1.25rem}.callout{border:1px solid #bbb;border-radius:4px;padding:0 1rem 1rem;margin:1rem 0;background:#f7f7f7}\
.row-actions button{margin:.2rem .4rem .2rem 0;padding:.3rem .6rem;font-size:.9rem}button:disabled{cursor:not-allowed}\
.filters{display:flex;flex-wrap:wrap;gap:0 1rem;align-items:flex-end}.filters>div{flex:1 1 10rem}\
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dl.facts dt{font-weight:600}dl.facts dd{margin:0}\
.scroll{overflow-x:auto}.scroll table{min-width:44rem}.scroll td{overflow-wrap:normal}\
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}";

fn sha256_b64(s: &str) -> String {
    BASE64.encode(&Sha256::digest(s.as_bytes()))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text for an HTML attribute or element: every character that could end either is escaped.
pub fn escape_attribute(s: &str) -> String {
    escape(s).replace('"', "&quot;").replace('\'', "&#39;")
}

/// A full page: `body` is trusted HTML written in this repository, `script` its only script.
pub fn page(title: &str, body: &str, script: &str) -> Response {
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; connect-src 'self'; \
         img-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
        sha256_b64(script),
        sha256_b64(STYLE)
    );
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}<script>{script}</script></body></html>",
        escape(title)
    );
    crate::http::html(html, &csp)
}
