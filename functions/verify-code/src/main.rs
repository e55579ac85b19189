//! The verify-code Lambda: wiring only.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run(verify_code::router).await
}
