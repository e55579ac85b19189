//! The settings Lambda: wiring only. Its schedule (every minute, EventBridge) moves the rollout on
//! (the scheduled switch-on, the overview's count, the campaign's next batch) and rotates the token
//! signing keys when due.

// One request at a time per instance: a single-threaded runtime is all Lambda needs, and it
// keeps threads, and their allocator arenas, out of the memory bill.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run_scheduled(settings::router, shared::app::Preload::SETTINGS, |app| {
        Box::pin(async move {
            let done = shared::flows::rollout::tick(&app).await?;
            Ok(serde_json::json!({
                "switched_on": done.switched_on,
                "mailed": done.mailed,
                "signing_keys_rotated": done.rotated,
            }))
        })
    })
    .await
}
