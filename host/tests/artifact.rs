//! The precompiled-artifact cache with the real component and the real runtime: an
//! artifact is reused only from a private directory, with a matching checksum and key.
//! Every tampered, truncated, foreign, misplaced or exposed artifact is recompiled and
//! replaced, never executed: each case loads the tampered file in this very process,
//! so a deserialized one would crash the test (SIGTRAP, SIGSEGV, SIGABRT).

use crate::common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use cache_host::{ArtifactSource, CacheService, Runtime, RuntimeOptions};

/// A copy of the component and a not-yet-created artifact directory, in a temp dir.
struct Setup {
    dir: tempfile::TempDir,
    wasm: PathBuf,
    cache_dir: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("cache.wasm");
    std::fs::copy(common::wasm_path(), &wasm).unwrap();
    let cache_dir = dir.path().join("xdg").join("gromozeka-cache");
    Setup {
        dir,
        wasm,
        cache_dir,
    }
}

impl Setup {
    fn load(&self) -> Runtime {
        Runtime::load_with(
            &self.wasm,
            &RuntimeOptions {
                artifact_dir: Some(self.cache_dir.clone()),
                ..Default::default()
            },
        )
        .unwrap()
    }

    /// Loads once from scratch and returns the artifact written.
    fn fresh_artifact(&self) -> PathBuf {
        match self.load().artifact_source() {
            ArtifactSource::Compiled {
                saved_to: Some(p),
                rejected: None,
            } => p.clone(),
            other => panic!("expected a fresh compile, got {other:?}"),
        }
    }
}

/// The component of `runtime` really runs: a service over SQLite sets and gets.
fn works(runtime: Runtime, dir: &Path) {
    let cache = CacheService::builder("unused")
        .runtime(runtime)
        .open_sqlite(dir.join("works.db"))
        .unwrap();
    cache.set("chatUsers", "k", r#"{"v":1}"#).unwrap();
    assert_eq!(
        cache.get("chatUsers", "k").unwrap().as_deref(),
        Some(r#"{"v":1}"#)
    );
    cache.close().unwrap();
}

/// Writes `bytes` over the artifact, loads, and asserts the artifact was refused
/// (reason containing `why`), the component recompiled and works, and the file was
/// replaced by one that the next start reuses.
fn assert_refused_and_replaced(s: &Setup, artifact: &Path, bytes: &[u8], why: &str) {
    std::fs::write(artifact, bytes).unwrap();
    let runtime = s.load();
    match runtime.artifact_source() {
        ArtifactSource::Compiled {
            saved_to: Some(p),
            rejected: Some(reason),
        } => {
            assert_eq!(p, artifact);
            assert!(reason.contains(why), "reason {reason:?} lacks {why:?}");
        }
        other => panic!("expected a refused artifact and a recompile, got {other:?}"),
    }
    works(runtime, s.dir.path());
    assert_ne!(std::fs::read(artifact).unwrap(), bytes, "not replaced");
    assert_eq!(
        s.load().artifact_source(),
        &ArtifactSource::Cached(artifact.to_path_buf())
    );
}

/// The byte range of the `.text` section of the ELF image inside an artifact.
fn text_section(artifact: &[u8]) -> std::ops::Range<usize> {
    let start = artifact
        .windows(4)
        .position(|w| w == b"\x7fELF")
        .expect("an ELF image in the artifact");
    let elf = &artifact[start..];
    let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let section = |i: usize| shoff + i * shentsize;
    let strtab = u64_at(section(shstrndx) + 0x18);
    for i in 0..shnum {
        let sh = section(i);
        let name_at = strtab + u32_at(sh);
        if elf[name_at..].starts_with(b".text\0") {
            let (offset, size) = (u64_at(sh + 0x18), u64_at(sh + 0x20));
            assert!(size > 1000, ".text of {size} bytes");
            return start + offset..start + offset + size;
        }
    }
    panic!("no .text section");
}

#[test]
fn artifact_is_reused_and_a_changed_wasm_gets_a_new_one() {
    let s = setup();
    let saved = s.fresh_artifact();
    assert!(saved.starts_with(&s.cache_dir));
    let second = s.load();
    assert_eq!(
        second.artifact_source(),
        &ArtifactSource::Cached(saved.clone())
    );
    let cache = CacheService::builder(&s.wasm)
        .runtime(second)
        .load_on_start(false)
        .open_sqlite(s.dir.path().join("c.db"))
        .unwrap();
    let t = cache.last_start_timing().unwrap();
    eprintln!("instantiate from the artifact: {:?}", t.instantiate);
    assert!(t.instantiate < Duration::from_millis(20), "{t:?}");
    cache.set("chatUsers", "k", "1").unwrap();
    cache.close().unwrap();

    // A changed .wasm (a custom section appended) gets a new key: recompiled, and the
    // stale artifact of the same component is removed.
    let mut bytes = std::fs::read(&s.wasm).unwrap();
    bytes.extend_from_slice(&[0, 5, 4, b't', b'e', b's', b't']);
    std::fs::write(&s.wasm, &bytes).unwrap();
    match s.load().artifact_source() {
        ArtifactSource::Compiled {
            saved_to: Some(p),
            rejected: None,
        } => assert_ne!(p, &saved),
        other => panic!("expected a recompile, got {other:?}"),
    }
    assert!(!saved.exists(), "stale artifact left behind");
}

#[test]
fn the_directory_is_created_private_and_artifacts_are_owner_only() {
    let s = setup();
    let saved = s.fresh_artifact();
    let dir_mode = std::fs::metadata(&s.cache_dir)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700, "directory mode {dir_mode:o}");
    let file_mode = std::fs::metadata(&saved).unwrap().permissions().mode();
    assert_eq!(file_mode & 0o777, 0o600, "artifact mode {file_mode:o}");
    // Nothing else is left in the directory (no temp files).
    let names: Vec<_> = std::fs::read_dir(&s.cache_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn int3_filled_text_is_recompiled_never_executed() {
    let s = setup();
    let artifact = s.fresh_artifact();
    let mut bytes = std::fs::read(&artifact).unwrap();
    let text = text_section(&bytes);
    bytes[text].fill(0xcc);
    assert_refused_and_replaced(&s, &artifact, &bytes, "checksum");
}

#[test]
fn zero_filled_text_is_recompiled_never_executed() {
    let s = setup();
    let artifact = s.fresh_artifact();
    let mut bytes = std::fs::read(&artifact).unwrap();
    let text = text_section(&bytes);
    bytes[text].fill(0);
    assert_refused_and_replaced(&s, &artifact, &bytes, "checksum");
}

#[test]
fn random_bit_flips_are_recompiled_never_executed() {
    let s = setup();
    let artifact = s.fresh_artifact();
    let good = std::fs::read(&artifact).unwrap();
    let text = text_section(&good);
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng as usize
    };
    for trial in 0..6 {
        let mut bytes = good.clone();
        // Half the trials flip bits in the code, half anywhere (header included).
        for _ in 0..1 + trial {
            let at = if trial % 2 == 0 {
                text.start + next() % text.len()
            } else {
                next() % bytes.len()
            };
            bytes[at] ^= 1 << (next() % 8);
        }
        let why = if bytes[..8] == good[..8] && bytes[8..40] == good[8..40] {
            "checksum"
        } else {
            ""
        };
        assert_refused_and_replaced(&s, &artifact, &bytes, why);
    }
}

#[test]
fn truncated_artifacts_are_recompiled_never_executed() {
    let s = setup();
    let artifact = s.fresh_artifact();
    let good = std::fs::read(&artifact).unwrap();
    for (len, why) in [
        (good.len() - 1, "checksum"),
        (good.len() / 2, "checksum"),
        (72, "checksum"),
        (40, "truncated"),
        (0, "truncated"),
    ] {
        assert_refused_and_replaced(&s, &artifact, &good[..len], why);
    }
}

#[test]
fn foreign_files_are_recompiled_never_executed() {
    let s = setup();
    let artifact = s.fresh_artifact();
    // A genuine wasmtime artifact of this very component and engine, but not written
    // by this host (no header, no checksum): the old cache loaded exactly this.
    let raw = s.load().component().serialize().unwrap();
    assert_refused_and_replaced(&s, &artifact, &raw, "not an artifact written by this host");
    assert_refused_and_replaced(
        &s,
        &artifact,
        b"garbage",
        "not an artifact written by this host",
    );

    // A valid artifact of another component, renamed to this one's key.
    let other = setup();
    let mut bytes = std::fs::read(&other.wasm).unwrap();
    bytes.extend_from_slice(&[0, 5, 4, b'o', b't', b'h', b'r']);
    std::fs::write(&other.wasm, &bytes).unwrap();
    let other_artifact = other.fresh_artifact();
    let other_bytes = std::fs::read(other_artifact).unwrap();
    assert_refused_and_replaced(&s, &artifact, &other_bytes, "key does not match");
}

#[test]
fn a_symlinked_artifact_is_recompiled_and_replaced_by_a_file() {
    let s = setup();
    let artifact = s.fresh_artifact();
    let elsewhere = s.dir.path().join("elsewhere.cwasm");
    std::fs::copy(&artifact, &elsewhere).unwrap();
    std::fs::remove_file(&artifact).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &artifact).unwrap();
    let runtime = s.load();
    match runtime.artifact_source() {
        ArtifactSource::Compiled {
            saved_to: Some(_),
            rejected: Some(reason),
        } => assert!(reason.contains("symlink"), "{reason}"),
        other => panic!("expected a refused symlink, got {other:?}"),
    }
    works(runtime, s.dir.path());
    assert!(std::fs::symlink_metadata(&artifact).unwrap().is_file());
}

#[test]
fn a_group_writable_artifact_is_recompiled_and_replaced_private() {
    let s = setup();
    let artifact = s.fresh_artifact();
    std::fs::set_permissions(&artifact, std::fs::Permissions::from_mode(0o664)).unwrap();
    let bytes = std::fs::read(&artifact).unwrap();
    let runtime = s.load();
    match runtime.artifact_source() {
        ArtifactSource::Compiled {
            saved_to: Some(_),
            rejected: Some(reason),
        } => assert!(reason.contains("writable by group or others"), "{reason}"),
        other => panic!("expected a refused artifact, got {other:?}"),
    }
    works(runtime, s.dir.path());
    let mode = std::fs::metadata(&artifact).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(std::fs::read(&artifact).unwrap().len(), bytes.len());
}

/// Loads with an untrusted directory and asserts nothing in it was read or written.
fn assert_directory_refused(s: &Setup, artifact: &Path, why: &str) {
    let before = std::fs::read(artifact).unwrap();
    let modified = std::fs::metadata(artifact).unwrap().modified().unwrap();
    let runtime = s.load();
    match runtime.artifact_source() {
        ArtifactSource::Compiled {
            saved_to: None,
            rejected: Some(reason),
        } => assert!(reason.contains(why), "reason {reason:?} lacks {why:?}"),
        other => panic!("expected an untrusted directory, got {other:?}"),
    }
    works(runtime, s.dir.path());
    assert_eq!(std::fs::read(artifact).unwrap(), before);
    assert_eq!(
        std::fs::metadata(artifact).unwrap().modified().unwrap(),
        modified
    );
}

#[test]
fn a_group_or_world_writable_directory_is_not_used() {
    let s = setup();
    let artifact = s.fresh_artifact();
    for mode in [0o770, 0o702, 0o777] {
        std::fs::set_permissions(&s.cache_dir, std::fs::Permissions::from_mode(mode)).unwrap();
        assert_directory_refused(&s, &artifact, "writable by group or others");
    }
    std::fs::set_permissions(&s.cache_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(
        s.load().artifact_source(),
        &ArtifactSource::Cached(artifact)
    );
}

#[test]
fn a_symlinked_directory_is_not_used() {
    let s = setup();
    let artifact = s.fresh_artifact();
    let real = s.dir.path().join("real-cache");
    std::fs::rename(&s.cache_dir, &real).unwrap();
    std::os::unix::fs::symlink(&real, &s.cache_dir).unwrap();
    assert_directory_refused(&s, &real.join(artifact.file_name().unwrap()), "no symlinks");
}

#[test]
fn a_directory_of_another_user_is_not_used() {
    let s = setup();
    let artifact = s.fresh_artifact();
    let me = std::fs::metadata(&artifact).unwrap().uid();
    if me != 0 {
        // Only root can give a directory away; as another user, check that a
        // directory this user does not own (the root directory) is refused.
        let runtime = Runtime::load_with(
            &s.wasm,
            &RuntimeOptions {
                artifact_dir: Some(PathBuf::from("/")),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(matches!(
            runtime.artifact_source(),
            ArtifactSource::Compiled { saved_to: None, rejected: Some(r) } if r.contains("owned by uid")
        ));
        return;
    }
    std::os::unix::fs::chown(&s.cache_dir, Some(4242), None).unwrap();
    assert_directory_refused(&s, &artifact, "owned by uid 4242");
}

#[test]
fn caching_off_compiles_every_time_and_writes_nothing() {
    let s = setup();
    let runtime = Runtime::load_with(
        &s.wasm,
        &RuntimeOptions {
            artifact_dir: None,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        runtime.artifact_source(),
        &ArtifactSource::Compiled {
            saved_to: None,
            rejected: None
        }
    );
    works(runtime, s.dir.path());
    assert!(!s.cache_dir.exists());
}

#[test]
fn the_default_directory_follows_xdg_cache_home() {
    // Checked against the variables as this process has them (no test changes them).
    let dir = cache_host::artifact::default_dir().expect("HOME or XDG_CACHE_HOME is set");
    assert!(dir.ends_with("gromozeka-cache"), "{}", dir.display());
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|x| Path::new(x).is_absolute()) {
        assert_eq!(dir, Path::new(&xdg).join("gromozeka-cache"));
    } else {
        let home = std::env::var_os("HOME").unwrap();
        assert_eq!(dir, Path::new(&home).join(".cache/gromozeka-cache"));
    }
}
