//! One owner per database file, with real processes: a second writer is refused with
//! the owner's pid and since when, `--wait` waits for it, read-only commands still
//! read, concurrent first opens never fail with a false message, and no other name of
//! the file (a symbolic link, a hard link) gets a second owner.

use crate::cli_common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use cli_common::{assert_code, command, one_line_failure, run, text, FAILED};

/// Starts `cache-host run` (a long workload: it owns the database throughout) and
/// waits until it has recorded itself as the owner.
fn start_owner(db: &Path) -> Child {
    let mut child = command(
        db,
        &[
            "run",
            "--ops",
            "100000000",
            "--chats",
            "200",
            "--users",
            "50",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let sidecar = {
        let mut s = db.as_os_str().to_owned();
        s.push(".owner");
        s
    };
    let t = Instant::now();
    loop {
        let record = std::fs::read_to_string(&sidecar).unwrap_or_default();
        if record.contains(&format!("pid={}\n", child.id())) {
            // Past the owner lock; give it a moment to finish opening.
            std::thread::sleep(Duration::from_millis(200));
            return child;
        }
        if t.elapsed() > Duration::from_secs(20) {
            kill(child);
            panic!("the owner never recorded itself");
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the owner exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_second_writer_is_refused_naming_the_owner_and_readers_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    assert_code(&run(&db, &["set", "chatUsers", "before", "1"]), 0);
    let owner = start_owner(&db);
    let pid = owner.id();

    for args in [
        &["set", "chatUsers", "k", "2"][..],
        &["delete", "chatUsers", "before"],
        &["persist"],
        &["import", "/dev/null"],
    ] {
        let err = one_line_failure(&run(&db, args), FAILED);
        assert!(
            err.contains(&format!("owned by process {pid}")),
            "{args:?}: {err}"
        );
        assert!(err.contains(" since ") && err.contains("UTC"), "{err}");
        assert!(err.contains("--wait"), "{err}");
    }
    // Read-only commands still read while it owns the file.
    let out = run(&db, &["get", "chatUsers", "before"]);
    assert_code(&out, 0);
    assert_eq!(text(&out.stdout).trim(), "1");
    assert_code(&run(&db, &["inspect"]), 0);

    // A bounded wait gives up with the same message.
    let t = Instant::now();
    let err = one_line_failure(
        &run(&db, &["--wait=1", "set", "chatUsers", "k", "2"]),
        FAILED,
    );
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
    assert!(
        err.contains(&format!("owned by process {pid}")) && err.contains("waited"),
        "{err}"
    );

    kill(owner);
    // The owner is gone (even killed): the next writer owns the file at once.
    assert_code(&run(&db, &["set", "chatUsers", "k", "2"]), 0);
    assert_eq!(
        text(&run(&db, &["get", "chatUsers", "k"]).stdout).trim(),
        "2"
    );
}

#[test]
fn wait_waits_for_the_owner_then_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let owner = start_owner(&db);
    let waiter = command(&db, &["--wait", "set", "chatUsers", "waited", "7"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let t = Instant::now();
    kill(owner);
    let out = waiter.wait_with_output().unwrap();
    assert_code(&out, 0);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(
        text(&run(&db, &["get", "chatUsers", "waited"]).stdout).trim(),
        "7"
    );
}

#[test]
fn concurrent_first_opens_never_fail_falsely() {
    let dir = tempfile::tempdir().unwrap();
    for trial in 0..10 {
        // Without --wait: whoever loses is told who owns the file, nothing else.
        let db = dir.path().join(format!("race-{trial}.db"));
        let children: Vec<_> = (0..2)
            .map(|i| {
                command(&db, &["set", "chatUsers", &format!("k{i}"), &i.to_string()])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            if !out.status.success() {
                // Named by pid, or, if the owner has not recorded it yet, as another process.
                let err = one_line_failure(&out, FAILED);
                assert!(err.contains("is owned by"), "trial {trial}: {err}");
            }
        }
        // With --wait: both succeed, and both values are there.
        let db = dir.path().join(format!("race-wait-{trial}.db"));
        let children: Vec<_> = (0..2)
            .map(|i| {
                command(
                    &db,
                    &[
                        "--wait",
                        "set",
                        "chatUsers",
                        &format!("k{i}"),
                        &i.to_string(),
                    ],
                )
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
            })
            .collect();
        for child in children {
            assert_code(&child.wait_with_output().unwrap(), 0);
        }
        for i in 0..2 {
            let out = run(&db, &["get", "chatUsers", &format!("k{i}")]);
            assert_code(&out, 0);
            assert_eq!(text(&out.stdout).trim(), i.to_string());
        }
    }
}

#[test]
fn a_symbolic_link_to_an_owned_file_is_refused_naming_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let link = dir.path().join("link.db");
    assert_code(&run(&db, &["set", "chatUsers", "k", "1"]), 0);
    std::os::unix::fs::symlink(&db, &link).unwrap();
    // A link to the directory is another name for the file too.
    let dir_link = dir.path().join("dir-link");
    std::os::unix::fs::symlink(dir.path(), &dir_link).unwrap();
    let owner = start_owner(&db);
    let pid = owner.id();
    for alias in [&link, &dir_link.join("shared.db")] {
        let err = one_line_failure(&run(alias, &["set", "chatUsers", "k", "2"]), FAILED);
        assert!(
            err.contains(&format!("owned by process {pid}")),
            "{}: {err}",
            alias.display()
        );
    }
    kill(owner);
    // Through the link, once the owner is gone: one file, one -wal beside it.
    assert_code(&run(&link, &["set", "chatUsers", "k", "3"]), 0);
    assert_eq!(
        text(&run(&db, &["get", "chatUsers", "k"]).stdout).trim(),
        "3"
    );
    assert!(!dir.path().join("link.db-wal").exists());
    assert!(!dir.path().join("link.db.owner").exists());
}

#[test]
fn a_file_with_a_second_hard_link_is_refused_for_writing_under_either_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let link = dir.path().join("link.db");
    assert_code(&run(&db, &["set", "chatUsers", "k", "1"]), 0);
    let owner = start_owner(&db);
    std::fs::hard_link(&db, &link).unwrap();
    let err = one_line_failure(&run(&link, &["set", "chatUsers", "k", "2"]), FAILED);
    assert!(err.contains("2 names (hard links)"), "{err}");
    assert!(!dir.path().join("link.db-wal").exists());
    kill(owner);
    for name in [&db, &link] {
        let err = one_line_failure(&run(name, &["set", "chatUsers", "k", "2"]), FAILED);
        assert!(err.contains("hard links"), "{}: {err}", name.display());
    }
    // Read-only commands still read it; once the second name is gone it is writable.
    assert_eq!(
        text(&run(&link, &["get", "chatUsers", "k"]).stdout).trim(),
        "1"
    );
    std::fs::remove_file(&link).unwrap();
    assert_code(&run(&db, &["set", "chatUsers", "k", "2"]), 0);
}
