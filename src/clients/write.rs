//! Reading a client's config file and replacing it atomically.
//!
//! Unlike our own settings file there is no lock to take: the clients know nothing of one, and
//! a `.lock` file left next to `~/.claude.json` would only litter the user's home. What we can
//! do is keep the window small and notice a writer in it: the new text is written to a temp
//! file beside the target, the target is read again, and only if it is still what we edited is
//! the temp file renamed over it; otherwise the edit starts over from the new contents.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::ClientConfigError;
use crate::atomic_file;

/// Edits attempted before giving up on a file that keeps changing under us.
const MAX_ATTEMPTS: usize = 3;

/// The file's text, or `None` if it does not exist.
pub(super) fn read(path: &Path) -> Result<Option<String>, ClientConfigError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ClientConfigError::Io {
            path: path.to_path_buf(),
            action: "read",
            source,
        }),
    }
}

/// Reads `path` (a missing file reads as `None`), asks `edit` for the new text, and writes it
/// if it differs. Returns whether the file changed. `edit` may run more than once, each time on
/// the file's latest contents.
pub(super) fn update(
    path: &Path,
    edit: impl Fn(Option<&str>) -> Result<String, ClientConfigError>,
) -> Result<bool, ClientConfigError> {
    let target = write_target(path);
    let io_err = |action, source| ClientConfigError::Io {
        path: path.to_path_buf(),
        action,
        source,
    };
    for _ in 0..MAX_ATTEMPTS {
        let before = read(&target)?;
        let after = edit(before.as_deref())?;
        if before.as_deref() == Some(after.as_str()) {
            return Ok(false);
        }
        // With the old file's permissions (`None`: the target's own).
        let staged = atomic_file::Staged::write(&target, after.as_bytes(), None)
            .map_err(|e| io_err("write a temporary copy of", e))?;
        let unchanged = read(&target).map(|now| now == before);
        if !matches!(unchanged, Ok(true)) {
            // Dropping the staged copy removes it: the edit is abandoned.
            drop(staged);
            unchanged?;
            continue;
        }
        staged.commit().map_err(|e| io_err("replace", e))?;
        return Ok(true);
    }
    Err(ClientConfigError::ChangedDuringEdit {
        path: path.to_path_buf(),
    })
}

/// Where the new contents go: dotfile managers often symlink these files, and renaming over
/// the link itself would silently turn it into a regular file.
fn write_target(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_symlinked_file_keeps_its_link_and_permissions() {
        use std::os::unix::fs::{symlink, PermissionsExt};
        let dir = tempfile::TempDir::new().unwrap();
        let real = dir.path().join("dotfiles/claude.json");
        fs::create_dir_all(real.parent().unwrap()).unwrap();
        fs::write(&real, "{}\n").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join(".claude.json");
        symlink(&real, &link).unwrap();
        assert!(update(&link, |_| Ok("{\"a\": 1}\n".into())).unwrap());
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        let mode = fs::metadata(&real).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(fs::read_to_string(&real).unwrap(), "{\"a\": 1}\n");
    }

    #[test]
    fn a_concurrent_writer_is_never_overwritten() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("config.json");
        fs::write(&path, "v0").unwrap();
        // Another program writes once, between our read and our rename: the edit is redone
        // on its version.
        let calls = Cell::new(0);
        let changed = update(&path, |text| {
            calls.set(calls.get() + 1);
            if calls.get() == 1 {
                fs::write(&path, "v1").unwrap();
            }
            Ok(format!("{}+ours", text.unwrap_or("")))
        });
        assert!(changed.unwrap());
        assert_eq!(calls.get(), 2);
        assert_eq!(fs::read_to_string(&path).unwrap(), "v1+ours");
        // One that never stops: we give up and leave its version.
        let err = update(&path, |text| {
            fs::write(&path, format!("{}!", text.unwrap_or(""))).unwrap();
            Ok("ours".into())
        })
        .unwrap_err();
        assert!(matches!(err, ClientConfigError::ChangedDuringEdit { .. }));
        assert_eq!(fs::read_to_string(&path).unwrap(), "v1+ours!!!");
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "temp files left behind");
    }
}
