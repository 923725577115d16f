//! One engine per store file, keyed on the file's identity, not its name.
//!
//! The engine lock is an OS lock (`flock`) on the database file itself, so a
//! second engine is refused whatever name it uses: the same path, a symlink
//! or a hard link (device and inode are what is locked). `flock` is
//! independent of the POSIX (`fcntl`) locks SQLite takes on the same file,
//! but closing *any* descriptor of a file drops all of the process's `fcntl`
//! locks on it, SQLite's included. So a descriptor this module opens is never
//! closed while a store of this process still uses the file: a [`FileClaim`]
//! is dropped only after the store's connections are closed, and a
//! descriptor opened by a refused attempt is kept until the last store of
//! this process on that file is gone. A store shared with the application
//! (`sqlite_shared`) never has a descriptor closed: the application's own
//! SQLite connections on the file are not counted here.
//!
//! A file with more than one name (hard links) is refused with
//! [`Error::StoreHasLinks`]: SQLite keeps the WAL beside the name a
//! connection used, so two names mean two WALs and a corrupt store.

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::path::Path;
use std::sync::LazyLock;

use parking_lot::Mutex;

use crate::{Error, FileKind, Result};

/// A file's identity: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileId {
    dev: u64,
    ino: u64,
}

/// What this process has open on one store file.
#[derive(Debug, Default)]
struct Entry {
    /// Stores (engines and inspectors) of this process whose connections are open.
    users: usize,
    /// The descriptor that holds the engine lock, while an engine has it.
    locked: Option<File>,
    /// Descriptors that may no longer be closed: closed when `users` drops to
    /// 0, unless `keep`.
    parked: Vec<File>,
    /// Never close them: the file is shared with the application, whose own
    /// SQLite connections would lose their locks.
    keep: bool,
}

static OPEN: LazyLock<Mutex<HashMap<FileId, Entry>>> = LazyLock::new(Mutex::default);

/// A store's claim on its file, held while its connections are open; dropped
/// after them (it releases the engine lock, if it holds it).
#[derive(Debug)]
pub(crate) struct FileClaim {
    id: FileId,
}

impl Drop for FileClaim {
    fn drop(&mut self) {
        let mut open = OPEN.lock();
        let Some(entry) = open.get_mut(&self.id) else { return };
        if let Some(file) = entry.locked.take() {
            let _ = file.unlock();
            entry.parked.push(file);
        }
        entry.users -= 1;
        if entry.users == 0 && !entry.keep {
            // No connection of this process is on the file: closing is safe.
            open.remove(&self.id);
        }
    }
}

/// The engine's claim: creates the file if missing, takes the engine lock,
/// and refuses a file with several names. `shared`: the application may have
/// its own connections on the file, so this process never closes a descriptor of it.
pub(crate) fn claim_engine(path: &Path, shared: bool) -> Result<FileClaim> {
    // A descriptor kept from before is reused, so kept ones do not pile up.
    let kept = kind(path)?.and_then(|meta| OPEN.lock().get_mut(&identity(&meta)).and_then(|entry| entry.parked.pop()));
    let file = match kept {
        Some(file) => file,
        None => File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| io_error(path, e))?,
    };
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    let id = identity(&meta);
    let file = lock_target(path, file)?;
    let mut open = OPEN.lock();
    let entry = open.entry(id).or_default();
    entry.keep |= shared;
    let locked = if entry.locked.is_some() {
        Err(Error::StoreLocked { path: path.to_owned() })
    } else {
        match file.try_lock() {
            Ok(()) => Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::StoreLocked { path: path.to_owned() }),
            Err(std::fs::TryLockError::Error(e)) => Err(io_error(path, e)),
        }
    };
    if let Err(e) = locked {
        if entry.users > 0 || entry.keep {
            entry.parked.push(file);
        } else {
            drop(file);
            open.remove(&id);
        }
        return Err(e);
    }
    entry.locked = Some(file);
    entry.users += 1;
    drop(open);
    let claim = FileClaim { id };
    check_links(path, &meta)?;
    Ok(claim)
}

/// An inspector's claim (no lock): the file must exist and have one name.
pub(crate) fn claim_inspect(path: &Path) -> Result<FileClaim> {
    let meta = kind(path)?.ok_or_else(|| Error::StoreNotFound { path: path.to_owned() })?;
    check_links(path, &meta)?;
    let id = identity(&meta);
    OPEN.lock().entry(id).or_default().users += 1;
    Ok(FileClaim { id })
}

/// The file's metadata (`None` if it does not exist), refusing anything but a
/// regular file before it is opened: opening a FIFO could block forever.
fn kind(path: &Path) -> Result<Option<Metadata>> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, e)),
    };
    if meta.is_file() {
        return Ok(Some(meta));
    }
    let file_type = meta.file_type();
    let kind = if file_type.is_dir() { FileKind::Directory } else { other_kind(&file_type) };
    Err(Error::NotAFile { path: path.to_owned(), kind })
}

fn check_links(path: &Path, meta: &Metadata) -> Result<()> {
    let links = link_count(meta);
    if links > 1 {
        return Err(Error::StoreHasLinks { path: path.to_owned(), links });
    }
    Ok(())
}

/// An I/O error that names the path (its kind is kept for `source()`).
fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::store(std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

#[cfg(unix)]
fn identity(meta: &Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    FileId { dev: meta.dev(), ino: meta.ino() }
}

/// The file the engine lock is taken on: the database file itself.
#[cfg(unix)]
fn lock_target(_: &Path, db: File) -> Result<File> {
    Ok(db)
}

#[cfg(unix)]
fn link_count(meta: &Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.nlink()
}

#[cfg(unix)]
fn other_kind(file_type: &std::fs::FileType) -> FileKind {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        FileKind::Fifo
    } else if file_type.is_socket() {
        FileKind::Socket
    } else if file_type.is_block_device() || file_type.is_char_device() {
        FileKind::Device
    } else {
        FileKind::Other
    }
}

// Elsewhere the identity is not available through std: every file is its own
// (the OS lock on the file still refuses a second engine across processes).
#[cfg(not(unix))]
fn identity(meta: &Metadata) -> FileId {
    let _ = meta;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    FileId { dev: u64::MAX, ino: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) }
}

// Windows' file locks are mandatory: locking the database file would block
// SQLite's own reads, so the lock is on `PATH.lock` there.
#[cfg(not(unix))]
fn lock_target(path: &Path, db: File) -> Result<File> {
    drop(db);
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    File::options().create(true).truncate(false).write(true).open(&lock_path).map_err(|e| io_error(path, e))
}

#[cfg(not(unix))]
fn link_count(_: &Metadata) -> u64 {
    1
}

#[cfg(not(unix))]
fn other_kind(_: &std::fs::FileType) -> FileKind {
    FileKind::Other
}
