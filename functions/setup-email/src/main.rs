//! The setup-email Lambda: wiring only.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run(setup_email::router).await
}
