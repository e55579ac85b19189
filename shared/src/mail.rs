//! Mail through SES v2. Throttling is retried by the SDK's standard retry (bounded, with
//! back-off); anything else is final and reported to the caller for a 503, with details logged.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::error::{Error, Result};

/// The SES client is built on the first mail, not at start-up: most requests send none, and
/// building an SDK client (its runtime plugins, its endpoint rules) is a share of every init.
#[derive(Clone, Debug)]
pub struct Mailer {
    sdk: aws_config::SdkConfig,
    ses: std::sync::Arc<std::sync::OnceLock<Client>>,
}

pub struct Mail<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

fn content(data: &str) -> Result<Content> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| Error::Internal(format!("mail build: {e}")))
}

impl Mailer {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            sdk: sdk.clone(),
            ses: std::sync::Arc::default(),
        }
    }

    pub fn client(&self) -> &Client {
        self.ses.get_or_init(|| Client::new(&self.sdk))
    }

    /// Whether SES will send from `sender`: its identity (or its domain's) is verified.
    pub async fn sender_verified(&self, sender: &str) -> Result<bool> {
        let domain = sender.rsplit_once('@').map(|(_, d)| d);
        for identity in std::iter::once(sender).chain(domain) {
            match self
                .client()
                .get_email_identity()
                .email_identity(identity)
                .send()
                .await
            {
                Ok(out) => {
                    let status = out.verification_status().map(|s| s.as_str());
                    if out.verified_for_sending_status() || status == Some("SUCCESS") {
                        return Ok(true);
                    }
                }
                Err(e) if e.code() == Some("NotFoundException") => {}
                Err(e) => {
                    return Err(Error::unavailable(format!(
                        "ses get_email_identity: {}",
                        DisplayErrorContext(&e)
                    )));
                }
            }
        }
        Ok(false)
    }

    pub async fn send(&self, mail: &Mail<'_>) -> Result<()> {
        let message = Message::builder()
            .subject(content(mail.subject)?)
            .body(
                Body::builder()
                    .text(content(mail.text)?)
                    .html(content(mail.html)?)
                    .build(),
            )
            .build();
        let out = self
            .client()
            .send_email()
            .from_email_address(mail.from)
            .destination(Destination::builder().to_addresses(mail.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) => {
                let code = e.code().unwrap_or("unreachable").to_owned();
                tracing::error!(
                    ses_error = %code,
                    detail = %DisplayErrorContext(&e),
                    "SES refused or failed to send mail"
                );
                Err(Error::EmailUnavailable(admin_message(&code)))
            }
        }
    }
}

/// What an administrator should do, by SES error code.
fn admin_message(code: &str) -> String {
    let hint = match code {
        "MessageRejected" | "MailFromDomainNotVerifiedException" | "NotFoundException" => {
            "the organisation's default email is not a verified sender in SES"
        }
        "AccountSuspendedException" | "SendingPausedException" => {
            "sending is paused or suspended for this AWS account in SES"
        }
        "TooManyRequestsException" | "LimitExceededException" => {
            "the SES sending limits were reached"
        }
        _ => "the mail service could not be reached",
    };
    format!("The setup email could not be sent: {hint}. Ask an administrator, or try again later.")
}
