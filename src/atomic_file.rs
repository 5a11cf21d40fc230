//! Replacing a file so that readers and crashes see the old contents or the
//! new, never half of either: the one place that does it, for the settings
//! file, MCP clients' configs, the secret store, the HTTP token and
//! endpoint files.
//!
//! The new contents go to a temporary file beside the target
//! (`.NAME.PID.N.tmp`, created new and never through a symlink, with its
//! final permissions from the start), which is synced, renamed over the
//! target, and the directory synced so the rename survives a crash. A
//! [`Staged`] file can be checked against before it replaces the target
//! (clients' configs: abandon if the file changed meanwhile); dropping it
//! unused removes it. [`remove_stale`] clears temporary files that writers
//! killed half-way left behind.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes temporary files of concurrent writes in one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `target` with `contents`; the new file gets `mode` (e.g.
/// `0o600`), or the target's current permissions, or the default.
pub fn replace(target: &Path, contents: &[u8], mode: Option<u32>) -> io::Result<()> {
    Staged::write(target, contents, mode)?.commit()
}

/// New contents written beside their target, not yet in its place.
#[derive(Debug)]
pub struct Staged {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Staged {
    /// Writes and syncs `contents` to a new temporary file beside `target`
    /// (creating the directory if needed).
    pub fn write(target: &Path, contents: &[u8], mode: Option<u32>) -> io::Result<Staged> {
        let dir = parent(target);
        fs::create_dir_all(dir)?;
        let mode = mode.or_else(|| {
            fs::metadata(target)
                .ok()
                .map(|meta| meta.permissions().mode() & 0o7777)
        });
        let staged = Staged {
            temp: dir.join(temp_name(target)),
            target: target.to_path_buf(),
            committed: false,
        };
        let mut options = OpenOptions::new();
        options
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW);
        if let Some(mode) = mode {
            options.mode(mode);
        }
        let mut file = options.open(&staged.temp)?;
        if let Some(mode) = mode {
            // The umask may have narrowed the creation mode.
            file.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        file.write_all(contents)?;
        file.sync_all()?;
        Ok(staged)
    }

    /// Renames the new contents over the target and syncs the directory.
    pub fn commit(mut self) -> io::Result<()> {
        fs::rename(&self.temp, &self.target)?;
        self.committed = true;
        // Persist the rename itself; without this a crash can bring back
        // the old directory entry.
        File::open(parent(&self.target))?.sync_all()
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the error that made us give up is the one to report.
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Removes temporary files of earlier writes to `target` that never
/// finished (killed between creating and renaming them). Only names of
/// exactly our pattern are touched. Best effort: one left behind is
/// clutter, not damage.
pub fn remove_stale(target: &Path) {
    let Some(file) = target.file_name() else {
        return;
    };
    let prefix = format!(".{}.", file.to_string_lossy());
    let Ok(entries) = fs::read_dir(parent(target)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_ours = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|middle| middle.split_once('.'))
            .is_some_and(|(pid, n)| {
                !pid.is_empty()
                    && !n.is_empty()
                    && pid.bytes().all(|b| b.is_ascii_digit())
                    && n.bytes().all(|b| b.is_ascii_digit())
            });
        if is_ours {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn temp_name(target: &Path) -> OsString {
    let mut name = OsString::from(".");
    name.push(target.file_name().unwrap_or_default());
    name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    name
}

fn parent(target: &Path) -> &Path {
    match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_with_the_mode_and_leaves_no_temp() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let target = dir.path().join("token");
        replace(&target, b"one", Some(0o600)).expect("first write");
        replace(&target, b"two", None).expect("second write");
        assert_eq!(fs::read(&target).expect("read"), b"two");
        let mode = fs::metadata(&target).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the second write keeps the first's mode");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("token")]);
    }

    #[test]
    fn a_staged_file_dropped_unused_is_removed() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let target = dir.path().join("settings.json");
        drop(Staged::write(&target, b"{}", None).expect("staged"));
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 0);
    }

    #[test]
    fn stale_temps_of_ours_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let target = dir.path().join("s.json");
        for name in [".s.json.12.3.tmp", ".s.json.x.3.tmp", "s.json"] {
            fs::write(dir.path().join(name), b"").expect("write");
        }
        remove_stale(&target);
        let mut left: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        left.sort();
        assert_eq!(
            left,
            vec![OsString::from(".s.json.x.3.tmp"), OsString::from("s.json")]
        );
    }
}
