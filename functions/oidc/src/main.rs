//! The OpenID Connect Lambda: wiring only.

// One request at a time per instance: a single-threaded runtime is all Lambda needs.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run(
        oidc::router,
        shared::app::Preload::SETTINGS_AND_SIGNING_KEYS,
    )
    .await
}
