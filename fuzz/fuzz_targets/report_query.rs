//! Arbitrary bytes as the query string of `GET /api/report`, through the real router of
//! `apr serve` (tests/support/hostile.rs): 400 with one JSON line naming the problem, or
//! 503 when the parameters are valid and the database is missing; never a panic or a 500.
//! `cargo +nightly fuzz run report_query` from the repository root.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

// Shared with the normal suite; each target uses its own part of it.
#[allow(dead_code)]
#[path = "../../tests/support/hostile.rs"]
mod hostile;

fn router() -> &'static (tokio::runtime::Runtime, axum::Router) {
    static ROUTER: OnceLock<(tokio::runtime::Runtime, axum::Router)> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let missing = std::env::temp_dir().join("apr-fuzz-no-such-dir/missing.db");
        (rt, hostile::report_router(missing))
    })
}

fuzz_target!(|data: &[u8]| {
    let (rt, app) = router();
    hostile::check_report_query(rt, app, data);
});
