//! One owner per database file: while a host has a database open for writing, it
//! holds an exclusive advisory lock on the sidecar file `<db>.owner`, which names the
//! owner's pid and since when it has owned the file.
//!
//! A cache keeps entries in memory and writes some of them back later (on-shutdown
//! namespaces, persist-all): two writers on one file would serve stale values and
//! write them back over newer ones. So a second writer is refused with an error
//! naming the owner, or waits for it ([`OwnerWait`]). Readers (read-only opens) do
//! not take the lock and may read while the owner writes.
//!
//! The owner is a process: opens of the same file within one process share the one
//! lock (an embedder that opens a second connection to inspect or repair the file is
//! not a second writer); the process holds it until its last read-write open closes.
//!
//! The lock is `flock`-style (std's [`File::try_lock`]): the kernel releases it when
//! the owner exits or crashes, so a stale sidecar never blocks anyone, and two
//! processes opening the same new file at once get exactly one owner and one clear
//! error (or one waits). The sidecar is never deleted: deleting it would let a waiter
//! lock a file that a newcomer no longer sees. Its contents are informational only,
//! written under the lock and cleared when the owner lets go.
//!
//! The lock follows the file, not the name it was opened by: the sidecar sits beside
//! the path with every symbolic link resolved ([`resolve`]), so a link (or a bind
//! mount of the directory) names the same sidecar. A hard link cannot be resolved to
//! one name, so a database file with more than one name is refused for writing: two
//! owners through two names would each keep their own `-wal` file, the case SQLite
//! documents as corruption.
//!
//! Sharing one database between several processes belongs to a server database; an
//! SQLite file has one owner.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cache_core::{StorageError, StorageErrorKind};

/// What to do when another process owns the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OwnerWait {
    /// Fail at once with an error naming the owner (the default).
    #[default]
    No,
    /// Wait until the owner lets go, however long that takes.
    Forever,
    /// Wait up to this long, then fail with the owner error.
    Up(Duration),
}

/// This process's ownership of a database, held while it is open for writing;
/// released (and the sidecar's contents cleared) when the last [`OwnerLock`] of the
/// file in this process is dropped, or by the kernel if the process dies.
#[derive(Debug, Clone)]
pub struct OwnerLock(Arc<Held>);

/// The locked sidecar.
#[derive(Debug)]
struct Held {
    file: File,
    path: PathBuf,
    /// The key of [`HELD`].
    id: FileId,
}

/// A sidecar's device and inode.
type FileId = (u64, u64);

/// How long [`OwnerWait::No`] retries a lock whose sidecar records no owner
/// before it counts as owned (a wait with a limit keeps to its limit). Such a
/// lock lasts moments: a new owner has not written its record
/// yet, or a departed owner's descriptor is still open in a child process it
/// forked just before letting go (until the child's `exec` closes it).
const UNRECORDED_GRACE: Duration = Duration::from_secs(2);

/// The sidecars this process holds, by device and inode, so that a second open of the
/// same database in this process shares the lock instead of failing against itself.
static HELD: Mutex<Vec<(FileId, Weak<Held>)>> = Mutex::new(Vec::new());

/// The sidecar path of the database at `db`: `<db>.owner`.
pub fn owner_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".owner");
    PathBuf::from(name)
}

impl OwnerLock {
    /// Becomes the owner of the database at `db` (creating the sidecar if needed), or,
    /// if another process (or another open in this one) owns it, fails with a
    /// [`StorageErrorKind::Busy`] error naming the owner's pid and since when, after
    /// waiting as `wait` says. `db` should be [`resolve`]d, so that every name of the
    /// file finds the same sidecar. A database file with several names (hard links)
    /// is refused with [`StorageErrorKind::Unavailable`].
    pub fn acquire(db: &Path, wait: OwnerWait) -> Result<Self, StorageError> {
        refuse_hard_links(db)?;
        let path = owner_path(db);
        // Owner-only, whatever the umask: it names the owner's pid and program.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| {
                StorageError::new(
                    StorageErrorKind::Unavailable,
                    format!("cannot open the owner file {}: {e}", path.display()),
                )
            })?;
        let id = file.metadata().map(|m| (m.dev(), m.ino())).map_err(|e| {
            StorageError::new(
                StorageErrorKind::Unavailable,
                format!("cannot stat the owner file {}: {e}", path.display()),
            )
        })?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        let mut logged = false;
        // Each attempt (share this process's lock, or take the file's) runs under the
        // registry's mutex, so two threads of this process never race each other into
        // a false "owned by" error; the mutex is not held while waiting.
        let mut held = loop {
            let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
            held.retain(|(_, weak)| weak.strong_count() > 0);
            if let Some(existing) = held
                .iter()
                .find(|(key, _)| *key == id)
                .and_then(|(_, weak)| weak.upgrade())
            {
                return Ok(Self(existing));
            }
            match file.try_lock() {
                Ok(()) => break held,
                Err(TryLockError::WouldBlock) => {
                    drop(held);
                    let give_up = match wait {
                        OwnerWait::No => {
                            started.elapsed() >= UNRECORDED_GRACE || records_owner(&mut file)
                        }
                        OwnerWait::Forever => false,
                        OwnerWait::Up(limit) => started.elapsed() >= limit,
                    };
                    if give_up {
                        return Err(owned_error(db, &mut file, wait));
                    }
                    if !logged {
                        logged = true;
                        tracing::info!(db = %db.display(), owner = %describe(&mut file), "waiting for the owner of the database");
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(StorageError::new(
                        StorageErrorKind::Unavailable,
                        format!("cannot lock the owner file {}: {e}", path.display()),
                    ))
                }
            }
        };
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let record = format!(
            "pid={}\nsince={since}\nprogram={}\n",
            std::process::id(),
            std::env::args().next().unwrap_or_default()
        );
        let written = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(record.as_bytes()))
            .and_then(|()| file.flush());
        if let Err(e) = written {
            // The lock is what counts; the record only helps people. Keep going.
            tracing::warn!(path = %path.display(), error = %e, "cannot record the owner");
        }
        let lock = Arc::new(Held { file, path, id });
        held.push((id, Arc::downgrade(&lock)));
        Ok(Self(lock))
    }

    /// The sidecar file.
    pub fn path(&self) -> &Path {
        &self.0.path
    }
}

/// `db` with every symbolic link resolved (of the file if it exists, else of its
/// directory): the one name every alias of the file shares, and the name SQLite opens
/// it by. A link to a missing file is refused: the file it would create has another
/// name, whose owner could not see this one.
pub fn resolve(db: &Path) -> Result<PathBuf, StorageError> {
    let fail = |what: &str, e: std::io::Error| {
        StorageError::new(
            StorageErrorKind::Unavailable,
            format!("cannot resolve {} ({what}): {e}", db.display()),
        )
    };
    match std::fs::canonicalize(db) {
        Ok(path) => Ok(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match std::fs::symlink_metadata(db) {
                // Another process may create the file (or the link's target) at any
                // moment: what exists now is resolved again, not taken for a dangling link.
                Ok(meta) if meta.file_type().is_symlink() => {
                    return std::fs::canonicalize(db)
                        .map_err(|_| fail("a symbolic link to a missing file", e));
                }
                Ok(_) => return std::fs::canonicalize(db).map_err(|e| fail("the file", e)),
                Err(_) => {}
            }
            let name = db.file_name().ok_or_else(|| fail("no file name", e))?;
            let dir = match db.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            let dir = std::fs::canonicalize(dir).map_err(|e| fail("its directory", e))?;
            Ok(dir.join(name))
        }
        Err(e) => Err(fail("the file", e)),
    }
}

/// Fails if the database file (when it exists) has more than one name.
fn refuse_hard_links(db: &Path) -> Result<(), StorageError> {
    match std::fs::metadata(db) {
        Ok(meta) if meta.nlink() > 1 => Err(StorageError::new(
            StorageErrorKind::Unavailable,
            format!(
                "{} has {} names (hard links): one owner per file cannot be kept across \
                 names, and SQLite would keep one -wal file per name; remove the other \
                 names, or open it read-only",
                db.display(),
                meta.nlink()
            ),
        )),
        _ => Ok(()),
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        held.retain(|(key, weak)| *key != self.id && weak.strong_count() > 0);
        drop(held);
        // Cleared under the lock, so nobody reads a departed owner as the current one.
        if let Err(e) = self.file.set_len(0) {
            tracing::debug!(path = %self.path.display(), error = %e, "cannot clear the owner file");
        }
        // Closing the file releases the lock.
    }
}

/// The owner as recorded in the sidecar, e.g. "process 1234 (cache-host) since
/// 2026-11-26 06:49:22 UTC (12 s ago)". The record is written just after the lock is
/// taken, so an empty one is re-read briefly before giving up on it.
fn describe(file: &mut File) -> String {
    let mut text = String::new();
    for _ in 0..20 {
        text.clear();
        let read = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_string(&mut text));
        if read.is_ok() && text.contains("since=") {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let Some(pid) = field("pid") else {
        return "another process (it has not recorded its pid)".into();
    };
    let program = field("program")
        .and_then(|p| {
            Path::new(&p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .filter(|p| !p.is_empty())
        .map(|p| format!(" ({p})"))
        .unwrap_or_default();
    let since = field("since")
        .and_then(|s| s.parse::<u64>().ok())
        .map(|secs| {
            let ago = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|now| now.as_secs().saturating_sub(secs))
                .unwrap_or(0);
            format!(" since {} ({ago} s ago)", utc(secs))
        })
        .unwrap_or_default();
    format!("process {pid}{program}{since}")
}

/// Whether the sidecar names an owner now (read once).
fn records_owner(file: &mut File) -> bool {
    let mut text = String::new();
    let read = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut text));
    read.is_ok() && text.contains("pid=")
}

fn owned_error(db: &Path, file: &mut File, wait: OwnerWait) -> StorageError {
    let waited = match wait {
        OwnerWait::Up(d) => format!(" (waited {d:?})"),
        _ => String::new(),
    };
    StorageError::new(
        StorageErrorKind::Busy,
        format!(
            "{} is owned by {}{waited}: an SQLite database has one writer at a time; stop that \
             process, use a read-only command, or wait for it (--wait)",
            db.display(),
            describe(file)
        ),
    )
}

/// `YYYY-MM-DD HH:MM:SS UTC` of seconds since the epoch (civil-from-days, proleptic
/// Gregorian).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_795_647_600), "2026-11-25 23:00:00 UTC");
    }

    /// Takes the lock on `db` through a separate open file description that is not
    /// in this process's registry: how another process's attempt looks to the kernel.
    fn foreign_attempt(db: &Path) -> Result<(), String> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(owner_path(db))
            .map_err(|e| e.to_string())?;
        match file.try_lock() {
            Ok(()) => Ok(()),
            Err(TryLockError::WouldBlock) => Err(describe(&mut file)),
            Err(TryLockError::Error(e)) => Err(e.to_string()),
        }
    }

    #[test]
    fn opens_in_one_process_share_the_lock_until_the_last_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("c.db");
        let first = OwnerLock::acquire(&db, OwnerWait::No).unwrap();
        let second = OwnerLock::acquire(&db, OwnerWait::No).unwrap();
        let owner = foreign_attempt(&db).unwrap_err();
        assert!(
            owner.starts_with(&format!("process {} ", std::process::id())),
            "{owner}"
        );
        assert!(
            owner.contains(" since ") && owner.contains(" UTC"),
            "{owner}"
        );
        drop(first);
        assert!(foreign_attempt(&db).is_err(), "released while still open");
        drop(second);
        assert_eq!(std::fs::read(owner_path(&db)).unwrap().len(), 0);
        foreign_attempt(&db).unwrap();
    }

    /// A lock with no owner recorded (a departed owner's descriptor still open
    /// in a forked child) is waited for briefly, not reported as an owner; a
    /// recorded owner is refused at once.
    #[test]
    fn a_lock_without_a_recorded_owner_is_retried_briefly() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("c.db");
        drop(OwnerLock::acquire(&db, OwnerWait::No).unwrap());
        let lingering = File::options().write(true).open(owner_path(&db)).unwrap();
        lingering.try_lock().unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(lingering);
        });
        let started = Instant::now();
        let lock = OwnerLock::acquire(&db, OwnerWait::No).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(250));
        release.join().unwrap();
        drop(lock);

        let mut owner = File::options().write(true).open(owner_path(&db)).unwrap();
        owner.try_lock().unwrap();
        owner.write_all(b"pid=1\nsince=0\n").unwrap();
        let started = Instant::now();
        let refused = OwnerLock::acquire(&db, OwnerWait::No).unwrap_err();
        assert!(refused.message.contains("process 1"), "{}", refused.message);
        assert!(
            started.elapsed() < UNRECORDED_GRACE,
            "a recorded owner is not waited for"
        );
    }
}
