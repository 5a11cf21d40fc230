//! File handling shared by the stores: private reads that refuse files other
//! users can reach, atomic private writes, and the cross-process write lock.
//!
//! Every file is created 0600 by the `open` call itself (never chmod-ed
//! afterwards, which would leave a window where it is readable), and
//! replaced by renaming a complete temporary file over it, so a reader
//! sees the old contents or the new ones, never half of either.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use zeroize::Zeroizing;

use super::SecretError;

/// Mode of every file the stores create.
const PRIVATE_FILE_MODE: u32 = 0o600;
/// Mode of the data directory when the store has to create it.
const PRIVATE_DIR_MODE: u32 = 0o700;
/// Permission bits that let anyone but the owner in.
const GROUP_OTHER_BITS: u32 = 0o077;

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SecretError + 'a {
    move |source| SecretError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Creates the data directory (0700) when it is missing; an existing one is
/// left exactly as it is.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), SecretError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)
        .map_err(io_err("create the data directory", dir))
}

/// Refuses a file that group or others may read or write.
pub(crate) fn check_private(path: &Path, mode: u32) -> Result<(), SecretError> {
    if mode & GROUP_OTHER_BITS != 0 {
        return Err(SecretError::Permissions {
            path: path.to_path_buf(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

/// Checks the mode of `path` if it exists, without reading it.
pub(crate) fn check_private_if_exists(path: &Path) -> Result<(), SecretError> {
    match fs::symlink_metadata(path) {
        Ok(meta) => check_private(path, meta.mode()),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(err) => Err(io_err("inspect", path)(err)),
    }
}

/// Reads a private file whole; `None` when it does not exist. The mode is
/// checked on the open descriptor, so a swap between check and read cannot
/// slip a different file in; symlinks are not followed.
pub(crate) fn read_private(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, SecretError> {
    let mut file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(file) => file,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_err("open", path)(err)),
    };
    let meta = file.metadata().map_err(io_err("inspect", path))?;
    if !meta.is_file() {
        return Err(io_err("read", path)(std::io::Error::other(
            "it is not a regular file",
        )));
    }
    check_private(path, meta.mode())?;
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    file.read_to_end(&mut bytes).map_err(io_err("read", path))?;
    Ok(Some(bytes))
}

/// Reads a file that holds no secret (the keyring's name index); `None`
/// when it does not exist. Its mode is not policed: names are not secrets.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, SecretError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_err("read", path)(err)),
    }
}

/// Replaces `path` with `bytes` atomically (`atomic_file`), the new file
/// 0600 from its creation.
pub(crate) fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<(), SecretError> {
    crate::atomic_file::replace(path, bytes, Some(PRIVATE_FILE_MODE))
        .map_err(io_err("replace", path))
}

/// Creates `path` 0600 with `bytes`, failing if it exists.
pub(crate) fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), SecretError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(io_err("create", path))?;
    file.write_all(bytes).map_err(io_err("write", path))?;
    file.sync_all().map_err(io_err("sync", path))
}

/// Holds the exclusive cross-process write lock until dropped.
#[derive(Debug)]
pub(crate) struct WriteLock {
    /// Closing the file releases the lock.
    _file: File,
}

/// Takes the exclusive write lock on `lock_path` (created 0600), waiting for
/// other writers. A sidecar file is locked because the data files are
/// replaced by rename, which would orphan a lock held on them.
pub(crate) fn lock(lock_path: &Path) -> Result<WriteLock, SecretError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE_FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(lock_path)
        .map_err(io_err("create the lock file", lock_path))?;
    // Fully qualified: newer std has an inherent `File::lock`, which the crate's MSRV lacks.
    fs4::FileExt::lock(&file).map_err(io_err("lock", lock_path))?;
    Ok(WriteLock { _file: file })
}
