//! The settings Lambda: wiring only.

// One request at a time per instance: a single-threaded runtime is all Lambda needs, and it
// keeps threads, and their allocator arenas, out of the memory bill.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run(settings::router, shared::app::Preload::SETTINGS).await
}
