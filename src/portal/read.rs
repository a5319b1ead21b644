//! Reading the portal's metadata (property schemas, validation rules): one GET through [`Portal`]
//! (rate gate, retries, the stop switch), its body or the error that says why there is none.

use super::halt::Halt;
use super::response::ErrorItem;
use super::{Call, Portal};

/// The portal's metadata (a property schema, the validation rules) could not be fetched or read.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("{url}: HubSpot refused the token ({status}): {message}")]
    Unauthorized {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url}: object type not found ({status}): {message}")]
    NotFound {
        url: String,
        status: u16,
        message: String,
    },
    /// The portal knows no such object type: the pipeline's mistake, not the portal's. (No URL:
    /// for the embedded sandbox it is an internal port that means nothing to the user.)
    #[error(
        "the portal has no object type {object:?}{hint}; custom objects go by their objectTypeId \
         (\"2-…\") or fully qualified name (\"p_…\")"
    )]
    UnknownObject { object: String, hint: String },
    #[error("{url}: {message} (HTTP 429, daily limit)")]
    DailyLimit { url: String, message: String },
    #[error("{url}: HTTP {status}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    #[error("cannot reach {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("{url}: unexpected response: {reason}")]
    Parse { url: String, reason: String },
    #[error("{url}: not fetched: {reason}")]
    Stopped { url: String, reason: String },
}

/// The body of a successful GET, or the error that says why there is none.
pub async fn get(portal: &Portal, path: &str) -> Result<Vec<u8>, SchemaError> {
    body_of(portal, path, portal.get(path).await)
}

/// [`get`] for a path of the associations API (its own budget).
pub async fn get_links(portal: &Portal, path: &str) -> Result<Vec<u8>, SchemaError> {
    body_of(portal, path, portal.get_links(path).await)
}

/// The body of a GET's successful answer, or the error that says why there is none.
fn body_of(portal: &Portal, path: &str, call: Call) -> Result<Vec<u8>, SchemaError> {
    let url = portal.url(path);
    let reply = match call {
        Call::Answer(reply) => reply,
        Call::Ambiguous(reason) | Call::GaveUp(reason) => {
            return Err(SchemaError::Connect { url, reason });
        }
        Call::Halted => {
            return Err(match portal.halt().reason() {
                Some(Halt::Refused { status, message }) => SchemaError::Unauthorized {
                    url,
                    status,
                    message,
                },
                Some(Halt::DailyLimit(message)) => SchemaError::DailyLimit { url, message },
                Some(other) => SchemaError::Stopped {
                    url,
                    reason: format!("{other:?}"),
                },
                None => SchemaError::Stopped {
                    url,
                    reason: "the run is stopping".into(),
                },
            });
        }
    };
    let status = reply.status;
    if (200..300).contains(&status) {
        return Ok(reply.body);
    }
    let message = hubspot_message(&reply.body);
    Err(match status {
        404 => SchemaError::NotFound {
            url,
            status,
            message,
        },
        _ => SchemaError::Status {
            url,
            status,
            message,
        },
    })
}

/// HubSpot's `message` (and `category`) from an error envelope, else the body's first 200 chars.
pub fn hubspot_message(body: &[u8]) -> String {
    let error = ErrorItem::parse(body);
    match error.category {
        Some(category) if !error.message.is_empty() => format!("{} ({category})", error.message),
        _ if !error.message.is_empty() => error.message,
        _ => String::from_utf8_lossy(body).chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_come_from_hubspot_envelope() {
        let m = hubspot_message(br#"{"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"}"#);
        assert_eq!(
            m,
            "Authentication credentials not found. (INVALID_AUTHENTICATION)"
        );
        assert_eq!(hubspot_message(b"oops"), "oops");
    }
}
