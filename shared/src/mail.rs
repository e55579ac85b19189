//! Mail through SES v2. Throttling is retried by the SDK's standard retry (bounded, with
//! back-off); anything else is final and reported to the caller for a 503, with details logged.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct Mailer {
    ses: Client,
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
    pub fn new(ses: Client) -> Self {
        Self { ses }
    }

    pub fn client(&self) -> &Client {
        &self.ses
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
            .ses
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
