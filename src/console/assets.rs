//! The console's files, embedded in the binary: its stylesheet, its chart script and the
//! vendored uPlot (MIT, `assets/uPlot.LICENSE`). Nothing is fetched from elsewhere.

use super::request::Page;

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/console.css"),
    ),
    (
        "charts.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/charts.js"),
    ),
    (
        "uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/uPlot.min.css"),
    ),
];

pub fn serve(name: &str) -> Page {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => Page::asset(kind, body),
        None => Page::plain(http::StatusCode::NOT_FOUND, "no such file"),
    }
}
