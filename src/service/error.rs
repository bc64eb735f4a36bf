//! The service layer's one error type. Each wire family maps it once to its own envelope
//! (see `api::problem`).

use crate::domain::validate::FieldError;
use crate::store::StoreError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid fields: {0:?}")]
    Invalid(Vec<FieldError>),
    #[error("unauthorized ({key})")]
    Unauthorized { key: &'static str },
    #[error("forbidden ({key})")]
    Forbidden { key: &'static str },
    #[error("not found ({key})")]
    NotFound { key: &'static str },
    #[error("conflict ({key})")]
    Conflict {
        key: &'static str,
        args: Vec<(&'static str, String)>,
    },
    #[error("locked for {retry_after_secs}s")]
    Locked { retry_after_secs: i64 },
    /// A caller asked too often (rate limit or a full queue); `key` says which.
    #[error("throttled ({key}) for {retry_after_secs}s")]
    Throttled {
        key: &'static str,
        retry_after_secs: i64,
    },
    #[error("client version below {min}")]
    UpgradeRequired { min: String },
    #[error("internal: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: &str, key: &'static str, args: Vec<(&'static str, String)>) -> Self {
        let mut args = args;
        args.insert(0, ("field", field.to_string()));
        ServiceError::Invalid(vec![FieldError {
            field: field.to_string(),
            key,
            args,
        }])
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        ServiceError::Conflict {
            key: "conflict",
            args: vec![("detail", detail.into())],
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}
