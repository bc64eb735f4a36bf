//! The API layer's error: an HTTP status, a catalogue key with arguments, and field errors.
//! `From<ServiceError>` is the one mapping from the service layer; each family renders a
//! `Problem` into its own envelope.

use crate::domain::validate::FieldError;
use crate::service::ServiceError;

#[derive(Debug, Clone)]
pub struct Problem {
    pub status: u16,
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
    pub fields: Vec<FieldError>,
    /// Seconds a locked-out caller should wait (Retry-After).
    pub retry_after: Option<i64>,
}

impl Problem {
    pub fn new(status: u16, key: &'static str) -> Self {
        Self {
            status,
            key,
            args: Vec::new(),
            fields: Vec::new(),
            retry_after: None,
        }
    }

    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, value.into()));
        self
    }

    pub fn invalid(fields: Vec<FieldError>) -> Self {
        Self {
            fields,
            ..Self::new(400, "validation.failed")
        }
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(fields) => Problem::invalid(fields),
            ServiceError::Unauthorized { key } => Problem::new(401, key),
            ServiceError::Forbidden { key } => Problem::new(403, key),
            ServiceError::NotFound { key } => Problem::new(404, key),
            ServiceError::Conflict { key, args } => Problem {
                args,
                ..Problem::new(409, key)
            },
            ServiceError::Locked { retry_after_secs } => Problem {
                retry_after: Some(retry_after_secs),
                ..Problem::new(429, "auth.locked")
                    .arg("minutes", ((retry_after_secs + 59) / 60).to_string())
            },
            ServiceError::Throttled {
                key,
                retry_after_secs,
            } => Problem {
                retry_after: Some(retry_after_secs),
                ..Problem::new(429, key).arg("seconds", retry_after_secs.to_string())
            },
            ServiceError::UpgradeRequired { min } => Problem::new(426, "field.format")
                .arg("field", "ver")
                .arg("expected", format!(">= {min}")),
            // A full or read-only state directory is not a bug: say so (507/503), log it once.
            ServiceError::Internal(detail) => match crate::service::storage::note(&detail) {
                Some(crate::service::storage::Fault::Full) => Problem::new(507, "storage.full"),
                Some(crate::service::storage::Fault::ReadOnly) => {
                    Problem::new(503, "storage.read_only")
                }
                None => {
                    tracing::error!(%detail, "internal error");
                    Problem::new(500, "internal")
                }
            },
        }
    }
}

/// `Tx::commit` fails with the store's error; it is a service failure like any other.
impl From<crate::service::StoreError> for Problem {
    fn from(e: crate::service::StoreError) -> Self {
        ServiceError::from(e).into()
    }
}
