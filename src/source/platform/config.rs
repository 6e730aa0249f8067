//! The platform's connection settings (SPEC §2), built by the caller (the CLI, from its
//! settings) and taken by the [`super::Client`]; apart from the source so that the client
//! depends on them without depending on the source that owns it.

use std::path::PathBuf;
use std::time::Duration;

use super::retry::RetryPolicy;

/// Connection settings for the platform (SPEC §2). `Debug` never shows the password.
#[derive(Clone)]
pub struct PlatformConfig {
    /// Base URL without a trailing slash.
    pub base: String,
    pub username: String,
    pub password: String,
    /// The login `domain`.
    pub tenant: String,
    /// Sent as `x-account-id`.
    pub account_id: String,
    pub page_size: u32,
    /// Per request.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Extra PEM CA for a self-signed platform certificate.
    pub ca_cert: Option<PathBuf>,
    /// What the settings are called where they are set, for the errors that ask to fix one.
    pub names: SettingNames,
}

/// The names of the settings behind a [`PlatformConfig`] (the caller knows them; the library
/// names no environment variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingNames {
    pub username: &'static str,
    pub password: &'static str,
    pub tenant: &'static str,
    pub page_size: &'static str,
    pub ca_cert: &'static str,
}

impl std::fmt::Debug for PlatformConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformConfig")
            .field("base", &self.base)
            .field("username", &self.username)
            .field("password", &"***")
            .field("tenant", &self.tenant)
            .field("account_id", &self.account_id)
            .field("page_size", &self.page_size)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("ca_cert", &self.ca_cert)
            .field("names", &self.names)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let cfg = PlatformConfig {
            base: "http://127.0.0.1:1".into(),
            username: "u".into(),
            password: "hunter2".into(),
            tenant: "t".into(),
            account_id: "a".into(),
            page_size: 2000,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::new(5, crate::source::platform::retry::DEFAULT_BASE),
            ca_cert: None,
            names: SettingNames {
                username: "U",
                password: "P",
                tenant: "T",
                page_size: "S",
                ca_cert: "C",
            },
        };
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"));
    }
}
