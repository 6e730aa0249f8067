//! `apr serve` (SPEC §7.5): the report over HTTP until SIGINT/SIGTERM. Also holds the
//! options `serve-once` shares.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use clap::Args as ClapArgs;

use crate::cli::global::GlobalArgs;
use crate::cli::settings::{SERVE_TOKEN, cors_origins};
use crate::error::Error;
use crate::serve::ServerConfig;
use crate::serve::state::AppState;

/// Options of both server commands.
#[derive(Debug, Clone, ClapArgs)]
pub struct ServerArgs {
    /// Address to listen on; port 0 picks a free port
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:6699")]
    pub listen: String,
    /// Allow a non-loopback --listen without APR_SERVE_TOKEN
    #[arg(long)]
    pub allow_public: bool,
    /// Seconds a client may take to send its request line and headers
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds a new connection may stay silent before its first byte (`serve`; capped by
    /// --header-timeout): silent sockets give their slots back to real requests
    #[arg(long, value_name = "SECS", default_value_t = crate::serve::DEFAULT_FIRST_BYTE_TIMEOUT.as_secs())]
    pub first_byte_timeout: u64,
    /// Origins browsers may read responses from: '*' or comma-separated origins
    #[arg(long, value_name = "ORIGINS", env = "APR_CORS_ORIGINS")]
    pub cors_origins: Option<String>,
    /// Also accept APR_SERVE_TOKEN as ?token= in the URL (for a browser without a proxy).
    /// Risk: URLs with the token end up in browser history, bookmarks and proxy logs
    #[arg(long)]
    pub token_in_query: bool,
    /// The live board (/live, /api/live, /metrics) flags a source whose data is older
    #[arg(long, value_name = "SPAN", default_value = "2m",
          value_parser = crate::cli::global::SpanParser("--stale-after"))]
    pub stale_after: i64,
}

impl ServerArgs {
    /// Validates the options and reads the token (a secret: environment or `.env` only).
    pub fn config(&self, global: &GlobalArgs) -> crate::Result<ServerConfig> {
        let listen = resolve_listen(&self.listen)?;
        if self.header_timeout == 0 {
            return Err(Error::usage(
                "--header-timeout 0 is not allowed; expected a number of seconds above 0",
            ));
        }
        if self.first_byte_timeout == 0 {
            return Err(Error::usage(
                "--first-byte-timeout 0 is not allowed; expected a number of seconds above 0",
            ));
        }
        Ok(ServerConfig {
            listen,
            allow_public: self.allow_public,
            header_timeout: Duration::from_secs(self.header_timeout),
            first_byte_timeout: Duration::from_secs(self.first_byte_timeout),
            cors: cors_origins(self.cors_origins.as_deref())?,
            state: AppState {
                database: global.database_url.clone(),
                zone_choice: global.zone_choice(),
                token: global.settings.serve_token(),
                token_name: SERVE_TOKEN,
                token_in_query: self.token_in_query,
                stale_after_secs: self.stale_after,
                state_map: global.settings.state_map()?,
            },
        })
    }
}

/// `--listen` as a socket address: `IP:PORT`, `[IPv6]:PORT`, or `HOST:PORT` with the host
/// name resolved (`localhost:6699`). Of a name's addresses, an IPv4 one is preferred (what
/// `localhost` means to most clients); the loopback check of the server applies to it.
fn resolve_listen(listen: &str) -> crate::Result<SocketAddr> {
    let listen = listen.trim();
    let bad = |why: &str| {
        Error::usage(format!(
            "--listen '{listen}' {why}; expected IP:PORT or HOST:PORT, e.g. 127.0.0.1:6699 or localhost:6699"
        ))
    };
    if let Ok(addr) = listen.parse::<SocketAddr>() {
        return Ok(addr);
    }
    match listen.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
        _ => return Err(bad("is not an address")),
    }
    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .map_err(|_| bad("names a host that does not resolve"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| bad("names a host with no address"))
}

/// Runs a future on a small runtime of its own; the blocking report work has its own pool.
pub(crate) fn block_on<F: std::future::Future<Output = crate::Result<()>>>(
    f: F,
) -> crate::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime", e))?
        .block_on(f)
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub server: ServerArgs,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let cfg = args.server.config(global)?;
    // A database that does not exist is an error at start (exit 2), not a 503 per request.
    global.open_read_only()?;
    Ok(block_on(crate::serve::run(cfg))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_takes_addresses_and_host_names() {
        assert_eq!(
            resolve_listen("127.0.0.1:6699").unwrap(),
            "127.0.0.1:6699".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            resolve_listen("[::1]:0").unwrap(),
            "[::1]:0".parse::<SocketAddr>().unwrap()
        );
        let local = resolve_listen("localhost:6699").unwrap();
        assert!(local.ip().is_loopback() && local.port() == 6699, "{local}");
        for bad in [
            "localhost",
            "6699",
            ":6699",
            "localhost:port",
            "localhost:70000",
        ] {
            let e = resolve_listen(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(&format!("--listen '{bad}'")), "{e}");
        }
    }
}
