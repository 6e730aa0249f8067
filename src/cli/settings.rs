//! The settings of SPEC §2: the `APR_*` variables, read once from the environment and `.env`,
//! and turned here into the typed values the library takes (the platform's connection, the
//! state map, the zone choice, the CORS origins). Every variable name lives in `cli`; the
//! library reads no environment and names no variable, except in errors whose label the CLI
//! passes in.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::aggregate::categories::StateMap;
use crate::config::{NamedValue, ZoneChoice};
use crate::error::{Error, Result};
use crate::serve::state::CorsOrigins;
use crate::source::platform::{PlatformConfig, RetryPolicy, SettingNames};

/// The setting naming a state-map file.
pub const STATE_MAP: &str = "APR_STATE_MAP";
/// The setting naming the report zone.
pub const TIMEZONE: &str = "APR_TIMEZONE";
/// The setting holding the server's bearer token.
pub const SERVE_TOKEN: &str = "APR_SERVE_TOKEN";
/// The setting (and `--cors-origins`'s variable) of the CORS allow-list.
pub const CORS_ORIGINS: &str = "APR_CORS_ORIGINS";
/// The setting naming the SMTP server a mailed report goes through.
pub const SMTP_URL: &str = "APR_SMTP_URL";
/// The setting naming a mailed report's sender (else the SMTP user, when it is an address).
pub const MAIL_FROM: &str = "APR_MAIL_FROM";
/// The setting of the MySQL write lease's period in seconds (a Galera cluster's write lock:
/// how long a killed writer holds the other servers back).
pub const MYSQL_LEASE: &str = "APR_MYSQL_LEASE_SECS";
/// The settings of the platform connection that its errors may ask to fix.
pub const PLATFORM_NAMES: SettingNames = SettingNames {
    username: "APR_API_USERNAME",
    password: "APR_API_PASSWORD",
    tenant: "APR_TENANT",
    page_size: "APR_API_PAGE_SIZE",
    ca_cert: "APR_API_CA_CERT",
};

/// The `APR_*` variables, read once by the CLI from the environment and `.env`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    vars: HashMap<String, String>,
}

impl Settings {
    /// Keeps the `APR_*` variables among `vars`.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Settings {
        Settings {
            vars: vars
                .into_iter()
                .filter(|(k, _)| k.starts_with("APR_"))
                .collect(),
        }
    }

    /// A setting's trimmed value; unset and empty are the same.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A required setting, with a one-line error naming it.
    pub fn required(&self, name: &str) -> Result<&str> {
        self.get(name).ok_or_else(|| {
            Error::config(format!(
                "{name} is not set; set it in .env or the environment (see README, Configuration)"
            ))
        })
    }

    /// A setting parsed as a `T`, `default` when unset; `expected` says what it should be.
    fn number<T: std::str::FromStr>(&self, name: &str, default: T, expected: &str) -> Result<T> {
        match self.get(name) {
            Some(v) => v.parse().map_err(|_| {
                Error::config(format!("{name} '{v}' is not valid; expected {expected}"))
            }),
            None => Ok(default),
        }
    }

    /// The rules of the file `APR_STATE_MAP` names, else the built-in ones.
    pub fn state_map(&self) -> Result<StateMap> {
        match self.get(STATE_MAP) {
            Some(p) => StateMap::load(Path::new(p), STATE_MAP),
            None => Ok(StateMap::default()),
        }
    }

    /// The zone asked for: `flag` (`--timezone`; blank is none) beside `APR_TIMEZONE`.
    pub fn zone_choice(&self, flag: Option<String>) -> ZoneChoice {
        ZoneChoice {
            flag,
            env: self.get(TIMEZONE).map(|value| NamedValue {
                name: TIMEZONE,
                value: value.to_string(),
            }),
        }
    }

    /// The bearer token of the server (a secret: environment or `.env` only).
    pub fn serve_token(&self) -> Option<String> {
        self.get(SERVE_TOKEN).map(String::from)
    }

    /// The platform connection of `APR_API_*`, `APR_TENANT` and `APR_ACCOUNT_ID`. A missing
    /// required variable is a one-line config error naming it.
    ///
    /// `APR_API_RETRY_BASE_MS` (not in SPEC §2, default 500) shrinks every backoff wait; the
    /// test suite uses it so that retries do not sleep for real seconds.
    pub fn platform(&self) -> Result<PlatformConfig> {
        let base = self
            .required("APR_API_BASE")?
            .trim()
            .trim_end_matches('/')
            .to_string();
        match reqwest::Url::parse(&base) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => {}
            _ => {
                return Err(Error::config(format!(
                    "APR_API_BASE '{base}' is not an http(s) URL; expected e.g. https://pbx.example.com:9443"
                )));
            }
        }
        let names = PLATFORM_NAMES;
        let username = self.required(names.username)?.to_string();
        let password = self.required(names.password)?.to_string();
        let tenant = self.required(names.tenant)?.to_string();
        let account_id = self.required("APR_ACCOUNT_ID")?.to_string();
        let page_size: u32 = self.number(names.page_size, 2000, "a positive whole number")?;
        if page_size == 0 {
            return Err(Error::config(
                "APR_API_PAGE_SIZE '0' is not usable; expected a positive whole number",
            ));
        }
        let timeout: f64 = self.number("APR_API_TIMEOUT_SECS", 30.0, "seconds, e.g. 30")?;
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(Error::config(format!(
                "APR_API_TIMEOUT_SECS '{timeout}' is not usable; expected seconds above 0, e.g. 30"
            )));
        }
        let max_retries: u32 = self.number("APR_API_MAX_RETRIES", 5, "a whole number, e.g. 5")?;
        let base_ms: u64 = self.number("APR_API_RETRY_BASE_MS", 500, "milliseconds, e.g. 500")?;
        let ca_cert = self.get(names.ca_cert).map(PathBuf::from);
        Ok(PlatformConfig {
            base,
            username,
            password,
            tenant,
            account_id,
            page_size,
            timeout: Duration::from_secs_f64(timeout),
            retry: RetryPolicy::new(max_retries, Duration::from_millis(base_ms)),
            ca_cert,
            names,
        })
    }
}

/// `--cors-origins` / `APR_CORS_ORIGINS` as origins; errors name the setting.
pub fn cors_origins(value: Option<&str>) -> Result<CorsOrigins> {
    match value {
        Some(s) => CorsOrigins::parse(s, CORS_ORIGINS),
        None => Ok(CorsOrigins::None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        Settings::from_vars(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .chain([("HOME".to_string(), "/root".to_string())]),
        )
    }

    const PLATFORM: [(&str, &str); 5] = [
        ("APR_API_BASE", "https://pbx.example.com:9443/"),
        ("APR_API_USERNAME", "u"),
        ("APR_API_PASSWORD", "p"),
        ("APR_TENANT", "t"),
        ("APR_ACCOUNT_ID", "a"),
    ];

    #[test]
    fn only_apr_variables_are_kept_and_blank_is_unset() {
        let s = settings(&[("APR_TIMEZONE", "  "), ("APR_STATE_MAP", " x.toml ")]);
        assert_eq!(s.get("HOME"), None);
        assert_eq!(s.get(TIMEZONE), None);
        assert_eq!(s.get(STATE_MAP), Some("x.toml"));
        let e = s.required("APR_API_BASE").unwrap_err().to_string();
        assert!(e.starts_with("APR_API_BASE is not set; "), "{e}");
    }

    #[test]
    fn the_platform_connection_has_defaults_and_names_a_bad_setting() {
        let cfg = settings(&PLATFORM).platform().unwrap();
        assert_eq!(cfg.base, "https://pbx.example.com:9443");
        assert_eq!(
            (cfg.page_size, cfg.timeout),
            (2000, Duration::from_secs(30))
        );
        let mut vars = PLATFORM.to_vec();
        vars.push(("APR_API_PAGE_SIZE", "many"));
        let e = settings(&vars).platform().unwrap_err().to_string();
        assert_eq!(
            e,
            "APR_API_PAGE_SIZE 'many' is not valid; expected a positive whole number"
        );
        vars[0] = ("APR_API_BASE", "ftp://pbx");
        let e = settings(&vars).platform().unwrap_err().to_string();
        assert!(
            e.starts_with("APR_API_BASE 'ftp://pbx' is not an http(s) URL"),
            "{e}"
        );
        let e = settings(&PLATFORM[..4]).platform().unwrap_err().to_string();
        assert!(e.starts_with("APR_ACCOUNT_ID is not set"), "{e}");
    }

    #[test]
    fn the_zone_setting_travels_with_its_name() {
        let choice = settings(&[("APR_TIMEZONE", "Nowhere/Land")]).zone_choice(None);
        let e = choice.parse().unwrap_err().to_string();
        assert!(e.starts_with("APR_TIMEZONE: "), "{e}");
        let flagged = settings(&[]).zone_choice(Some("UTC".into()));
        assert_eq!(flagged.parse().unwrap().unwrap().name(), "UTC");
    }

    #[test]
    fn a_state_map_that_cannot_be_read_names_the_setting() {
        let e = settings(&[("APR_STATE_MAP", "/nonexistent/map.toml")])
            .state_map()
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("APR_STATE_MAP file '/nonexistent/map.toml' cannot be read"),
            "{e}"
        );
        assert_eq!(settings(&[]).state_map().unwrap(), StateMap::default());
    }

    #[test]
    fn cors_errors_name_the_setting() {
        let e = cors_origins(Some("a.example")).unwrap_err().to_string();
        assert!(e.starts_with("APR_CORS_ORIGINS entry 'a.example'"), "{e}");
        assert!(matches!(cors_origins(None).unwrap(), CorsOrigins::None));
    }
}
