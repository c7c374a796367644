//! The precompiled-artifact cache: compiled components kept between runs, loaded only
//! when they can be trusted.
//!
//! Deserializing a precompiled component maps its bytes as executable native code
//! without validation (hence `unsafe` in wasmtime), so a damaged or planted file would
//! run inside this process. An artifact is therefore executed only if all of these
//! hold; anything else is compiled afresh from the `.wasm` and atomically replaced:
//!
//! - **The directory is private.** It is the per-user cache directory
//!   ([`default_dir`]: `$XDG_CACHE_HOME/gromozeka-cache`, else
//!   `~/.cache/gromozeka-cache`) or one the embedder names
//!   ([`RuntimeOptions::artifact_dir`](crate::RuntimeOptions::artifact_dir)). The host
//!   creates it with mode `0700`; it must be a real directory (not a symlink), owned by
//!   the effective user, and writable by neither group nor others. Otherwise the cache
//!   is not used at all (nothing read, nothing written) and the reason is reported.
//! - **The file is private.** A regular file (not a symlink) owned by the effective
//!   user and writable by neither group nor others.
//! - **Its checksum matches.** Every artifact starts with a header written together
//!   with it: a magic tag, the key, and the SHA-256 of the key and the compiled bytes.
//!   The whole file is read into memory and checked there, so the bytes checked are
//!   the bytes deserialized. A truncated, bit-flipped or overwritten file, or a file
//!   that this host did not write, fails the check.
//! - **Its key matches.** The key is a SHA-256 of the component's bytes and of
//!   wasmtime's engine compatibility hash (wasmtime's version and every compilation
//!   setting); it is both the file name and part of the checked header, so a renamed
//!   artifact of another component or engine is refused too. Wasmtime then checks its
//!   own header and version again.
//!
//! The checksum detects damage and foreign files; it is not a signature. What keeps
//! other users from planting a file with a valid checksum is the private directory.
//! The user the host runs as can always replace the artifact, as it can the binary.

use std::fs::File;
use std::hash::Hasher;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

/// The name of the cache directory inside the user's cache home.
pub const DIR_NAME: &str = "gromozeka-cache";

/// The first bytes of every artifact file this host writes.
const MAGIC: &[u8; 8] = b"GZCWASM1";
/// Bytes of the key in the header (a SHA-256).
const KEY_LEN: usize = 32;
/// Magic, key, checksum.
const HEADER_LEN: usize = MAGIC.len() + KEY_LEN + 32;

/// Where the compiled component of a [`Runtime`](crate::Runtime) came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactSource {
    /// Deserialized from this precompiled artifact, which passed every check.
    Cached(PathBuf),
    /// Compiled from the component's bytes.
    Compiled {
        /// The artifact written for next time; `None` if caching is off or the write
        /// failed (which is logged).
        saved_to: Option<PathBuf>,
        /// Why an artifact that was found was not used (failed checksum, wrong key,
        /// untrusted directory or file, ...); `None` if there was none to consider.
        rejected: Option<String>,
    },
}

/// The per-user artifact directory: `$XDG_CACHE_HOME/gromozeka-cache` when
/// `XDG_CACHE_HOME` is an absolute path, else `$HOME/.cache/gromozeka-cache`; `None`
/// when neither is set (caching is then off).
pub fn default_dir() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let base = xdg.or_else(|| {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .map(|home| home.join(".cache"))
    })?;
    Some(base.join(DIR_NAME))
}

/// The artifact key of `wasm` for `engine`: SHA-256 over the engine's compatibility
/// hash and the component bytes. Stable across runs and processes.
pub fn artifact_key(engine: &Engine, wasm: &[u8]) -> [u8; KEY_LEN] {
    use std::hash::Hash;
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.write(&(wasm.len() as u64).to_le_bytes());
    hasher.write(wasm);
    hasher.0.finalize().into()
}

/// Feeds `Hash` output into SHA-256 (unlike `std`'s `DefaultHasher`, stable across runs).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0 // unused: the digest is read with `finalize`
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The checksum of an artifact: SHA-256 of its key and its compiled bytes.
fn checksum(key: &[u8; KEY_LEN], payload: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(key);
    h.update(payload);
    h.finalize().into()
}

/// The file name of an artifact: `<label>.<first 16 bytes of the key in hex>.cwasm`,
/// where `label` names the component (its file name) with anything but
/// `[A-Za-z0-9._-]` replaced.
fn file_name(label: &str, key: &[u8; KEY_LEN]) -> String {
    format!("{}.{}.cwasm", sanitize(label), hex(&key[..16]))
}

fn sanitize(label: &str) -> String {
    let s: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("component{s}")
    } else {
        s
    }
}

/// The component for `wasm` (named `label` in file names and logs): deserialized from
/// a trusted artifact in `dir` when there is one (see the module docs), else compiled
/// and, when `dir` is usable, saved there for next time. `dir = None` turns caching
/// off. Errors only when the component itself does not compile.
pub fn load_or_compile(
    engine: &Engine,
    wasm: &[u8],
    label: &str,
    dir: Option<&Path>,
) -> Result<(Component, ArtifactSource), String> {
    let Some(dir) = dir else {
        let component = Component::new(engine, wasm).map_err(|e| format!("{e:#}"))?;
        return Ok((
            component,
            ArtifactSource::Compiled {
                saved_to: None,
                rejected: None,
            },
        ));
    };
    let key = artifact_key(engine, wasm);
    let name = file_name(label, &key);
    let path = dir.join(&name);
    let cache = match CacheDir::open(dir) {
        Ok(cache) => cache,
        Err(reason) => {
            tracing::warn!(dir = %dir.display(), %reason, "artifact cache directory not trusted; compiling without it");
            let component = Component::new(engine, wasm).map_err(|e| format!("{e:#}"))?;
            return Ok((
                component,
                ArtifactSource::Compiled {
                    saved_to: None,
                    rejected: Some(reason),
                },
            ));
        }
    };
    let rejected = match cache.read_verified(&name, &key) {
        Ok(Some(payload)) => {
            // SAFETY: `payload` is the exact byte string this host serialized for this
            // key (component bytes + engine compatibility hash): its SHA-256, recorded
            // with it, matched, and it was read from a file owned by this user in a
            // directory only this user can write (checked on the open descriptors).
            // Wasmtime checks its own header and engine compatibility as well.
            match unsafe { Component::deserialize(engine, &payload) } {
                Ok(component) => return Ok((component, ArtifactSource::Cached(path))),
                Err(e) => Some(format!("wasmtime refused it: {e:#}")),
            }
        }
        Ok(None) => None,
        Err(reason) => Some(reason),
    };
    if let Some(reason) = &rejected {
        tracing::warn!(artifact = %path.display(), %reason, "precompiled artifact not used; recompiling and replacing it");
    }
    let component = Component::new(engine, wasm).map_err(|e| format!("{e:#}"))?;
    let saved_to = match component.serialize() {
        Ok(payload) => match cache.write(&name, &key, &payload, label) {
            Ok(()) => Some(path),
            Err(e) => {
                tracing::warn!(artifact = %path.display(), error = %e, "cannot save the precompiled artifact; the next start compiles again");
                None
            }
        },
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "cannot serialize the compiled component");
            None
        }
    };
    Ok((component, ArtifactSource::Compiled { saved_to, rejected }))
}

/// An open, checked artifact directory. Every file operation goes through its
/// descriptor, so the directory that was checked is the one used even if the path is
/// swapped meanwhile.
#[cfg(unix)]
struct CacheDir {
    fd: rustix::fd::OwnedFd,
    uid: u32,
}

#[cfg(unix)]
impl CacheDir {
    /// Creates `dir` (and missing parents) with mode `0700`, then opens it without
    /// following a symlink and checks it is a directory owned by the effective user
    /// that neither group nor others can write. The reason is returned otherwise.
    fn open(dir: &Path) -> Result<Self, String> {
        use rustix::fs::{Mode, OFlags};
        use std::os::unix::fs::DirBuilderExt;
        if let Err(e) = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            return Err(format!("cannot create {}: {e}", dir.display()));
        }
        let fd = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            format!(
                "cannot open {} as a directory (no symlinks): {e}",
                dir.display()
            )
        })?;
        let st =
            rustix::fs::fstat(&fd).map_err(|e| format!("cannot stat {}: {e}", dir.display()))?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { libc::geteuid() };
        if st.st_uid != uid {
            return Err(format!(
                "{} is owned by uid {}, not by this user (uid {uid})",
                dir.display(),
                st.st_uid
            ));
        }
        if st.st_mode & 0o022 != 0 {
            return Err(format!(
                "{} is writable by group or others (mode {:o}); make it private with `chmod 700`",
                dir.display(),
                st.st_mode & 0o7777
            ));
        }
        Ok(Self { fd, uid })
    }

    /// The compiled bytes of artifact `name` if it exists and passes every check;
    /// `Ok(None)` if there is no such file; `Err(reason)` if there is one that fails.
    fn read_verified(&self, name: &str, key: &[u8; KEY_LEN]) -> Result<Option<Vec<u8>>, String> {
        use rustix::fs::{FileType, Mode, OFlags};
        let fd = match rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(e) => return Err(format!("cannot open it (symlinks are refused): {e}")),
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| format!("cannot stat it: {e}"))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err("not a regular file".into());
        }
        if st.st_uid != self.uid {
            return Err(format!("owned by uid {}, not by this user", st.st_uid));
        }
        if st.st_mode & 0o022 != 0 {
            return Err(format!(
                "writable by group or others (mode {:o})",
                st.st_mode & 0o7777
            ));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(st.st_size).unwrap_or(0));
        File::from(fd)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read it: {e}"))?;
        verify(&bytes, key).map(|payload| Some(payload.to_vec()))
    }

    /// Writes artifact `name` atomically: a private temp file in the directory
    /// (created exclusively, mode `0600`), fsynced, then renamed over the old one.
    /// Then removes the other artifacts of the same `label`.
    fn write(
        &self,
        name: &str,
        key: &[u8; KEY_LEN],
        payload: &[u8],
        label: &str,
    ) -> Result<(), String> {
        use rustix::fs::{AtFlags, Mode, OFlags};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let tmp = format!(
            ".{name}.tmp{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let fd = rustix::fs::openat(
            &self.fd,
            tmp.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| format!("cannot create a temp file: {e}"))?;
        let mut file = File::from(fd);
        let written = (|| {
            file.write_all(MAGIC)?;
            file.write_all(key)?;
            file.write_all(&checksum(key, payload))?;
            file.write_all(payload)?;
            file.sync_all()
        })();
        drop(file);
        let renamed = written
            .map_err(|e| format!("cannot write it: {e}"))
            .and_then(|()| {
                rustix::fs::renameat(&self.fd, tmp.as_str(), &self.fd, name)
                    .map_err(|e| format!("cannot rename it into place: {e}"))
            });
        if let Err(e) = renamed {
            let _ = rustix::fs::unlinkat(&self.fd, tmp.as_str(), AtFlags::empty());
            return Err(e);
        }
        self.remove_stale(name, label);
        Ok(())
    }

    /// Removes `<label>.*.cwasm` files other than `keep` (older builds of the same
    /// component); failures are only logged.
    fn remove_stale(&self, keep: &str, label: &str) {
        use rustix::fs::{AtFlags, Dir};
        let prefix = format!("{}.", sanitize(label));
        let Ok(mut dir) = Dir::read_from(&self.fd) else {
            return;
        };
        while let Some(Ok(entry)) = dir.next() {
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            let stale = name.starts_with(&prefix)
                && name.ends_with(".cwasm")
                && name != keep
                && name.len() == keep.len();
            if stale {
                if let Err(e) = rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
                    tracing::debug!(file = %name, error = %e, "cannot remove a stale artifact");
                }
            }
        }
    }
}

/// Artifact caching needs descriptor-relative file operations; elsewhere it is off.
#[cfg(not(unix))]
struct CacheDir;

#[cfg(not(unix))]
impl CacheDir {
    fn open(_dir: &Path) -> Result<Self, String> {
        Err("the artifact cache is only supported on Unix".into())
    }
    fn read_verified(&self, _: &str, _: &[u8; KEY_LEN]) -> Result<Option<Vec<u8>>, String> {
        Ok(None)
    }
    fn write(&self, _: &str, _: &[u8; KEY_LEN], _: &[u8], _: &str) -> Result<(), String> {
        Err("unsupported".into())
    }
}

/// The compiled bytes inside an artifact file's `bytes`, if its header is this host's,
/// carries `key`, and its checksum matches; the reason otherwise.
fn verify<'a>(bytes: &'a [u8], key: &[u8; KEY_LEN]) -> Result<&'a [u8], String> {
    let prefix = bytes.len().min(MAGIC.len());
    if bytes[..prefix] != MAGIC[..prefix] {
        return Err("not an artifact written by this host (unknown header)".into());
    }
    if bytes.len() < HEADER_LEN {
        return Err(format!(
            "truncated ({} bytes, shorter than its header)",
            bytes.len()
        ));
    }
    let rest = &bytes[MAGIC.len()..];
    let (stored_key, rest) = rest.split_at(KEY_LEN);
    if stored_key != key {
        return Err("its key does not match this component and engine".into());
    }
    let (stored_sum, payload) = rest.split_at(32);
    if stored_sum != checksum(key, payload) {
        return Err("checksum mismatch (damaged or modified)".into());
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(key: &[u8; KEY_LEN], payload: &[u8]) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(key);
        v.extend_from_slice(&checksum(key, payload));
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn key_is_stable_and_depends_on_the_bytes() {
        let engine = Engine::default();
        let a = artifact_key(&engine, b"abc");
        assert_eq!(a, artifact_key(&engine, b"abc"));
        assert_ne!(a, artifact_key(&engine, b"abd"));
    }

    #[test]
    fn verify_accepts_only_the_exact_bytes_written() {
        let key = [7u8; KEY_LEN];
        let payload: Vec<u8> = (0..4096u32).map(|i| (i * 31 % 251) as u8).collect();
        let good = framed(&key, &payload);
        assert_eq!(verify(&good, &key).unwrap(), &payload[..]);
        // Every single-bit flip anywhere in the file is refused.
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let mut bad = good.clone();
            let bit = (rng % (bad.len() as u64 * 8)) as usize;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(verify(&bad, &key).is_err(), "flip of bit {bit} accepted");
        }
        // Every truncation is refused.
        for len in (0..good.len()).step_by(97) {
            assert!(
                verify(&good[..len], &key).is_err(),
                "truncation to {len} accepted"
            );
        }
        // The right frame under another key is refused.
        assert!(verify(&good, &[8u8; KEY_LEN]).unwrap_err().contains("key"));
    }

    #[test]
    fn file_names_are_sanitized() {
        let key = [0xabu8; KEY_LEN];
        assert_eq!(
            file_name("cache.wasm", &key),
            format!("cache.wasm.{}.cwasm", "ab".repeat(16))
        );
        assert!(file_name("../x/y", &key).starts_with("component.._x_y."));
        assert!(!file_name("", &key).starts_with('.'));
    }
}
