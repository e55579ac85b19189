//! The sign-in Lambda: wiring only.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::run(sign_in::router).await
}
