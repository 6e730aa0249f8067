//! Where the loading commands fetch from: a replay directory (`--source DIR`) or the live
//! platform, which is logged in to before anything is written and whose fresh login token
//! is kept for the next run.

use std::path::Path;

use crate::bounds::TimeBounds;
use crate::error::Result;
use crate::hours::Zone;
use crate::model::CachedToken;
use crate::source::Source;
use crate::source::platform::{ClientCounters, PlatformConfig, PlatformSource};
use crate::source::replay::ReplayDir;
use crate::store::Store;

/// The source of a collect or init-load run.
pub enum Upstream {
    Replay(ReplayDir),
    Platform(Box<PlatformSource>),
}

impl Upstream {
    /// A replay directory, read and validated now (see [`ReplayDir::open`]).
    pub fn replay(dir: &Path, zone: Zone, bounds: &TimeBounds) -> Result<Upstream> {
        Ok(Upstream::Replay(ReplayDir::open(dir, zone, bounds)?))
    }

    /// The live platform, logged in to now unless `cached` (the token an earlier run
    /// stored) is still good: a wrong password fails before the database is written.
    pub fn platform(config: PlatformConfig, cached: Option<CachedToken>) -> Result<Upstream> {
        let mut platform = PlatformSource::new(config, cached)?;
        platform.check_login()?;
        Ok(Upstream::Platform(Box::new(platform)))
    }

    pub fn source(&mut self) -> &mut dyn Source {
        match self {
            Upstream::Replay(replay) => replay,
            Upstream::Platform(platform) => platform.as_mut(),
        }
    }

    /// Stores a token the platform issued during this run, so the next run reuses it;
    /// called whether or not the fetch succeeded.
    pub fn keep_token(&mut self, store: &mut dyn Store) -> Result<()> {
        if let Upstream::Platform(platform) = self
            && let Some(token) = platform.take_new_token()
        {
            store.set_token(&token)?;
        }
        Ok(())
    }

    /// The platform's request counters; `None` for a replay.
    pub fn counters(&self) -> Option<ClientCounters> {
        match self {
            Upstream::Replay(_) => None,
            Upstream::Platform(platform) => Some(platform.counters()),
        }
    }
}
