//! The settings Lambda: wiring only.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run(settings::router).await
}
