//! A tmpfs a test mounts (this needs root outside a restricted container), unmounted when
//! it is dropped, also on a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs with `options` (`size=4m`, ...) on `at`, which it creates.
    pub fn mount(at: &Path, options: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .status()
            .expect("run mount");
        assert!(
            mounted.success(),
            "cannot mount a tmpfs here: this test needs root outside a restricted container"
        );
        Tmpfs(at.to_path_buf())
    }

    /// Makes the file system read-only, as a backup's or a replica's is.
    pub fn remount_read_only(&self) {
        let remounted = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .expect("run mount");
        assert!(
            remounted.success(),
            "cannot remount {} read-only",
            self.0.display()
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
