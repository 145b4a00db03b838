//! Files that hold secrets (session and pending files): private, atomic writes that survive a
//! crash, capped reads, and an advisory lock around read → call → write.
//!
//! A write goes to a 0600 temporary file in the same directory, is synced, renamed over the
//! target, and then the directory is synced, so after a crash or power loss the target is the
//! old file or the new one, never a mix, and the rename itself is durable.
//!
//! The lock is an advisory exclusive lock (`flock` on Unix, through `fs4`) on a sidecar
//! `FILE.lock`, never on the file itself: the file is replaced by a rename, and a lock on the
//! old inode would not exclude a process that opened the new one. The sidecar is left in place
//! (removing it would let two processes lock two different inodes). The operating system drops
//! the lock when the process ends, however it ends.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use fs4::TryLockError;
use zeroize::Zeroizing;

/// Why a private file could not be written: the step that failed and the OS's words.
#[derive(Debug)]
pub struct WriteFailure {
    /// The step (`create a temporary file for`, `write`, `sync`, `replace`, ...).
    pub what: &'static str,
    /// Why.
    pub detail: String,
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` to `path` through a 0600 temporary file in the same directory, synced, then
/// renamed over `path`; then syncs the directory so the rename is durable.
pub fn write_private_atomically(
    path: &Path,
    prefix: &str,
    bytes: &[u8],
) -> Result<(), WriteFailure> {
    let fail = |what: &'static str, e: &dyn std::fmt::Display| WriteFailure {
        what,
        detail: e.to_string(),
    };
    let dir = parent_dir(path);
    // tempfile creates the file with mode 0600 on Unix; set it again in case a umask or
    // platform differs, before any secret byte is written.
    let mut tmp = tempfile::Builder::new()
        .prefix(prefix)
        .tempfile_in(&dir)
        .map_err(|e| fail("create a temporary file for", &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| fail("set permissions of", &e))?;
    }
    tmp.write_all(bytes).map_err(|e| fail("write", &e))?;
    tmp.as_file().sync_all().map_err(|e| fail("sync", &e))?;
    tmp.persist(path).map_err(|e| fail("replace", &e.error))?;
    sync_dir(&dir).map_err(|e| fail("sync the directory of", &e))
}

/// Makes a rename in `dir` durable (Unix: fsync the directory; elsewhere a no-op).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Why a capped read failed.
#[derive(Debug)]
pub enum ReadFailure {
    /// Opening or reading failed.
    Io(std::io::Error),
    /// The file is larger than the cap.
    TooLarge,
}

/// Reads at most `cap` bytes of `path` into a zeroizing buffer.
pub fn read_capped(path: &Path, cap: u64) -> Result<Zeroizing<Vec<u8>>, ReadFailure> {
    let file = File::open(path).map_err(ReadFailure::Io)?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadFailure::Io)?;
    if bytes.len() as u64 > cap {
        return Err(ReadFailure::TooLarge);
    }
    Ok(bytes)
}

/// The sidecar lock file of `path`: `path` with `.lock` appended to its name.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    parent_dir(path).join(name)
}

/// An exclusive advisory lock on a file's sidecar `FILE.lock`, released on drop.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

/// Why a lock could not be taken.
#[derive(Debug)]
pub struct LockFailure {
    /// The lock file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

impl FileLock {
    /// Locks `path`'s sidecar lock file, creating it (mode 0600) when missing. Blocks while
    /// another process holds it; `on_wait` runs once before blocking.
    pub fn acquire(path: &Path, on_wait: impl FnOnce()) -> Result<Self, LockFailure> {
        let lock = lock_path(path);
        let fail = |source| LockFailure {
            path: lock.clone(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let file = options.open(&lock).map_err(fail)?;
        // The trait's methods by path: std's `File` has inherent methods of the same names on
        // newer toolchains, and the trait's are the ones this crate's MSRV has.
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                on_wait();
                fs4::FileExt::lock(&file).map_err(fail)?;
            }
            Err(TryLockError::Error(e)) => return Err(fail(e)),
        }
        Ok(Self { file })
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first says so explicitly.
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

/// Aborts the process at a named point when the test-only environment variable `var` is set
/// to `1`: the crash tests use it to stop a command between the server's answer and the
/// write. Never set it outside tests.
pub fn test_crash_point(var: &str) {
    if std::env::var_os(var).is_some_and(|v| v == "1") {
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_lock_excludes_a_second_holder() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("s.session");
        assert_eq!(lock_path(&target), dir.path().join("s.session.lock"));
        let first = FileLock::acquire(&target, || panic!("nobody holds it")).unwrap();
        // A second open file description is excluded while the first holds the lock.
        let other = File::open(lock_path(&target)).unwrap();
        assert!(matches!(
            fs4::FileExt::try_lock(&other),
            Err(TryLockError::WouldBlock)
        ));
        drop(first);
        assert!(fs4::FileExt::try_lock(&other).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_is_private_and_leaves_no_temporary_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private_atomically(&path, ".t-", b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(matches!(read_capped(&path, 2), Err(ReadFailure::TooLarge)));
    }
}
